// The benchmark peer: oidc-provider (panva, OpenID Certified) doing the same token work as
// DigiOne, so that the two can be measured side by side.
//
//   PEER_ALG=RS256 PEER_REFRESH_TOKENS=1000 PEER_REFRESH_FILE=/tmp/rt.txt node bench/peer/peer.mjs
//
// Environment:
//   PEER_PORT            port on 127.0.0.1 (default 5100); the issuer is http://127.0.0.1:PORT
//   PEER_ALG             RS256 (an RSA-2048 key) or ES256 (a P-256 key); default RS256
//   PEER_SECRET          bench-cc's client secret (default bench-secret-bench-secret-bench-secret)
//   PEER_REFRESH_TOKENS  how many refresh tokens to mint at start (default 0)
//   PEER_REFRESH_FILE    where they are written, one per line (required when the count is > 0)
//   PEER_TRACE_FILE      tests only: every Grant and RefreshToken saved is appended to this file
//                        as a JSON line (its stored payload); unset, no listener is registered
//
// It prints exactly one line to stdout, "peer ready http://127.0.0.1:PORT", once it listens (the
// refresh file is complete by then), and exits with 0 on SIGTERM or SIGINT. oidc-provider's
// one-off start-up warnings (node 20 is not a supported LTS for v9, devInteractions on) go to
// stderr; nothing is written per request.
//
// Why each setting is what it is (DigiOne's side is config/defaults.toml and idp/oidc/):
//
// - One process, no cluster (node's event loop is one core): compare it with one DigiOne worker.
// - One signing key of PEER_ALG, generated at start: the algorithm the run measures on both
//   sides. The client's id_token_signed_response_alg is PEER_ALG too, so ID tokens (on a
//   refresh with "openid") are signed with the same key: oidc-provider's default would be RS256,
//   which an ES256-only keystore cannot sign.
// - Access tokens are JWTs (RFC 9068, typ at+jwt) signed with PEER_ALG, 300 s lifetime, as
//   DigiOne's (oidc.access_token_seconds = 300). oidc-provider 9 only issues JWT access tokens
//   for a resource server (features.resourceIndicators): every token is for the one resource
//   https://api.bench.invalid (defaultResource, when the request names none), whose
//   getResourceServerInfo says accessTokenFormat 'jwt', jwt.sign.alg PEER_ALG, accessTokenTTL
//   300 and scopes "api:read api:write" (the scopes bench-cc may get, as DigiOne's client
//   scopes). Any other resource is invalid_target. ttl.AccessToken/ClientCredentials are 300 as
//   numbers as well: the default ttl functions would print a notice on their first call.
// - useGrantedResource → true: on a refresh whose scope has "openid", oidc-provider would
//   otherwise issue an opaque userinfo-only access token (userinfo is on, as DigiOne's) unless
//   the request repeats resource=; DigiOne returns its JWT access token there, so the peer does.
// - bench-cc authenticates with client_secret_basic (DigiOne's default method too) and may use
//   client_credentials, authorization_code and refresh_token.
// - Refresh tokens rotate at every use (rotateRefreshToken: true; the default only rotates
//   after 70 % of the lifetime) and last 30 days, as DigiOne's (refresh_token_days = 30,
//   rotated at every use). A reused (consumed) refresh token is invalid_grant and revokes the
//   grant, as DigiOne revokes the token family. With "openid" in the scope a refresh also
//   returns an ID token (300 s), as DigiOne's does: two signatures per refresh on both sides.
// - Pre-minted refresh tokens: the benchmark cannot sign in, so PEER_REFRESH_TOKENS tokens are
//   made at start through the provider's own models, exactly as a code flow would leave them
//   (lib/helpers/grant_common.js issueTokens and lib/actions/interaction.js's consent): a Grant
//   for account "bench-user" and bench-cc with OIDC scope "openid offline_access" and
//   resource scope "api:read" on the resource, and a RefreshToken with gty
//   "authorization_code", rotations 0, the grant's scope and resource, an authTime and a
//   sessionUid; no expiresWithSession (a code flow sets it only when the scope lacks
//   offline_access). tests/bench/test_peer.py compares both stored payloads, field by field,
//   with a real code flow's (PEER_TRACE_FILE).
// - Storage: oidc-provider's own in-memory adapter (lib/adapters/memory_adapter.js), but on a
//   store that does not evict. The adapter oidc-provider uses when none is configured keeps
//   its entries in an LRU of maxSize 1000 (two generations, so 1000-2000 entries): a few
//   hundred pre-minted refresh tokens (a Grant, a RefreshToken and a grant index entry each)
//   would already push the first ones out, and they would be "not found" in the benchmark.
//   The same LRU class with a maxSize that is never reached is a plain Map. Passing the
//   adapter explicitly also skips the "development-only in-memory adapter" warning.
//   Nothing is ever removed but by expiry: a consumed refresh token stays (reuse detection), and
//   the adapter's index of a grant's tokens gains one entry per rotation, which it walks (and
//   spreads into Math.max) on every save. Spread the load over many pre-minted tokens: one
//   chain of ~100k rotations on a single grant would overflow that spread (server_error).
// - devInteractions stay on (the default): they add routes under /interaction that /token
//   never touches, and let the test run a real code flow to compare against.
// - No logging: no event listeners (unless PEER_TRACE_FILE), no request logger;
//   clientBasedCORS, findAccount and every ttl are given so that no default function prints its
//   "you SHOULD change it" notice on first use.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';
// No "exports" map in oidc-provider's package.json: its own modules can be imported by path.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const PORT = Number(process.env.PEER_PORT || 5100);
const ALG = process.env.PEER_ALG || 'RS256';
const SECRET = process.env.PEER_SECRET || 'bench-secret-bench-secret-bench-secret';
const REFRESH_TOKENS = Number(process.env.PEER_REFRESH_TOKENS || 0);
const REFRESH_FILE = process.env.PEER_REFRESH_FILE;
const TRACE_FILE = process.env.PEER_TRACE_FILE;

const ISSUER = `http://127.0.0.1:${PORT}`;
const RESOURCE = 'https://api.bench.invalid';
const CLIENT_ID = 'bench-cc';
const ACCOUNT = 'bench-user';
const REFRESH_SCOPE = 'openid offline_access api:read';
const ACCESS_TOKEN_SECONDS = 300;
const ID_TOKEN_SECONDS = 300;
const REFRESH_TOKEN_SECONDS = 30 * 24 * 60 * 60;

function fail(message) {
  process.stderr.write(`peer: ${message}\n`);
  process.exit(2);
}

if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) fail(`bad PEER_PORT ${process.env.PEER_PORT}`);
if (!Number.isInteger(REFRESH_TOKENS) || REFRESH_TOKENS < 0) fail('bad PEER_REFRESH_TOKENS');
if (REFRESH_TOKENS > 0 && !REFRESH_FILE) fail('PEER_REFRESH_TOKENS > 0 needs PEER_REFRESH_FILE');

function signingKey(alg) {
  let pair;
  if (alg === 'RS256') {
    pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  } else if (alg === 'ES256') {
    pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  } else {
    fail(`PEER_ALG must be RS256 or ES256, not ${alg}`);
  }
  return { ...pair.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `bench-${alg.toLowerCase()}-1` };
}

// A constant: oidc-provider validates it and copies its fields into a ResourceServer per request.
const RESOURCE_SERVER = Object.freeze({
  scope: 'api:read api:write',
  accessTokenFormat: 'jwt',
  accessTokenTTL: ACCESS_TOKEN_SECONDS,
  jwt: Object.freeze({ sign: Object.freeze({ alg: ALG }) }),
});

const store = new LRU({ maxSize: Number.MAX_SAFE_INTEGER });

const provider = new Provider(ISSUER, {
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: { keys: [signingKey(ALG)] },
  clients: [{
    client_id: CLIENT_ID,
    client_secret: SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/cb'],
    id_token_signed_response_alg: ALG,
  }],
  async findAccount(ctx, id) {
    if (id !== ACCOUNT) return undefined;
    return { accountId: id, async claims() { return { sub: id }; } };
  },
  clientBasedCORS: () => false,
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf || RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => {
        if (resource !== RESOURCE) throw new errors.InvalidTarget();
        return RESOURCE_SERVER;
      },
    },
  },
  ttl: {
    AccessToken: ACCESS_TOKEN_SECONDS,
    ClientCredentials: ACCESS_TOKEN_SECONDS,
    IdToken: ID_TOKEN_SECONDS,
    RefreshToken: REFRESH_TOKEN_SECONDS,
    Grant: REFRESH_TOKEN_SECONDS,
    AuthorizationCode: 60,
    Interaction: 60 * 60,
    Session: 24 * 60 * 60,
    BackchannelAuthenticationRequest: 600,
    DeviceCode: 600,
    PreAuthorizedCode: 600,
  },
});

if (TRACE_FILE) {
  const trace = (model) => {
    const payload = {};
    for (const key of model.constructor.IN_PAYLOAD) {
      if (model[key] !== undefined) payload[key] = model[key];
    }
    appendFileSync(TRACE_FILE, `${JSON.stringify(payload)}\n`);
  };
  provider.on('grant.saved', trace);
  provider.on('refresh_token.saved', trace);
}

// What a code flow with scope REFRESH_SCOPE leaves behind: the consent's Grant, and the
// RefreshToken that issueTokens (lib/helpers/grant_common.js) makes from the authorization code.
async function mintRefreshToken(client) {
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: CLIENT_ID });
  grant.addOIDCScope('openid offline_access');
  grant.addResourceScope(RESOURCE, 'api:read');
  const grantId = await grant.save();
  const token = new provider.RefreshToken({
    accountId: ACCOUNT,
    authTime: Math.floor(Date.now() / 1000),
    client,
    grantId,
    gty: 'authorization_code',
    resource: RESOURCE,
    rotations: 0,
    scope: REFRESH_SCOPE,
    sessionUid: randomBytes(32).toString('base64url'), // the shape of a session's uid
  });
  return token.save();
}

if (REFRESH_TOKENS > 0) {
  const client = await provider.Client.find(CLIENT_ID);
  const tokens = [];
  for (let i = 0; i < REFRESH_TOKENS; i += 1) tokens.push(await mintRefreshToken(client));
  writeFileSync(REFRESH_FILE, `${tokens.join('\n')}\n`);
}

const server = createServer(provider.callback());
server.on('error', (error) => fail(error.message));
server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`peer ready ${ISSUER}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// A small relying party on openid-client (an OpenID Certified RP library) for the interop tests.
//
//   node tests/interop/rp.mjs PORT
//
// Environment: RP_ISSUER, RP_CLIENT_ID, RP_CLIENT_SECRET, RP_BASE (this server's own base URL),
// optionally RP_CC_CLIENT_ID / RP_CC_CLIENT_SECRET (a second client, for client_credentials).
// One person at a time: the tokens and every step's outcome are kept in memory and shown as
// JSON at /results, which the pytest side reads.
import http from 'node:http'
import * as client from 'openid-client'

const env = (name) => process.env[name] || ''
const port = Number(process.argv[2])
const issuer = new URL(env('RP_ISSUER'))
const base = env('RP_BASE')
const SCOPE = 'openid profile email offline_access edu:school edu:roles'
const insecure = { execute: [client.allowInsecureRequests] } // plain http on loopback only

const connect = (id, secret) =>
  client.discovery(issuer, id, undefined, client.ClientSecretBasic(secret), insecure)
const config = await connect(env('RP_CLIENT_ID'), env('RP_CLIENT_SECRET'))

const pending = new Map() // state -> { verifier, nonce }
let results = {} // the last sign-in's steps
const received = [] // every back-channel logout token
let tokens = null // the current token endpoint response (after the refresh)
let logoutState = null

const jwtPart = (jwt, index) =>
  JSON.parse(Buffer.from(jwt.split('.')[index], 'base64url').toString())

// The outcome of a step: its value, or the OAuth error openid-client raised.
async function attempt(step) {
  try {
    return { ok: true, value: await step() }
  } catch (err) {
    return { ok: false, name: err.name, code: err.code, error: err.error, message: err.message }
  }
}

async function login(url) {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  pending.set(state, { verifier, nonce })
  const params = {
    redirect_uri: `${base}/cb`,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    login_hint: url.searchParams.get('login_hint') || 'espoo', // a city slug: no chooser
  }
  const prompt = url.searchParams.get('prompt')
  if (prompt) params.prompt = prompt
  return { redirect: client.buildAuthorizationUrl(config, params).href }
}

async function callback(url) {
  const started = pending.get(url.searchParams.get('state'))
  if (!started) return { status: 400, body: { error: 'unknown state' } }
  pending.delete(url.searchParams.get('state'))
  // Checks iss (RFC 9207), state, the PKCE exchange and the ID token (signature, iss, aud,
  // exp, iat, nonce); an error response (login_required...) is thrown: AuthorizationResponseError.
  const grant = await attempt(() =>
    client.authorizationCodeGrant(config, url, {
      pkceCodeVerifier: started.verifier,
      expectedState: url.searchParams.get('state'),
      expectedNonce: started.nonce,
      idTokenExpected: true,
    }),
  )
  results = { callback: grant.ok ? { ok: true } : grant }
  if (!grant.ok) return { body: results }
  const first = grant.value
  const claims = first.claims()
  results.id_token_header = jwtPart(first.id_token, 0)
  results.claims = claims
  results.userinfo = await attempt(() =>
    client.fetchUserInfo(config, first.access_token, claims.sub),
  )
  const refreshed = await attempt(() => client.refreshTokenGrant(config, first.refresh_token))
  tokens = refreshed.ok ? refreshed.value : first
  results.refresh = refreshed
  if (refreshed.ok) {
    const { refresh_token, access_token } = refreshed.value
    results.refresh = {
      ok: true,
      rotated: refresh_token !== first.refresh_token,
      new_access_token: access_token !== first.access_token,
      id_token_sub: refreshed.value.claims()?.sub, // an ID token on refresh is validated too
    }
  }
  results.introspection = await attempt(() =>
    client.tokenIntrospection(config, tokens.access_token),
  )
  tokens.id_token ??= first.id_token
  return { body: results }
}

async function revoke() {
  const revoked = await attempt(() =>
    client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' }),
  )
  return {
    body: {
      revocation: revoked,
      refresh_after: await attempt(() => client.refreshTokenGrant(config, tokens.refresh_token)),
      // Revoking a refresh token revokes its family, access tokens included (RFC 7009 2.1).
      access_token_after: await attempt(() =>
        client.tokenIntrospection(config, tokens.access_token),
      ),
    },
  }
}

async function clientCredentials() {
  const cc = await connect(env('RP_CC_CLIENT_ID'), env('RP_CC_CLIENT_SECRET'))
  const grant = await attempt(() => client.clientCredentialsGrant(cc))
  if (!grant.ok) return { body: { grant } }
  const { access_token, token_type, expires_in, scope, refresh_token, id_token } = grant.value
  return {
    body: {
      grant: { ok: true, value: { token_type, expires_in, scope, refresh_token, id_token } },
      access_token_header: jwtPart(access_token, 0),
      introspection: await attempt(() => client.tokenIntrospection(cc, access_token)),
    },
  }
}

function logout() {
  logoutState = client.randomState()
  const params = {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: `${base}/bye`,
    state: logoutState,
  }
  return { redirect: client.buildEndSessionUrl(config, params).href }
}

function bye(url) {
  const state = url.searchParams.get('state')
  results.bye = { state, state_matches: state === logoutState }
  return { body: results.bye }
}

// Back-Channel Logout 1.0 section 2.6: verify the logout token's signature against the
// broker's JWKS, then its claims; record it either way (the test asserts on `valid`).
async function backchannel(body) {
  const token = new URLSearchParams(body).get('logout_token') || '..'
  const [header, payload] = [jwtPart(token, 0), jwtPart(token, 1)]
  const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json()
  const jwk = jwks.keys.find((key) => key.kid === header.kid)
  const alg =
    header.alg === 'ES256'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  const key = jwk && (await crypto.subtle.importKey('jwk', jwk, alg, false, ['verify']))
  const [input, signature] = [token.slice(0, token.lastIndexOf('.')), token.split('.')[2]]
  const signed =
    ['RS256', 'ES256'].includes(header.alg) &&
    Boolean(key) &&
    (await crypto.subtle.verify(alg, key, Buffer.from(signature, 'base64url'), Buffer.from(input)))
  const now = Date.now() / 1000
  const valid =
    signed &&
    payload.iss === config.serverMetadata().issuer &&
    [].concat(payload.aud).includes(config.clientMetadata().client_id) &&
    payload.iat <= now + 60 &&
    (payload.exp ?? Infinity) > now - 60 &&
    'http://schemas.openid.net/event/backchannel-logout' in (payload.events || {}) &&
    !('nonce' in payload) &&
    Boolean(payload.sub || payload.sid)
  received.push({ header, payload, signed, valid })
  return { status: valid ? 200 : 400, body: { valid } }
}

const routes = {
  'GET /login': login,
  'GET /cb': callback,
  'GET /results': async () => ({ body: { ...results, backchannel: received } }),
  'POST /revoke': revoke,
  'POST /client-credentials': clientCredentials,
  'GET /logout': logout,
  'GET /bye': bye,
  'POST /backchannel': (_url, body) => backchannel(body),
}

http
  .createServer(async (req, res) => {
    const url = new URL(req.url, base)
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const route = routes[`${req.method} ${url.pathname}`]
    let out
    try {
      out = route ? await route(url, Buffer.concat(chunks).toString()) : { status: 404, body: {} }
    } catch (err) {
      console.error(err)
      out = { status: 500, body: { error: String(err), stack: err.stack } }
    }
    if (out.redirect) {
      res.writeHead(302, { location: out.redirect }).end()
    } else {
      const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' }
      res.writeHead(out.status || 200, headers).end(JSON.stringify(out.body, null, 2))
    }
  })
  .listen(port, '127.0.0.1', () => {
    console.log(`rp on ${base} for client ${config.clientMetadata().client_id}`)
  })

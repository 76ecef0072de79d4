// A city's OpenID Connect provider for the tests: oidc-provider (OpenID Certified) on loopback.
//
//   node tests/federation/oidc/provider.mjs <config.json>
//
// config.json (written by tests/federation/oidc/conftest.py):
//   issuer, port          where it answers
//   jwks                  its private signing keys; the first key of an algorithm signs
//   clients               client registrations (the broker's callback as redirect URI)
//   claims                scope -> claim names it may release
//   accounts              id -> { claims, userinfo }: "userinfo" claims only at userinfo
//
// Sign-in and consent are oidc-provider's own development pages (devInteractions): any
// password is accepted for a known account id. Keys rotate by restarting with another JWKS.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

async function findAccount(ctx, id) {
  const account = config.accounts[id];
  if (!account) return undefined;
  return {
    accountId: id,
    async claims(use) {
      return { sub: id, ...account.claims, ...(use === 'userinfo' ? account.userinfo : {}) };
    },
  };
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  claims: config.claims,
  cookies: { keys: [config.cookie_key] },
  findAccount,
  // Claims of the granted scopes go into the ID token too, as Google and Entra ID do.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.on('grant.error', (ctx, error) => console.error('grant.error', error.message));

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider ${config.issuer} ready`);
});
process.on('SIGTERM', () => process.exit(0));

// A city's OpenID Connect provider for the tests: oidc-provider (OpenID Certified) on loopback.
//
//   node tests/federation/oidc/provider.mjs <config.json>
//
// config.json (written by tests/federation/oidc/conftest.py):
//   issuer, port          where it answers
//   jwks                  its private signing keys; the first key of an algorithm signs
//   clients               client registrations (the broker's callback as redirect URI)
//   claims                scope -> claim names it may release
//   accounts              id -> { claims, userinfo, login }: "userinfo" claims only at userinfo;
//                         "login" what the provider states of the sign-in (amr, acr)
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

// devInteractions signs in with the account id alone: add the account's amr and acr, as a
// provider that asked for a second factor states them (OIDC Core section 2).
const finished = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  const login = result?.login && config.accounts[result.login.accountId]?.login;
  if (login) Object.assign(result.login, login);
  return finished(req, res, result, options);
};

provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.on('grant.error', (ctx, error) => console.error('grant.error', error.message));

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider ${config.issuer} ready`);
});
process.on('SIGTERM', () => process.exit(0));

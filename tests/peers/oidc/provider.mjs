// A real OpenID provider (panva/oidc-provider) for Sekisho's SSO tests.
//
//   node tests/peers/oidc/provider.mjs <port> <config.json>
//
// config.json: {"jwks": {"keys": [<private JWK>]}, "accounts": {"<id>": {<claims>}}}
// The test generates the signing key, so it can also mint tokens the provider would have signed.
// Clients register themselves (RFC 7591, open registration at /reg) with the redirect URI of the
// server under test. The only shortcut is the login screen: the interaction below signs in the
// account named by the authorization request's standard `login_hint` parameter and grants the
// requested scopes, so the authorization, token, JWKS and userinfo endpoints are the provider's own.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const [port, configPath] = process.argv.slice(2);
if (!port || !configPath) {
  console.error('usage: node provider.mjs <port> <config.json>');
  process.exit(2);
}
const { jwks, accounts } = JSON.parse(readFileSync(configPath, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  jwks,
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    userinfo: { enabled: true },
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Claims of the requested scopes go into the ID token too (as Okta, Entra ID and Keycloak do);
  // the userinfo endpoint answers with them as well.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    const accountId = params.login_hint;
    result = accountId && accounts[accountId]
      ? { login: { accountId } }
      : { error: 'access_denied', error_description: 'no such test user' };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'access_denied', error_description: `unsupported prompt ${prompt.name}` };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider ready at ${issuer}`);
});

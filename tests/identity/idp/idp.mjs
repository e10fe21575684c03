// A real OpenID provider for the identity tests: oidc-provider with its devInteractions login
// form, a fixed set of accounts and one confidential client, on loopback.
//
// Configuration comes from the environment (tests/identity/idp.py sets it):
//   IDP_PORT, IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_REDIRECT_URIS (comma-separated),
//   IDP_ACCOUNTS (JSON: {"login": {"email": ..., "groups": [...], "department": ...}}).
// A new RSA signing key (new kid) is made at every start: restarting is a key rotation.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.IDP_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.IDP_ACCOUNTS || '{}');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = randomBytes(8).toString('hex');

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.IDP_CLIENT_ID,
      client_secret: process.env.IDP_CLIENT_SECRET,
      redirect_uris: process.env.IDP_REDIRECT_URIS.split(','),
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const claims = { sub: id, email: account.email, email_verified: true, groups: account.groups || [] };
        if (account.department) claims.department = account.department;
        return claims;
      },
    };
  },
  // The scope "org" adds a claim of the provider's own (department), for OIDC claim rules.
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'], org: ['department'] },
  scopes: ['openid', 'email', 'groups', 'org'],
  // Every client must send a PKCE challenge (S256).
  pkce: { required: () => true },
  // The claims asked for by scope go into the ID token itself.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: [randomBytes(16).toString('hex')] },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer} kid=${kid}`);
});

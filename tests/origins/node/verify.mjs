// A JavaScript origin validating an Access token as Cloudflare's documentation shows:
// the team's JWKS fetched with createRemoteJWKSet, the token checked by jwtVerify against
// the application's AUD tag and the issuer.
//
//   node verify.mjs CERTS_URL TOKEN AUDIENCE ISSUER
//
// Prints the verified payload as JSON and exits 0, or prints the error and exits 1.
import { createRemoteJWKSet, jwtVerify } from "jose";

const [certsUrl, token, audience, issuer] = process.argv.slice(2);
const JWKS = createRemoteJWKSet(new URL(certsUrl));
try {
  const { payload, protectedHeader } = await jwtVerify(token, JWKS, { audience, issuer });
  console.log(JSON.stringify({ payload, alg: protectedHeader.alg }));
} catch (error) {
  console.log(JSON.stringify({ error: error.code || error.name, message: error.message }));
  process.exit(1);
}

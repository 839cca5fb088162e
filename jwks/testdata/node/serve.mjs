// serve.mjs is jose as an issuer: it makes one key pair per algorithm,
// serves their public JWKs as a JWKS over HTTP on a loopback port, and
// prints a token signed with each key.
//
// stdin:  {"issuer", "audience", "algs": ["RS256", ...]}
// stdout: one line, {"jwks_url", "tokens": {"<alg>": "<compact JWT>"}, "unknown_kid": "<token>"}
//   then it serves until stdin closes. "unknown_kid" is signed with a key
//   whose JWK is not in the JWKS.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { generateKeyPair, exportJWK, SignJWT, calculateJwkThumbprint } from 'jose';

const stdin = createInterface({ input: process.stdin });
const spec = JSON.parse(await new Promise((resolve) => stdin.once('line', resolve)));

async function mint(alg) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = alg;
  jwk.use = 'sig';
  const token = await new SignJWT({ roles: ['admin'] })
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
    .setSubject('jose-user')
    .setIssuer(spec.issuer)
    .setAudience(spec.audience)
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(privateKey);
  return { jwk, token };
}

const keys = [];
const tokens = {};
for (const alg of spec.algs) {
  const { jwk, token } = await mint(alg);
  keys.push(jwk);
  tokens[alg] = token;
}
const stranger = await mint(spec.algs[0]);
const body = JSON.stringify({ keys });

const server = createServer((req, res) => {
  if (req.method !== 'GET' || req.url !== '/jwks.json') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': 'public, max-age=300' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(JSON.stringify({ jwks_url: `http://127.0.0.1:${port}/jwks.json`, tokens, unknown_kid: stranger.token }) + '\n');
});
stdin.on('close', () => server.close());

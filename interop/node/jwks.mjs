// jwks.mjs is the JWKS side of the interop: jose verifying jwtguard's
// tokens through jwtguard's JWKS, and jose minting tokens with keys whose
// public JWKs jwtguard reads.
//
// stdin, "verify": {"mode": "verify", "jwks_url", "issuer", "audience",
//                   "tokens": [{"name", "token"}]}
// stdout:          {"<name>": {"header", "payload"} or {"error": {"name", "code", "message"}}}
//   jose's createRemoteJWKSet fetches the JWKS; jwtVerify checks the
//   token against it, with the issuer and audience.
//
// stdin, "mint":   {"mode": "mint", "issuer", "audience", "algs": ["RS256", ...]}
// stdout:          {"jwks": {"keys": [...]}, "tokens": {"<alg>": "<compact JWT>"}}
//   one fresh key pair per algorithm (jose's generateKeyPair), its public
//   JWK with kid, alg and use, and a token signed with it (sub "jose-user",
//   roles ["admin"], two minutes).
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify, generateKeyPair, exportJWK, SignJWT, calculateJwkThumbprint } from 'jose';

const spec = JSON.parse(readFileSync(0, 'utf8'));

function failure(e) {
  return { error: { name: e.name, code: e.code ?? '', message: e.message } };
}

const out = {};
if (spec.mode === 'verify') {
  const JWKS = createRemoteJWKSet(new URL(spec.jwks_url));
  for (const t of spec.tokens) {
    try {
      const { payload, protectedHeader } = await jwtVerify(t.token, JWKS, { issuer: spec.issuer, audience: spec.audience });
      out[t.name] = { header: protectedHeader, payload };
    } catch (e) {
      out[t.name] = failure(e);
    }
  }
} else if (spec.mode === 'mint') {
  const keys = [];
  const tokens = {};
  for (const alg of spec.algs) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    jwk.kid = await calculateJwkThumbprint(jwk);
    jwk.alg = alg;
    jwk.use = 'sig';
    keys.push(jwk);
    tokens[alg] = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
      .setSubject('jose-user')
      .setIssuer(spec.issuer)
      .setAudience(spec.audience)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(privateKey);
  }
  out.jwks = { keys };
  out.tokens = tokens;
} else {
  throw new Error('unknown mode ' + spec.mode);
}
process.stdout.write(JSON.stringify(out) + '\n');

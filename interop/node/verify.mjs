// verify.mjs checks tokens (issued by jwtguard) with the two Node verifiers a
// jwtguard user is likely to meet: jose's jwtVerify and jsonwebtoken.verify,
// both pinned to HS256.
//
// stdin:  {"secret", "issuer", "audience", "tokens": [{"name", "token", ...}]}
//         (a token may override secret, issuer or audience for itself)
// stdout: {"<name>": {"jose": R, "jsonwebtoken": R}, ...}
//         where R is {"header", "payload"} or {"error": {"name", "code", "message"}}
import { readFileSync } from 'node:fs';
import { jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';

const spec = JSON.parse(readFileSync(0, 'utf8'));

function failure(e) {
  return { error: { name: e.name, code: e.code ?? '', message: e.message } };
}

async function withJose(token, { secret, issuer, audience }) {
  try {
    const key = new TextEncoder().encode(secret);
    const { payload, protectedHeader } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer, audience });
    return { header: protectedHeader, payload };
  } catch (e) {
    return failure(e);
  }
}

function withJsonwebtoken(token, { secret, issuer, audience }) {
  try {
    const { header, payload } = jwt.verify(token, secret, { algorithms: ['HS256'], issuer, audience, complete: true });
    return { header, payload };
  } catch (e) {
    return failure(e);
  }
}

const out = {};
for (const t of spec.tokens) {
  const opts = {
    secret: t.secret ?? spec.secret,
    issuer: t.issuer ?? spec.issuer ?? undefined,
    audience: t.audience ?? spec.audience ?? undefined,
  };
  out[t.name] = { jose: await withJose(t.token, opts), jsonwebtoken: withJsonwebtoken(t.token, opts) };
}
process.stdout.write(JSON.stringify(out) + '\n');

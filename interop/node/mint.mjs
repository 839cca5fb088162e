// mint.mjs signs tokens with jsonwebtoken, as the Node tutorials do:
// jwt.sign(payload, process.env.JWT_SECRET, { expiresIn }).
//
// stdin:  {"secret": "...", "tokens": [{"name", "payload", "options", "secret"}]}
// stdout: {"<name>": "<compact JWT>", ...}
//
// "options" go to jwt.sign unchanged (expiresIn, algorithm, noTimestamp, ...).
// A token's own "secret", when given, replaces the shared one, so that the
// Go side can ask for tokens signed with a foreign key or with none at all.
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';

const spec = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
for (const t of spec.tokens) {
  const secret = t.secret ?? spec.secret;
  out[t.name] = jwt.sign(t.payload, secret, t.options ?? {});
}
process.stdout.write(JSON.stringify(out) + '\n');

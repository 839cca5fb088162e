// hash.mjs makes bcrypt hashes with bcryptjs, the way the tutorials store
// passwords: genSalt(10) then hash, or hashSync(password, 10). Both bcryptjs
// 3 (what `npm install bcryptjs` gives today) and 2.4.3 (what most tutorials
// pinned) are installed, because they write different hash prefixes.
//
// stdin:  {"hashes": [{"name", "lib": "3" | "2", "style": "async" | "sync", "password", "rounds"}]}
// stdout: {"<name>": "<bcrypt hash>", ...}
import { readFileSync } from 'node:fs';
import bcrypt3 from 'bcryptjs';
import bcrypt2 from 'bcryptjs-2';

const libs = { 3: bcrypt3, 2: bcrypt2 };
const spec = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
for (const h of spec.hashes) {
  const bcrypt = libs[h.lib];
  if (!bcrypt) throw new Error(`unknown bcryptjs version ${h.lib}`);
  if (h.style === 'sync') {
    out[h.name] = bcrypt.hashSync(h.password, h.rounds);
  } else {
    const salt = await bcrypt.genSalt(h.rounds);
    out[h.name] = await bcrypt.hash(h.password, salt);
  }
}
process.stdout.write(JSON.stringify(out) + '\n');

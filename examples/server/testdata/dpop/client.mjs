// A DPoP client (RFC 9449) of the example server, made with panva's dpop
// package: run by examples/server/dpop_node_test.go.
//
// It reads one JSON job on stdin:
//
//	{"base": "http://127.0.0.1:PORT", "username": "...", "password": "...",
//	 "alg": "ES256" | "Ed25519" | "PS256" | "RS256", "steps": ["login", ...]}
//
// and runs the steps named (all of STEPS, in their order, when steps is
// absent), then prints one JSON document on stdout: the proof key's public
// JWK as dpop puts it in a proof's header, dpop's thumbprint of it, and for
// each step the answer's status, WWW-Authenticate, DPoP-Nonce and body,
// and the steps' names in the order they ran.
//
// Proofs come from dpop's generateProof. Where an attack needs a proof that
// generateProof cannot make (an old iat: it sets iat, jti, htm, htu and ath
// after its additional claims, so they cannot be overridden; another
// signer; a private key or an HMAC in the header), the script takes a
// proof generateProof made, changes its header or claims, and signs it
// again itself with WebCrypto; the step resign_control does the same with
// nothing changed, to show that this signing alone is not what the server
// refuses. The "steps" named run in the order of STEPS, whatever theirs.
import { generateKeyPair, generateProof, calculateThumbprint } from 'dpop'

// STEPS are the steps in the order they run. Later steps use the tokens
// of earlier ones: every step needs login, wrong_ath needs login_second,
// and profile_after_refresh needs refresh.
const STEPS = [
  'login',
  'login_second',
  'profile',
  'profile_query',
  'admin_data',
  'resign_control',
  'alg_eddsa',
  'replay_first',
  'replay_second',
  'wrong_method',
  'wrong_uri',
  'wrong_port',
  'stale_iat',
  'future_iat',
  'wrong_ath',
  'no_ath',
  'foreign_signature',
  'private_jwk',
  'hmac_proof',
  'hmac_oct_jwk',
  'alg_none',
  'wrong_typ',
  'key_mismatch',
  'no_proof',
  'bearer_scheme',
  'bearer_scheme_with_proof',
  'refresh_other_key',
  'refresh_no_proof',
  'refresh_wrong_method',
  'refresh',
  'profile_after_refresh',
  'login_wrong_uri',
  'login_stale_iat',
  'login_foreign_signature',
]

const enc = new TextEncoder()

function b64u(bytes) {
  return Buffer.from(bytes).toString('base64url')
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
}

// signParams are WebCrypto's parameters for signing with key as JWS does.
function signParams(key) {
  switch (key.algorithm.name) {
    case 'ECDSA':
      return { name: 'ECDSA', hash: 'SHA-256' }
    case 'RSA-PSS':
      return { name: 'RSA-PSS', saltLength: 32 }
    case 'RSASSA-PKCS1-v1_5':
    case 'Ed25519':
      return { name: key.algorithm.name }
  }
  throw new Error(`no signing parameters for ${key.algorithm.name}`)
}

// resign returns the compact JWS of header and claims signed with sign:
// a private CryptoKey, {hmac: bytes} for HMAC-SHA-256, or 'none'.
async function resign(header, claims, sign) {
  const input = `${b64u(enc.encode(JSON.stringify(header)))}.${b64u(enc.encode(JSON.stringify(claims)))}`
  if (sign === 'none') {
    return `${input}.`
  }
  if (sign.hmac) {
    const k = await crypto.subtle.importKey('raw', sign.hmac, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    return `${input}.${b64u(new Uint8Array(await crypto.subtle.sign('HMAC', k, enc.encode(input))))}`
  }
  return `${input}.${b64u(new Uint8Array(await crypto.subtle.sign(signParams(sign), sign, enc.encode(input))))}`
}

// tamper takes a proof dpop made, lets change edit its header and claims
// (in place), and signs the result with sign (see resign).
async function tamper(proof, sign, change) {
  const [h, c] = proof.split('.')
  const header = decodePart(h)
  const claims = decodePart(c)
  change(header, claims)
  return resign(header, claims, sign)
}

// call makes one request and returns what the test checks of its answer.
async function call(method, url, { scheme, token, proof, body } = {}) {
  const headers = {}
  if (token !== undefined) {
    headers.authorization = `${scheme} ${token}`
  }
  if (proof !== undefined) {
    headers.dpop = proof
  }
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
  }
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let json = null
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON: reported as text
  }
  return {
    status: res.status,
    www_authenticate: res.headers.get('www-authenticate'),
    dpop_nonce: res.headers.get('dpop-nonce'),
    body: json,
    text: json === null ? text : undefined,
  }
}

async function main() {
  let input = ''
  for await (const chunk of process.stdin) {
    input += chunk
  }
  const job = JSON.parse(input)
  const names = job.steps ?? STEPS
  for (const s of names) {
    if (!STEPS.includes(s)) {
      throw new Error(`unknown step ${JSON.stringify(s)}`)
    }
  }
  const want = new Set(names)

  const loginURL = `${job.base}/api/auth/login`
  const refreshURL = `${job.base}/api/auth/refresh`
  const profileURL = `${job.base}/api/user/profile`
  const adminURL = `${job.base}/api/admin-data`
  const otherPortURL = (() => {
    const u = new URL(profileURL)
    u.port = String(Number(u.port) === 65535 ? 1 : Number(u.port) + 1)
    return u.href
  })()
  const credentials = { username: job.username, password: job.password }

  // The client's key, extractable so that private_jwk can put its private
  // part in a header, and another key of the same algorithm.
  const key = await generateKeyPair(job.alg, { extractable: true })
  const other = await generateKeyPair(job.alg)
  const privateJWK = await crypto.subtle.exportKey('jwk', key.privateKey)

  const out = { alg: job.alg, order: [], steps: {} }
  // A proof made only to read the header dpop writes; it is never sent.
  const first = await generateProof(key, profileURL, 'GET')
  out.proof_header = decodePart(first.split('.')[0])
  out.jwk = out.proof_header.jwk
  out.thumbprint = await calculateThumbprint(key.publicKey)
  out.other_thumbprint = await calculateThumbprint(other.publicKey)

  const run = async (name, f) => {
    if (want.has(name)) {
      out.steps[name] = await f()
      out.order.push(name)
    }
  }

  let access
  let refreshTok
  await run('login', async () => {
    const r = await call('POST', loginURL, { body: credentials, proof: await generateProof(key, loginURL, 'POST') })
    access = r.body?.access_token
    refreshTok = r.body?.refresh_token
    return r
  })
  let access2
  await run('login_second', async () => {
    const r = await call('POST', loginURL, { body: credentials, proof: await generateProof(key, loginURL, 'POST') })
    access2 = r.body?.access_token
    return r
  })

  // A request to the profile with the bound token and proof.
  const profile = (proof, opts = {}) => call('GET', opts.url ?? profileURL, { scheme: opts.scheme ?? 'DPoP', token: access, proof })
  const good = (url = profileURL, method = 'GET') => generateProof(key, url, method, undefined, access)

  await run('profile', async () => profile(await good()))
  // The proof's htu is the URI without its query.
  await run('profile_query', async () => profile(await good(), { url: `${profileURL}?view=full#frag` }))
  await run('admin_data', async () => call('GET', adminURL, { scheme: 'DPoP', token: access, proof: await good(adminURL) }))
  await run('resign_control', async () => profile(await tamper(await good(), key.privateKey, () => {})))
  // An Ed25519 key's proof with alg EdDSA, the name clients before RFC 9864
  // write, where dpop writes Ed25519.
  await run('alg_eddsa', async () => {
    if (job.alg !== 'Ed25519') {
      throw new Error('alg_eddsa is a step for an Ed25519 key')
    }
    return profile(await tamper(await good(), key.privateKey, (h) => { h.alg = 'EdDSA' }))
  })

  const once = await good()
  await run('replay_first', async () => profile(once))
  await run('replay_second', async () => profile(once))

  await run('wrong_method', async () => profile(await good(profileURL, 'POST')))
  await run('wrong_uri', async () => profile(await good(adminURL)))
  await run('wrong_port', async () => profile(await good(otherPortURL)))
  await run('stale_iat', async () => profile(await tamper(await good(), key.privateKey, (h, c) => { c.iat -= 3600 })))
  await run('future_iat', async () => profile(await tamper(await good(), key.privateKey, (h, c) => { c.iat += 3600 })))
  await run('wrong_ath', async () => profile(await generateProof(key, profileURL, 'GET', undefined, access2)))
  await run('no_ath', async () => profile(await generateProof(key, profileURL, 'GET')))
  // The header names the client's key; another key signs.
  await run('foreign_signature', async () => profile(await tamper(await good(), other.privateKey, () => {})))
  await run('private_jwk', async () => profile(await tamper(await good(), key.privateKey, (h) => { h.jwk = privateJWK })))
  // HS256 with the client's public JWK in the header, its bytes the
  // HMAC key, as an alg-confusion attack would make it.
  await run('hmac_proof', async () => profile(await tamper(await good(), { hmac: enc.encode(JSON.stringify(out.jwk)) }, (h) => { h.alg = 'HS256' })))
  await run('hmac_oct_jwk', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32))
    return profile(await tamper(await good(), { hmac: secret }, (h) => {
      h.alg = 'HS256'
      h.jwk = { kty: 'oct', k: b64u(secret) }
    }))
  })
  await run('alg_none', async () => profile(await tamper(await good(), 'none', (h) => { h.alg = 'none' })))
  await run('wrong_typ', async () => profile(await tamper(await good(), key.privateKey, (h) => { h.typ = 'JWT' })))
  // A good proof, of another key than the token's cnf.jkt.
  await run('key_mismatch', async () => profile(await generateProof(other, profileURL, 'GET', undefined, access)))
  await run('no_proof', async () => profile(undefined))
  await run('bearer_scheme', async () => profile(undefined, { scheme: 'Bearer' }))
  await run('bearer_scheme_with_proof', async () => profile(await good(), { scheme: 'Bearer' }))

  const refreshBody = () => ({ refresh_token: refreshTok })
  await run('refresh_other_key', async () => call('POST', refreshURL, { body: refreshBody(), proof: await generateProof(other, refreshURL, 'POST') }))
  await run('refresh_no_proof', async () => call('POST', refreshURL, { body: refreshBody() }))
  await run('refresh_wrong_method', async () => call('POST', refreshURL, { body: refreshBody(), proof: await generateProof(key, refreshURL, 'GET') }))
  let refreshed
  await run('refresh', async () => {
    const r = await call('POST', refreshURL, { body: refreshBody(), proof: await generateProof(key, refreshURL, 'POST') })
    refreshed = r.body?.access_token
    return r
  })
  await run('profile_after_refresh', async () => call('GET', profileURL, {
    scheme: 'DPoP', token: refreshed, proof: await generateProof(key, profileURL, 'GET', undefined, refreshed),
  }))

  await run('login_wrong_uri', async () => call('POST', loginURL, { body: credentials, proof: await generateProof(key, refreshURL, 'POST') }))
  await run('login_stale_iat', async () => call('POST', loginURL, {
    body: credentials, proof: await tamper(await generateProof(key, loginURL, 'POST'), key.privateKey, (h, c) => { c.iat -= 3600 }),
  }))
  await run('login_foreign_signature', async () => call('POST', loginURL, {
    body: credentials, proof: await tamper(await generateProof(key, loginURL, 'POST'), other.privateKey, () => {}),
  }))

  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"sync"
)

// A signatureCheck checks a token's signature for one algorithm and key:
// the only part of Verify that knows either.
//
// The check is handed the signing input and the signature as sent, still
// base64url, so that each kind decodes it into storage of its own size
// without allocating: 32 to 64 bytes for HMAC, 64 to 132 for ECDSA's r‖s
// (RFC 7518 §3.4: fixed-size halves, not ASN.1), 64 for Ed25519, the
// modulus size for RSA. Beside hmacCheck are the asymmetric kinds: RS*
// and PS* through crypto/rsa's VerifyPKCS1v15 and VerifyPSS, ES* through
// crypto/ecdsa after checking the length of r‖s, EdDSA through
// crypto/ed25519, each with the digest written into pooled state; Verify
// then adds to the algorithm's own cost only the decoding and the claims
// that HMAC tokens pay for too (bench/cmd/floorratio and BenchmarkCryptoFloor in bench/verify measure it).
//
// check returns errBadSignature or errSignatureBase64 (or a refusal of
// the same kinds), never anything that would tell a caller more.
type signatureCheck interface {
	check(input, sig string) error
}

// hmacCheck is HS256, HS384 or HS512 with one secret.
type hmacCheck struct {
	macs sync.Pool // of *macState
	size int       // of the MAC, and so of a good signature
}

func newHMACCheck(alg string, secret []byte) *hmacCheck {
	key := bytes.Clone(secret)
	newHash := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}[alg]
	c := &hmacCheck{size: newHash().Size()}
	c.macs.New = func() any { return &macState{mac: hmac.New(newHash, key)} }
	return c
}

// macState is what one signature check needs, pooled so that the check
// allocates nothing: the HMAC of the key (hmac.New costs two hash states
// and the padded key), and buffers for the signature and the sum, which
// would escape through the hash.Hash interface if they were locals.
type macState struct {
	mac       hash.Hash
	want, got [64]byte
}

// check checks the base64url signature sig over the signing input, with a
// pooled HMAC of the key and a constant-time comparison.
func (c *hmacCheck) check(input, sig string) error {
	if b64.DecodedLen(len(sig)) != c.size {
		return errBadSignature
	}
	st := c.macs.Get().(*macState)
	defer c.macs.Put(st)
	if _, err := b64.Decode(st.want[:], bytesOf(sig)); err != nil {
		return errSignatureBase64
	}
	st.mac.Reset()
	st.mac.Write(bytesOf(input))
	if !hmac.Equal(st.mac.Sum(st.got[:0]), st.want[:c.size]) {
		return errBadSignature
	}
	return nil
}

// digestState is a pooled hash and the buffers a signature check decodes
// and sums into: locals would escape through the interfaces.
type digestState struct {
	h   hash.Hash
	sum [64]byte
	sig [MaxRSABits / 8]byte
	der [2*(2+1+66) + 3]byte // an ASN.1 ECDSA signature on P-521, at most
}

func digestPool(h crypto.Hash) *sync.Pool {
	return &sync.Pool{New: func() any { return &digestState{h: h.New()} }}
}

// digest decodes sig into st.sig, which must be size bytes, and hashes
// input into st.sum.
func (st *digestState) digest(input, sig string, size int) (digest, signature []byte, err error) {
	if b64.DecodedLen(len(sig)) != size {
		return nil, nil, errBadSignature
	}
	if _, err := b64.Decode(st.sig[:], bytesOf(sig)); err != nil {
		return nil, nil, errSignatureBase64
	}
	st.h.Reset()
	st.h.Write(bytesOf(input))
	return st.h.Sum(st.sum[:0]), st.sig[:size], nil
}

// rsaCheck is RS256/384/512 (PKCS #1 v1.5) or PS256/384/512 (PSS with a
// salt as long as the hash, RFC 7518 §3.5; other salt lengths are
// refused, so a token has one accepted signature scheme).
type rsaCheck struct {
	pub    *rsa.PublicKey
	hash   crypto.Hash
	pss    *rsa.PSSOptions // nil for PKCS #1 v1.5
	size   int
	states *sync.Pool
}

func newRSACheck(pub *rsa.PublicKey, h crypto.Hash, pss bool) *rsaCheck {
	c := &rsaCheck{pub: pub, hash: h, size: pub.Size(), states: digestPool(h)}
	if pss {
		c.pss = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	return c
}

func (c *rsaCheck) check(input, sig string) error {
	st := c.states.Get().(*digestState)
	defer c.states.Put(st)
	digest, s, err := st.digest(input, sig, c.size)
	if err != nil {
		return err
	}
	if c.pss != nil {
		err = rsa.VerifyPSS(c.pub, c.hash, digest, s, c.pss)
	} else {
		err = rsa.VerifyPKCS1v15(c.pub, c.hash, digest, s)
	}
	if err != nil {
		return errBadSignature
	}
	return nil
}

// ecdsaCheck is ES256/384/512: the signature is r‖s, each half the size
// of the curve's order (RFC 7518 §3.4), rewritten as the ASN.1 that
// ecdsa.VerifyASN1 reads, which checks 0 < r, s < n. ecdsa.Verify would do
// the same after two big.Int allocations.
//
// ECDSA signatures are malleable: (r, n−s) verifies wherever (r, s) does,
// so a token has two accepted spellings. Refusing the high one would
// refuse half of the tokens of signers that do not normalise s (Go's
// crypto/ecdsa among them); see SECURITY.md.
type ecdsaCheck struct {
	pub    *ecdsa.PublicKey
	half   int
	states *sync.Pool
}

func newECDSACheck(pub *ecdsa.PublicKey, h crypto.Hash) *ecdsaCheck {
	return &ecdsaCheck{pub: pub, half: (pub.Curve.Params().BitSize + 7) / 8, states: digestPool(h)}
}

func (c *ecdsaCheck) check(input, sig string) error {
	st := c.states.Get().(*digestState)
	defer c.states.Put(st)
	digest, s, err := st.digest(input, sig, 2*c.half)
	if err != nil {
		return err
	}
	der := appendECDSASignature(st.der[:0], s[:c.half], s[c.half:])
	if !ecdsa.VerifyASN1(c.pub, digest, der) {
		return errBadSignature
	}
	return nil
}

// appendECDSASignature appends the DER SEQUENCE { INTEGER r, INTEGER s }
// of the big-endian unsigned r and s, each at most 66 bytes.
func appendECDSASignature(b, r, s []byte) []byte {
	r, s = trimInteger(r), trimInteger(s)
	n := integerLen(r) + integerLen(s)
	b = append(b, 0x30)
	if n >= 0x80 {
		b = append(b, 0x81)
	}
	b = append(b, byte(n))
	return appendInteger(appendInteger(b, r), s)
}

// trimInteger drops leading zeros, keeping one for zero.
func trimInteger(v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	return v
}

func integerLen(v []byte) int {
	n := len(v)
	if v[0]&0x80 != 0 {
		n++
	}
	return 2 + n
}

func appendInteger(b, v []byte) []byte {
	pad := v[0]&0x80 != 0
	n := len(v)
	if pad {
		n++
	}
	b = append(b, 0x02, byte(n))
	if pad {
		b = append(b, 0)
	}
	return append(b, v...)
}

// ed25519Check is EdDSA (and Ed25519) with an Ed25519 key: crypto/ed25519
// hashes the input itself, and refuses a non-canonical s.
type ed25519Check ed25519.PublicKey

// ed25519Sigs pools the decoded signatures.
var ed25519Sigs = sync.Pool{New: func() any { return new([ed25519.SignatureSize]byte) }}

func (c ed25519Check) check(input, sig string) error {
	if b64.DecodedLen(len(sig)) != ed25519.SignatureSize {
		return errBadSignature
	}
	buf := ed25519Sigs.Get().(*[ed25519.SignatureSize]byte)
	defer ed25519Sigs.Put(buf)
	if _, err := b64.Decode(buf[:], bytesOf(sig)); err != nil {
		return errSignatureBase64
	}
	if !ed25519.Verify(ed25519.PublicKey(c), bytesOf(input), buf[:]) {
		return errBadSignature
	}
	return nil
}

package token

import (
	"bytes"
	"crypto/hmac"
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
// modulus size for RSA. The keys issue adds the asymmetric kinds beside
// hmacCheck: RS* and PS* through crypto/rsa's VerifyPKCS1v15 and VerifyPSS,
// ES* through crypto/ecdsa after checking the length of r‖s, EdDSA through
// crypto/ed25519, each with the digest written into pooled state as here;
// Verify then adds to the algorithm's own cost only the decoding and the
// claims that HMAC tokens pay for too.
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

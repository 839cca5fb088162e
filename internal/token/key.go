package token

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one key, prepared: its algorithm, its kid, the check of its
// signatures and, when it has its private part (or is an HMAC secret),
// what signs with it. A Key is immutable and safe for concurrent use; the
// signature check keeps pooled state of its own, so a Key is made once and
// used for every token, never per token.
type Key struct {
	// Alg is the one JWS algorithm the key is for. A token is checked with
	// it only when the token's alg names it (EdDSA and Ed25519 both name
	// an Ed25519 key: SameAlg).
	Alg string
	// ID is the kid: "" when the key has none.
	ID string
	// Public is the public key (*rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey), nil for an HMAC secret.
	Public crypto.PublicKey

	check   signatureCheck
	private any    // what golang-jwt signs with: *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey; nil when verify-only
	secret  []byte // HMAC
}

// Same reports whether k and o check signatures alike: the same algorithm
// and the same public key (for HMAC, the same secret). Copies of a key
// (WithID, PublicOnly) and a key set's key fetched again are the same.
func (k *Key) Same(o *Key) bool {
	if k == o {
		return true
	}
	if k == nil || o == nil || k.Alg != o.Alg {
		return false
	}
	if k.secret != nil || o.secret != nil {
		return k.secret != nil && o.secret != nil && hmac.Equal(k.secret, o.secret)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := k.Public.(equaler)
	return ok && o.Public != nil && e.Equal(o.Public)
}

// Private returns k's private key (*rsa.PrivateKey, *ecdsa.PrivateKey or
// ed25519.PrivateKey), nil when it has none.
func (k *Key) Private() any { return k.private }

// CanSign reports whether k can sign tokens.
func (k *Key) CanSign() bool { return k.private != nil || k.secret != nil }

// WithID returns a copy of k with kid id, sharing its prepared state.
func (k *Key) WithID(id string) *Key {
	c := *k
	c.ID = id
	return &c
}

// PublicOnly returns a copy of k without its private part, sharing its
// prepared state; nil for an HMAC secret, which has no public part.
func (k *Key) PublicOnly() *Key {
	if k.secret != nil {
		return nil
	}
	c := *k
	c.private = nil
	return &c
}

// Weak keys and unknown algorithms are refused when a key is made: these
// are the bounds.
const (
	// MinRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3
	// requires 2048).
	MinRSABits = 2048
	// MaxRSABits bounds the cost of one verification: a 16384-bit modulus
	// in a published key set would make each token several milliseconds
	// of CPU.
	MaxRSABits = 8192
)

// hashes are the digests of the RSA and ECDSA algorithms.
var hashes = map[string]crypto.Hash{
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512,
	"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
}

// curves are the one curve of each ECDSA algorithm (RFC 7518 §3.4).
var curves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// Supported reports whether alg is an algorithm a Key can be made for.
func Supported(alg string) bool {
	_, hmac := Algorithms[alg]
	_, hashed := hashes[alg]
	return hmac || hashed || alg == "EdDSA" || alg == "Ed25519"
}

// SameAlg reports whether a token's alg names the algorithm of a key made
// for keyAlg: the same name, or EdDSA and Ed25519 (RFC 9864's fully
// specified name for EdDSA with Ed25519, the only curve accepted), which
// are one algorithm on one kind of key.
func SameAlg(tokenAlg, keyAlg string) bool {
	return tokenAlg == keyAlg || isEd(tokenAlg) && isEd(keyAlg)
}

func isEd(alg string) bool { return alg == "EdDSA" || alg == "Ed25519" }

// NewHMACKey returns an HMAC key; alg must be in Algorithms and secret at
// least its length (the caller checked both).
func NewHMACKey(alg, id string, secret []byte) *Key {
	s := bytes.Clone(secret)
	return &Key{Alg: alg, ID: id, check: newHMACCheck(alg, s), secret: s}
}

// NewPublicKey returns a verify-only key for alg: pub must be the kind of
// key alg is for (*rsa.PublicKey for RS* and PS*, *ecdsa.PublicKey on the
// algorithm's curve for ES*, ed25519.PublicKey for EdDSA and Ed25519),
// and not weak.
func NewPublicKey(alg, id string, pub crypto.PublicKey) (*Key, error) {
	k := &Key{Alg: alg, ID: id}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if alg[0] != 'R' && alg[0] != 'P' || hashes[alg] == 0 {
			return nil, kindError(alg, "an RSA key")
		}
		if pub.N == nil {
			return nil, errors.New("the RSA key has no modulus")
		}
		switch bits := pub.N.BitLen(); {
		case bits < MinRSABits:
			return nil, fmt.Errorf("the RSA key is %d bits; at least %d are required", bits, MinRSABits)
		case bits > MaxRSABits:
			return nil, fmt.Errorf("the RSA key is %d bits; at most %d are accepted", bits, MaxRSABits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return nil, fmt.Errorf("the RSA key's public exponent %d is not an odd number of at least 3", pub.E)
		}
		if err := checkModulus(pub.N); err != nil {
			return nil, err
		}
		k.Public, k.check = pub, newRSACheck(pub, hashes[alg], alg[0] == 'P')
	case *ecdsa.PublicKey:
		want, ok := curves[alg]
		if !ok {
			return nil, kindError(alg, "an ECDSA key")
		}
		if pub.Curve != want {
			return nil, fmt.Errorf("%s needs a key on %s, not %s", alg, want.Params().Name, curveName(pub.Curve))
		}
		// The point must be on the curve: ECDH's conversion checks it.
		if _, err := pub.ECDH(); err != nil {
			return nil, fmt.Errorf("the ECDSA key: %w", err)
		}
		k.Public, k.check = pub, newECDSACheck(pub, hashes[alg])
	case ed25519.PublicKey:
		if !isEd(alg) {
			return nil, kindError(alg, "an Ed25519 key")
		}
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("the Ed25519 key is %d bytes, not %d", len(pub), ed25519.PublicKeySize)
		}
		if smallOrderEd25519(pub) {
			return nil, errors.New("the Ed25519 key is a point of small order, under which signatures can be forged without a private key")
		}
		pub = bytes.Clone(pub)
		k.Public, k.check = pub, ed25519Check(pub)
	case nil:
		return nil, errors.New("no key")
	default:
		return nil, fmt.Errorf("a %T is not a key jwtguard signs or verifies with (RSA, ECDSA and Ed25519 keys are)", pub)
	}
	return k, nil
}

// MaxProofRSABits bounds the RSA key of a DPoP proof, which anyone may
// send unasked: verifying with an 8192-bit key is milliseconds of CPU.
const MaxProofRSABits = 4096

// NewProofRSAKey returns the verify-only key of a DPoP proof's RSA jwk
// for alg (RS* or PS*): 2048 to MaxProofRSABits bits, an odd modulus, the
// public exponent 65537. It skips NewPublicKey's search for a modulus
// anyone could factor (a primality test and division by the primes under
// 2¹²): on an 8192-bit junk modulus sent unasked that was 180 ms of CPU
// per request (attacker review of issue 17), and a weak proof key harms
// only the client that chose it, whose token it binds.
func NewProofRSAKey(alg string, pub *rsa.PublicKey) (*Key, error) {
	if alg[0] != 'R' && alg[0] != 'P' || hashes[alg] == 0 {
		return nil, kindError(alg, "an RSA key")
	}
	switch bits := pub.N.BitLen(); {
	case bits < MinRSABits:
		return nil, fmt.Errorf("the RSA key is %d bits; at least %d are required", bits, MinRSABits)
	case bits > MaxProofRSABits:
		return nil, fmt.Errorf("the RSA key is %d bits; a proof's is at most %d", bits, MaxProofRSABits)
	case pub.E != 65537:
		return nil, fmt.Errorf("the RSA key's public exponent is %d; a proof's is 65537", pub.E)
	case pub.N.Bit(0) == 0:
		return nil, errors.New("the RSA key's modulus is even")
	}
	return &Key{Alg: alg, Public: pub, check: newRSACheck(pub, hashes[alg], alg[0] == 'P')}, nil
}

// NewPrivateKey returns a key that signs and verifies: priv is an
// *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey, checked as
// NewPublicKey checks its public part, and an RSA key is also validated
// (its primes and exponents agree).
func NewPrivateKey(alg, id string, priv crypto.Signer) (*Key, error) {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if p.N == nil || p.D == nil || len(p.Primes) < 2 {
			return nil, errors.New("the RSA key has no modulus, private exponent or primes")
		}
		// Rebuilt from N, E, D and the primes, with its CRT values
		// computed afresh, and validated: Go 1.25's Validate trusts the
		// precomputed values a key arrives with, which need not be its
		// own.
		fresh := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: p.N, E: p.E}, D: p.D, Primes: p.Primes}
		if err := fresh.Validate(); err != nil {
			return nil, fmt.Errorf("the RSA key: %w", err)
		}
		fresh.Precompute()
		priv = fresh
	case ed25519.PrivateKey:
		if len(p) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("the Ed25519 private key is %d bytes, not %d", len(p), ed25519.PrivateKeySize)
		}
		if !bytes.Equal(ed25519.NewKeyFromSeed(p.Seed())[32:], p[32:]) {
			return nil, errors.New("the Ed25519 private key's public half is not its seed's")
		}
	case *ecdsa.PrivateKey:
	case nil:
		return nil, errors.New("no key")
	default:
		return nil, fmt.Errorf("a %T is not a key jwtguard signs with (RSA, ECDSA and Ed25519 private keys are)", priv)
	}
	k, err := NewPublicKey(alg, id, priv.Public())
	if err != nil {
		return nil, err
	}
	k.private = priv
	return k, nil
}

// checkModulus refuses an RSA modulus anyone could factor: even, prime
// (d is then e⁻¹ mod N−1, which anyone can compute), or with a prime
// factor under 2¹². It runs once, when the key is made.
func checkModulus(n *big.Int) error {
	if n.Bit(0) == 0 {
		return errors.New("the RSA key's modulus is even")
	}
	if n.ProbablyPrime(1) {
		return errors.New("the RSA key's modulus is prime: its private exponent can be computed from the public key")
	}
	var r big.Int
	for _, p := range smallPrimes {
		if r.Mod(n, big.NewInt(p)).Sign() == 0 {
			return fmt.Errorf("the RSA key's modulus has the factor %d", p)
		}
	}
	return nil
}

// smallPrimes are the odd primes under 2¹², for checkModulus.
var smallPrimes = func() []int64 {
	const n = 1 << 12
	var composite [n]bool
	var primes []int64
	for i := 3; i < n; i += 2 {
		if !composite[i] {
			primes = append(primes, int64(i))
			for j := i * i; j < n; j += 2 * i {
				composite[j] = true
			}
		}
	}
	return primes
}()

// p25519 is the prime 2²⁵⁵ − 19 of Curve25519 and edwards25519.
var p25519 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

// smallOrderEd25519 reports whether pub encodes a point of small order
// (dividing 8), under which crypto/ed25519's Verify accepts signatures
// made without the private key. The point's y (its encoding without the
// sign bit, reduced mod p, so non-canonical encodings count too) maps to
// the Montgomery u = (1+y)/(1−y) of the birationally equivalent
// Curve25519; y = 1 is the identity, and otherwise the point is of small
// order exactly when X25519 of u with any scalar is zero, which
// crypto/ecdh refuses. Points of mixed order are not refused: they admit
// no forgery.
func smallOrderEd25519(pub []byte) bool {
	le := bytes.Clone(pub)
	le[31] &= 0x7f
	for i, j := 0, len(le)-1; i < j; i, j = i+1, j-1 {
		le[i], le[j] = le[j], le[i]
	}
	y := new(big.Int).SetBytes(le)
	y.Mod(y, p25519)
	one := big.NewInt(1)
	if y.Cmp(one) == 0 {
		return true
	}
	num := new(big.Int).Add(one, y)
	den := new(big.Int).Sub(one, y)
	den.Mod(den, p25519)
	u := num.Mul(num, new(big.Int).ModInverse(den, p25519))
	u.Mod(u, p25519)
	var enc [32]byte
	u.FillBytes(enc[:])
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		enc[i], enc[j] = enc[j], enc[i]
	}
	peer, err := ecdh.X25519().NewPublicKey(enc[:])
	if err != nil {
		return true
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return true
	}
	_, err = priv.ECDH(peer)
	return err != nil
}

func kindError(alg, kind string) error {
	if !Supported(alg) {
		return fmt.Errorf("algorithm %q is not one jwtguard supports (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, Ed25519)", alg)
	}
	return fmt.Errorf("%s is not an algorithm for %s", alg, kind)
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "no curve"
	}
	return c.Params().Name
}

// method returns the golang-jwt signing method of k's algorithm.
func (k *Key) method() jwt.SigningMethod {
	if k.Alg == "Ed25519" {
		return ed25519Method{}
	}
	return jwt.GetSigningMethod(k.Alg)
}

// ed25519Method is golang-jwt's EdDSA signing under RFC 9864's name for
// it, which golang-jwt does not register: the signature is the same.
type ed25519Method struct{}

func (ed25519Method) Alg() string { return "Ed25519" }
func (ed25519Method) Sign(s string, key any) ([]byte, error) {
	return jwt.SigningMethodEdDSA.Sign(s, key)
}
func (ed25519Method) Verify(s string, sig []byte, key any) error {
	return jwt.SigningMethodEdDSA.Verify(s, sig, key)
}

// CheckSignature checks the base64url signature sig of the JWS signing
// input (header and payload segments, as sent) with k: for a signed
// object that is not a token, such as a DPoP proof. It returns an error
// that says only that the signature is bad or malformed.
func (k *Key) CheckSignature(input, sig string) error { return k.check.check(input, sig) }

// Package keybench prepares the benchmarks of asymmetric verification
// (issue 16): for each of RS256 and PS256 (RSA-2048), ES256 (P-256) and
// EdDSA (Ed25519), a key, a token jwtguard issued with it, the crypto
// floor of that token, and jwtguard's verification of it as a request
// carries it. The benchmarks of bench/verify and the interleaved rounds
// of bench/cmd/floorratio run the same bodies, defined here once.
//
// The crypto floor is what any verifier of the algorithm must do and no
// more: find the signature segment, base64url-decode it, hash the signing
// input, and check the signature with the standard library. It reads
// neither the header nor the claims. See [Fixture.Floor].
package keybench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/jwtguard/jwtguard"
)

// The token's claims and the route, as in bench/verify's HS256 benchmarks.
const (
	Issuer   = "https://auth.example.com"
	Audience = "orders-api"
	Subject  = "8f14e45f-ceea-467f-a0e6-0a1d0c8b4b6a"
	Username = "alice@example.com"
	Route    = "/api/user/profile"
)

// Roles are the token's roles claim.
var Roles = []string{"admin", "user"}

// Algs are the algorithms measured, in the order of the tables.
var Algs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// A Fixture is one algorithm's key and token, prepared once.
type Fixture struct {
	// Alg is the JWS algorithm.
	Alg string
	// Private is the issuer's key: a new *rsa.PrivateKey of 2048 bits, an
	// *ecdsa.PrivateKey on P-256 or an ed25519.PrivateKey, as
	// jwtguard.GenerateKey makes for Alg.
	Private crypto.Signer
	// Public is Private's public key, which the peers verify with.
	Public crypto.PublicKey
	// Key is Private as jwtguard's key (jwtguard.PrivateKey: its kid is
	// the RFC 7638 thumbprint, which the tokens' headers carry).
	Key jwtguard.Key
	// Auth is jwtguard.New(Key) with the issuer and audience checked and
	// a logger that discards.
	Auth *jwtguard.Auth
	// Token is Auth.Issue's access token for Subject, with Username and
	// Roles: {"alg","kid","typ"} and iss, sub, aud, exp, iat, jti,
	// username, roles; it expires in Auth's default lifetime.
	Token string

	floor func(input, sig []byte) bool
}

// New returns the fixture of alg, one of Algs, with a new key.
//
// The key is made as jwtguard.GenerateKey makes it (the same sizes and
// curves) and given to jwtguard.PrivateKey, rather than taken from
// GenerateKey, because the peers need the crypto key and a jwtguard.Key
// does not give it out.
func New(alg string) (*Fixture, error) {
	priv, err := GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	return NewWithKey(alg, priv)
}

// GenerateKey returns a new key for alg, as jwtguard.GenerateKey makes
// it: RSA-2048 for RS256 and PS256, P-256 for ES256, Ed25519 for EdDSA.
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "RS256", "PS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("keybench: algorithm %q is not one of %v", alg, Algs)
}

// NewWithKey returns the fixture of alg with priv, a key GenerateKey
// would make for alg.
func NewWithKey(alg string, priv crypto.Signer) (*Fixture, error) {
	f := &Fixture{Alg: alg, Private: priv, Public: priv.Public()}
	var err error
	if f.Key, err = jwtguard.PrivateKey(alg, priv); err != nil {
		return nil, err
	}
	if f.Auth, err = NewAuth(f.Key); err != nil {
		return nil, err
	}
	if f.Token, err = Issue(f.Auth); err != nil {
		return nil, err
	}
	switch pub := f.Public.(type) {
	case *rsa.PublicKey:
		f.floor = rsaFloor(pub, alg == "PS256")
	case *ecdsa.PublicKey:
		f.floor = ecdsaFloor(pub)
	case ed25519.PublicKey:
		f.floor = ed25519Floor(pub)
	}
	if !f.Floor(f.Token) {
		return nil, fmt.Errorf("keybench: the crypto floor of %s refuses jwtguard's token", alg)
	}
	return f, nil
}

// NewAuth is jwtguard.New(key) as the benchmarks configure it: issuer and
// audience checked, the log discarded, and opts after those.
func NewAuth(key jwtguard.Key, opts ...jwtguard.Option) (*jwtguard.Auth, error) {
	return jwtguard.New(key, append([]jwtguard.Option{
		jwtguard.WithIssuer(Issuer), jwtguard.WithAudience(Audience),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)...)
}

// Issue returns a's access token for the benchmarks' user.
func Issue(a *jwtguard.Auth) (string, error) {
	tr, err := a.Issue(context.Background(), jwtguard.User{ID: Subject, Username: Username, Roles: Roles})
	return tr.AccessToken, err
}

var fixtures = sync.OnceValues(func() ([]*Fixture, error) {
	var fs []*Fixture
	for _, alg := range Algs {
		f, err := New(alg)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
})

// Fixtures returns the fixture of each of Algs, in their order, made on
// the first call and shared by every later one (RSA keys take a while to
// make).
func Fixtures() ([]*Fixture, error) { return fixtures() }

// Floor reports whether tok's signature is good, doing only what any
// verifier of f.Alg must: find the signature segment after the last dot,
// base64url-decode it into a buffer on the stack, hash the signing input
// (SHA-256; Ed25519 hashes with SHA-512 inside ed25519.Verify) and check
// the signature with the standard library: rsa.VerifyPKCS1v15 for RS256,
// rsa.VerifyPSS with a salt as long as the hash for PS256,
// ecdsa.VerifyASN1 of r‖s written as ASN.1 for ES256 (ecdsa.Verify does
// the same after two big.Int), ed25519.Verify for EdDSA. The signing input
// is hashed in place, not copied. It checks neither alg nor any claim.
func (f *Fixture) Floor(tok string) bool {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return false
	}
	return f.floor(bytesOf(tok[:i]), bytesOf(tok[i+1:]))
}

// bytesOf views s as bytes, which the floor only reads.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// b64 is the signature's decoding.
var b64 = base64.RawURLEncoding

func rsaFloor(pub *rsa.PublicKey, pss bool) func(input, sig []byte) bool {
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	size := pub.Size()
	return func(input, sig []byte) bool {
		var buf [512]byte // 4096 bits
		if b64.DecodedLen(len(sig)) != size || size > len(buf) {
			return false
		}
		if _, err := b64.Decode(buf[:], sig); err != nil {
			return false
		}
		digest := sha256.Sum256(input)
		if pss {
			return rsa.VerifyPSS(pub, crypto.SHA256, digest[:], buf[:size], opts) == nil
		}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], buf[:size]) == nil
	}
}

func ecdsaFloor(pub *ecdsa.PublicKey) func(input, sig []byte) bool {
	return func(input, sig []byte) bool {
		var raw [64]byte
		if b64.DecodedLen(len(sig)) != len(raw) {
			return false
		}
		if _, err := b64.Decode(raw[:], sig); err != nil {
			return false
		}
		digest := sha256.Sum256(input)
		var der [72]byte
		return ecdsa.VerifyASN1(pub, digest[:], asn1Signature(der[:0], raw[:32], raw[32:]))
	}
}

// asn1Signature appends SEQUENCE { INTEGER r, INTEGER s } for the
// big-endian r and s of P-256 (32 bytes each, so every length fits in
// one byte).
func asn1Signature(b, r, s []byte) []byte {
	r, s = minimal(r), minimal(s)
	b = append(b, 0x30, byte(intLen(r)+intLen(s)))
	return appendInt(appendInt(b, r), s)
}

// minimal drops r's leading zero bytes but the last.
func minimal(r []byte) []byte {
	for len(r) > 1 && r[0] == 0 {
		r = r[1:]
	}
	return r
}

// intLen is the length of the DER INTEGER of the unsigned r, with its tag
// and length bytes and the zero byte that keeps a high bit from making it
// negative.
func intLen(r []byte) int { return 2 + len(r) + int(r[0]>>7) }

func appendInt(b, r []byte) []byte {
	b = append(b, 0x02, byte(intLen(r)-2))
	if r[0]&0x80 != 0 {
		b = append(b, 0)
	}
	return append(b, r...)
}

func ed25519Floor(pub ed25519.PublicKey) func(input, sig []byte) bool {
	return func(input, sig []byte) bool {
		var raw [ed25519.SignatureSize]byte
		if b64.DecodedLen(len(sig)) != len(raw) {
			return false
		}
		if _, err := b64.Decode(raw[:], sig); err != nil {
			return false
		}
		return ed25519.Verify(pub, input, raw[:])
	}
}

// Request returns a GET of Route with tok as its Bearer token (none when
// tok is "").
func Request(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, Route, nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

// BenchmarkFloor measures f.Floor on f.Token.
func (f *Fixture) BenchmarkFloor(b *testing.B) {
	tok := f.Token
	b.ReportAllocs()
	for b.Loop() {
		if !f.Floor(tok) {
			b.Fatal("refused")
		}
	}
}

// BenchmarkAuthenticate measures f.Auth.Authenticate of a request that
// carries f.Token in its Authorization header: extracting the token,
// verifying it (header, key, signature, claims) and making the Claims.
// The request is made once, as a server's is before any handler runs.
func (f *Fixture) BenchmarkAuthenticate(b *testing.B) {
	req := Request(f.Token)
	b.ReportAllocs()
	for b.Loop() {
		c, err := f.Auth.Authenticate(req)
		if err != nil || c.Subject != Subject {
			b.Fatalf("refused: %v", err)
		}
	}
}

// BenchmarkVerify measures the request through f.Auth.Verify, the
// middleware, into a handler that reads the claims from the context: what
// Authenticate does, and the context hand-off (NewContext and
// r.WithContext, which copies the request), as bench/verify's HS256
// benchmarks measure it.
func (f *Fixture) BenchmarkVerify(b *testing.B) {
	var sub string
	h := f.Auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtguard.FromContext(r.Context()); ok {
			sub = c.Subject
		}
	}))
	req := Request(f.Token)
	w := NewDiscard()
	b.ReportAllocs()
	for b.Loop() {
		sub = ""
		w.Reset()
		h.ServeHTTP(w, req)
		if sub != Subject {
			b.Fatalf("refused: status %d", w.Code)
		}
	}
}

// Discard is a ResponseWriter that keeps the status only, reset for each
// iteration, so that no body accumulates across a benchmark.
type Discard struct {
	h http.Header
	// Code is the status written, 0 for none.
	Code int
}

// NewDiscard returns a Discard with an empty header.
func NewDiscard() *Discard { return &Discard{h: make(http.Header)} }

// Header implements http.ResponseWriter.
func (d *Discard) Header() http.Header { return d.h }

// WriteHeader implements http.ResponseWriter: the first code is kept.
func (d *Discard) WriteHeader(code int) {
	if d.Code == 0 {
		d.Code = code
	}
}

// Write implements http.ResponseWriter and discards p.
func (d *Discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(p), nil
}

// Reset forgets the header and the status.
func (d *Discard) Reset() { clear(d.h); d.Code = 0 }

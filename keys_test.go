package jwtguard_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// kyAlgs are every algorithm a Key is made for.
var kyAlgs = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}

// kyGenerated caches one generated key per algorithm: RSA is slow to make.
var kyGenerated sync.Map

func kyKey(t testing.TB, alg string) jwtguard.Key {
	t.Helper()
	if k, ok := kyGenerated.Load(alg); ok {
		return k.(jwtguard.Key)
	}
	k, err := jwtguard.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	kyGenerated.Store(alg, k)
	return k
}

// kyAuth is an Auth on keys with the fixed clock, issuer and audience.
func kyAuth(t testing.TB, keys jwtguard.KeySource, opts ...jwtguard.Option) *jwtguard.Auth {
	t.Helper()
	opts = append([]jwtguard.Option{
		jwtguard.WithClock(vtClock),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithIssuer("https://issuer.example"),
		jwtguard.WithAudience("api"),
	}, opts...)
	a, err := jwtguard.New(keys, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func kyIssue(t testing.TB, a *jwtguard.Auth) string {
	t.Helper()
	tr, err := a.Issue(context.Background(), jwtguard.User{ID: "42", Username: "alice", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	return tr.AccessToken
}

func kyAuthenticate(a *jwtguard.Auth, tok string) (*jwtguard.Claims, error) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return a.Authenticate(r)
}

func kyHeader(t testing.TB, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestEveryAlgorithmRoundTrips: a token issued with a key of each
// algorithm verifies, carries the key's alg and kid, and is refused by the
// public half of another key of the same algorithm; the public half of the
// key alone verifies it.
func TestEveryAlgorithmRoundTrips(t *testing.T) {
	for _, alg := range kyAlgs {
		t.Run(alg, func(t *testing.T) {
			k := kyKey(t, alg)
			if k.Algorithm() != alg || !k.CanSign() {
				t.Fatalf("Algorithm %q CanSign %v", k.Algorithm(), k.CanSign())
			}
			tok := kyIssue(t, kyAuth(t, k))
			h := kyHeader(t, tok)
			if h["alg"] != alg || h["kid"] != nil && h["kid"] != k.ID() {
				t.Errorf("header %v, key %s %q", h, alg, k.ID())
			}
			verifier := k.Public()
			if strings.HasPrefix(alg, "HS") {
				verifier = k // a secret has no public half
			} else if verifier.CanSign() || verifier.ID() != k.ID() || verifier.Algorithm() != alg {
				t.Fatalf("Public: CanSign %v, kid %q, alg %q", verifier.CanSign(), verifier.ID(), verifier.Algorithm())
			}
			c, err := kyAuthenticate(kyAuth(t, verifier), tok)
			if err != nil || c.Subject != "42" || c.Username != "alice" {
				t.Fatalf("Authenticate = %v, %v", c, err)
			}
			other, err := jwtguard.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kyAuthenticate(kyAuth(t, other.WithID(k.ID())), tok); !errors.Is(err, jwtguard.ErrInvalidToken) {
				t.Errorf("another %s key with the same kid: %v", alg, err)
			}
		})
	}
}

// TestPublicKeyOnlyVerifies: an Auth on a public key verifies, but cannot
// issue: Issue fails and the handlers that issue panic when made.
func TestPublicKeyOnlyVerifies(t *testing.T) {
	a := kyAuth(t, kyKey(t, "EdDSA").Public())
	if _, err := a.Issue(context.Background(), jwtguard.User{ID: "1"}); !errors.Is(err, jwtguard.ErrInternal) {
		t.Errorf("Issue with a public key: %v", err)
	}
	users, err := jwtguard.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	vtCheckPanics(t, map[string]func(){
		"LoginHandler":    func() { a.LoginHandler(users) },
		"RefreshHandler":  func() { a.RefreshHandler(users.(jwtguard.UserByIDStore)) },
		"RegisterHandler": func() { a.RegisterHandler(users) },
	}, "only verify")
}

// TestAlgorithmConfusion: a token is checked only with the algorithm of
// the key its kid names. An HS256 token whose HMAC secret is the RSA (or
// ECDSA, or Ed25519) public key, in PEM or DER, is refused; so is a token
// naming none, another hash, or PS256 for an RS256 key, whatever it is
// signed with.
func TestAlgorithmConfusion(t *testing.T) {
	exp := fmt.Sprint(vtNow.Add(time.Minute).Unix())
	payload := `{"sub":"mallory","iss":"https://issuer.example","aud":"api","exp":` + exp + `}`
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		k := kyKey(t, alg)
		a := kyAuth(t, k.Public())
		var pub crypto.PublicKey
		switch alg {
		case "RS256", "PS256":
			pub = mustRSA(t, k)
		case "ES256":
			pub = mustEC(t, k)
		default:
			pub = mustEd(t, k)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		pemText := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		secrets := map[string][]byte{"PEM": pemText, "PEM without newline": []byte(strings.TrimSpace(string(pemText))), "DER": der}
		if rk, ok := pub.(*rsa.PublicKey); ok {
			secrets["PKCS1 DER"] = x509.MarshalPKCS1PublicKey(rk)
		}
		jwkJSON, _ := json.Marshal(k.Public())
		secrets["JWK"] = jwkJSON
		for name, secret := range secrets {
			for _, hs := range []string{"HS256", "HS384", "HS512"} {
				for _, kid := range []string{"", k.ID()} {
					header := `{"alg":"` + hs + `","typ":"JWT"}`
					if kid != "" {
						header = `{"alg":"` + hs + `","kid":"` + kid + `","typ":"JWT"}`
					}
					tok := kyCraftHMAC(hs, header, payload, secret)
					if _, err := kyAuthenticate(a, tok); !errors.Is(err, jwtguard.ErrInvalidToken) {
						t.Errorf("%s key, %s token with the %s public key as secret, kid %q: %v", alg, hs, name, kid, err)
					}
				}
			}
		}
		for _, other := range []string{"none", "RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"} {
			if other == alg || other == "EdDSA" && alg == "EdDSA" {
				continue
			}
			header := `{"alg":"` + other + `","kid":"` + k.ID() + `"}`
			tok := vtSeg(header) + "." + vtSeg(payload) + "." + vtSeg("signature")
			if _, err := kyAuthenticate(a, tok); !errors.Is(err, jwtguard.ErrInvalidToken) {
				t.Errorf("%s key, token naming %s: %v", alg, other, err)
			}
		}
	}
}

func kyCraftHMAC(alg, header, payload string, secret []byte) string {
	h := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}[alg]
	in := vtSeg(header) + "." + vtSeg(payload)
	m := hmac.New(h, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func mustRSA(t testing.TB, k jwtguard.Key) *rsa.PublicKey {
	t.Helper()
	return mustParseJWKPublic(t, k).(*rsa.PublicKey)
}
func mustEC(t testing.TB, k jwtguard.Key) *ecdsa.PublicKey {
	t.Helper()
	return mustParseJWKPublic(t, k).(*ecdsa.PublicKey)
}
func mustEd(t testing.TB, k jwtguard.Key) ed25519.PublicKey {
	t.Helper()
	return mustParseJWKPublic(t, k).(ed25519.PublicKey)
}

// mustParseJWKPublic decodes k's public JWK into a crypto key, with the
// standard library only, so that the JWK itself is checked too.
func mustParseJWKPublic(t testing.TB, k jwtguard.Key) crypto.PublicKey {
	t.Helper()
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var j struct{ Kty, Crv, N, E, X, Y string }
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	dec := func(s string) []byte {
		v, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return v
	}
	switch j.Kty {
	case "RSA":
		n, e := new(big.Int).SetBytes(dec(j.N)), new(big.Int).SetBytes(dec(j.E))
		return &rsa.PublicKey{N: n, E: int(e.Int64())}
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[j.Crv]
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, dec(j.X)...), dec(j.Y)...))
		if err != nil {
			t.Fatal(err)
		}
		return pub
	case "OKP":
		return ed25519.PublicKey(dec(j.X))
	}
	t.Fatalf("JWK %s", b)
	return nil
}

// TestWeakKeysRefused: keys that are too small, on the wrong curve, of
// the wrong kind for the algorithm, or for no algorithm are refused when
// made, and the error names no secret.
func TestWeakKeysRefused(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey := mustRSA(t, kyKey(t, "RS256"))
	for name, make := range map[string]func() (jwtguard.Key, error){
		"RSA 1024":          func() (jwtguard.Key, error) { return jwtguard.PrivateKey("RS256", small) },
		"RSA 1024 public":   func() (jwtguard.Key, error) { return jwtguard.PublicKey("PS256", &small.PublicKey) },
		"P-256 for ES384":   func() (jwtguard.Key, error) { return jwtguard.PrivateKey("ES384", p256) },
		"P-256 for ES512":   func() (jwtguard.Key, error) { return jwtguard.PublicKey("ES512", &p256.PublicKey) },
		"RSA for ES256":     func() (jwtguard.Key, error) { return jwtguard.PublicKey("ES256", rsaKey) },
		"RSA for HS256":     func() (jwtguard.Key, error) { return jwtguard.PublicKey("HS256", rsaKey) },
		"Ed25519 for RS256": func() (jwtguard.Key, error) { return jwtguard.PrivateKey("RS256", ed) },
		"ECDSA for EdDSA":   func() (jwtguard.Key, error) { return jwtguard.PrivateKey("EdDSA", p256) },
		"none":              func() (jwtguard.Key, error) { return jwtguard.PrivateKey("none", ed) },
		"lower-case alg":    func() (jwtguard.Key, error) { return jwtguard.PrivateKey("eddsa", ed) },
		"HS256 of 31 bytes": func() (jwtguard.Key, error) { return jwtguard.HMACKey("HS256", make([]byte, 31)) },
		"HS384 of 47 bytes": func() (jwtguard.Key, error) { return jwtguard.HMACKey("HS384", make([]byte, 47)) },
		"HS512 of 63 bytes": func() (jwtguard.Key, error) { return jwtguard.HMACKey("HS512", make([]byte, 63)) },
		"HMAC for RS256":    func() (jwtguard.Key, error) { return jwtguard.HMACKey("RS256", make([]byte, 64)) },
		"generated none":    func() (jwtguard.Key, error) { return jwtguard.GenerateKey("none") },
		"generated ES256K":  func() (jwtguard.Key, error) { return jwtguard.GenerateKey("ES256K") },
		"nil private":       func() (jwtguard.Key, error) { return jwtguard.PrivateKey("EdDSA", nil) },
		"nil public":        func() (jwtguard.Key, error) { return jwtguard.PublicKey("EdDSA", nil) },
		"a secret as public key": func() (jwtguard.Key, error) {
			return jwtguard.PublicKey("HS256", []byte("0123456789abcdef0123456789abcdef"))
		},
	} {
		k, err := make()
		if err == nil || k.Algorithm() != "" {
			t.Errorf("%s: made %q, %v", name, k.Algorithm(), err)
		}
	}
	if _, err := jwtguard.New(jwtguard.Key{}); err == nil {
		t.Error("New took the zero Key")
	}
	if _, err := jwtguard.New(nil); err == nil {
		t.Error("New took a nil source")
	}
	if _, err := jwtguard.New((*jwtguard.KeySet)(nil)); err == nil {
		t.Error("New took a nil KeySet")
	}
	if _, err := jwtguard.New(kyKey(t, "EdDSA").WithID("bad\"kid")); err == nil {
		t.Error(`New took a kid with '"'`)
	}
}

// TestKeyThumbprint: a key's default kid is its RFC 7638 thumbprint, here
// the example of RFC 7638 §3.1.
func TestKeyThumbprint(t *testing.T) {
	const rfc7638 = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256"}`
	k, err := jwtguard.ParseJWK([]byte(rfc7638), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; k.ID() != want {
		t.Errorf("kid %q, want the RFC's %q", k.ID(), want)
	}
	if k.CanSign() || k.Algorithm() != "RS256" {
		t.Errorf("CanSign %v, alg %q", k.CanSign(), k.Algorithm())
	}
}

// TestParseJWK: every kind of JWK, public and private, round trips with
// its alg and kid; the JSON is read strictly and contradictions are
// refused.
func TestParseJWK(t *testing.T) {
	for _, alg := range []string{"RS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"} {
		k := kyKey(t, alg)
		pubJSON, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(pubJSON), `"d"`) || strings.Contains(string(pubJSON), `"p"`) {
			t.Fatalf("%s: a private member in the public JWK %s", alg, pubJSON)
		}
		back, err := jwtguard.ParseJWK(pubJSON, "")
		if err != nil || back.ID() != k.ID() || back.Algorithm() != alg || back.CanSign() {
			t.Fatalf("%s: ParseJWK(%s) = %q %q %v, %v", alg, pubJSON, back.ID(), back.Algorithm(), back.CanSign(), err)
		}
		tok := kyIssue(t, kyAuth(t, k))
		if _, err := kyAuthenticate(kyAuth(t, back), tok); err != nil {
			t.Errorf("%s: the parsed JWK does not verify: %v", alg, err)
		}
	}
	// Private JWKs (RFC 7517 appendix A.2's shapes, our own keys).
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edJWK := `{"kty":"OKP","crv":"Ed25519","x":"` + b64(ed.Public().(ed25519.PublicKey)) + `","d":"` + b64(ed.Seed()) + `"}`
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := p256.PublicKey.Bytes()
	d, _ := p256.Bytes()
	ecJWK := `{"kty":"EC","crv":"P-256","x":"` + b64(raw[1:33]) + `","y":"` + b64(raw[33:]) + `","d":"` + b64(d) + `","alg":"ES256","kid":"ec-1"}`
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaJWK := `{"kty":"RSA","n":"` + b64(r.N.Bytes()) + `","e":"AQAB","d":"` + b64(r.D.Bytes()) + `","p":"` + b64(r.Primes[0].Bytes()) + `","q":"` + b64(r.Primes[1].Bytes()) + `"}`
	secret := []byte("0123456789abcdef0123456789abcdef")
	octJWK := `{"kty":"oct","k":"` + b64(secret) + `","kid":"hmac-1"}`
	for _, tc := range []struct{ name, json, alg, wantAlg, wantKid string }{
		{"Ed25519", edJWK, "", "EdDSA", ""},
		{"Ed25519 named so", edJWK, "Ed25519", "Ed25519", ""},
		{"P-256", ecJWK, "", "ES256", "ec-1"},
		{"RSA, alg configured", rsaJWK, "PS256", "PS256", ""},
		{"RSA, no alg: RS256", rsaJWK, "", "RS256", ""},
		{"oct", octJWK, "HS256", "HS256", "hmac-1"},
	} {
		k, err := jwtguard.ParseJWK([]byte(tc.json), tc.alg)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !k.CanSign() || k.Algorithm() != tc.wantAlg || tc.wantKid != "" && k.ID() != tc.wantKid {
			t.Errorf("%s: CanSign %v alg %q kid %q", tc.name, k.CanSign(), k.Algorithm(), k.ID())
		}
		tok := kyIssue(t, kyAuth(t, k))
		if _, err := kyAuthenticate(kyAuth(t, k), tok); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := json.Marshal(mustJWK(t, octJWK, "HS256")); err == nil {
		t.Error("an HMAC key marshalled to a JWK")
	}
	pub := strings.Split(edJWK, `,"d"`)[0] + "}"
	for name, bad := range map[string]struct{ json, alg string }{
		"not JSON":                 {`{"kty":`, ""},
		"kty twice":                {`{"kty":"OKP","kty":"OKP","crv":"Ed25519","x":"` + b64(ed.Public().(ed25519.PublicKey)) + `"}`, ""},
		"kty in two cases":         {`{"kty":"OKP","KTY":"OKP","crv":"Ed25519","x":"` + b64(ed.Public().(ed25519.PublicKey)) + `"}`, ""},
		"unknown kty":              {`{"kty":"XYZ"}`, ""},
		"unknown crv":              {strings.Replace(pub, "Ed25519", "Ed448", 1), ""},
		"EC on secp256k1":          {strings.Replace(ecJWK, "P-256", "secp256k1", 1), ""},
		"alg contradicts":          {ecJWK, "ES384"},
		"alg of another kind":      {ecJWK[:len(ecJWK)-1] + `}`, "RS256"},
		"use enc":                  {strings.Replace(pub, `"kty"`, `"use":"enc","kty"`, 1), ""},
		"key_ops without verify":   {strings.Replace(pub, `"kty"`, `"key_ops":["encrypt"],"kty"`, 1), ""},
		"padded base64":            {strings.Replace(pub, `"}`, `="}`, 1), ""},
		"standard base64":          {`{"kty":"oct","k":"` + base64.StdEncoding.EncodeToString(append(secret, 0xfb, 0xff)) + `"}`, "HS256"},
		"short x":                  {`{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`, ""},
		"EC point off the curve":   {`{"kty":"EC","crv":"P-256","x":"` + b64(make([]byte, 32)) + `","y":"` + b64(make([]byte, 32)) + `"}`, ""},
		"EC d of another key":      {strings.Replace(ecJWK, b64(d), b64(mustECBytes(t)), 1), ""},
		"Ed25519 d of another key": {strings.Replace(edJWK, b64(ed.Seed()), b64(make([]byte, 32)), 1), ""},
		"RSA n with a leading 0":   {`{"kty":"RSA","n":"` + b64(append([]byte{0}, r.N.Bytes()...)) + `","e":"AQAB"}`, ""},
		"RSA 1024":                 {`{"kty":"RSA","n":"` + b64(r.N.Bytes()[:128]) + `","e":"AQAB"}`, ""},
		"RSA private without p":    {strings.Split(rsaJWK, `,"p"`)[0] + "}", ""},
		"RSA p without d":          {`{"kty":"RSA","n":"` + b64(r.N.Bytes()) + `","e":"AQAB","p":"AQAB"}`, ""},
		"RSA d wrong":              {strings.Replace(rsaJWK, b64(r.D.Bytes()), b64(r.Primes[0].Bytes()), 1), ""},
		"oct without alg":          {octJWK, ""},
		"oct too short":            {`{"kty":"oct","k":"` + b64(secret[:31]) + `"}`, "HS256"},
		"oct for RS256":            {octJWK, "RS256"},
		"trailing data":            {pub + "x", ""},
		"too large":                {`{"kty":"OKP","pad":"` + strings.Repeat("a", 20000) + `"}`, ""},
	} {
		if k, err := jwtguard.ParseJWK([]byte(bad.json), bad.alg); err == nil {
			t.Errorf("%s: accepted (%q %q)", name, k.Algorithm(), k.ID())
		} else if strings.Contains(err.Error(), b64(secret)) || strings.Contains(err.Error(), b64(ed.Seed())) {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
}

func mustJWK(t testing.TB, s, alg string) jwtguard.Key {
	t.Helper()
	k, err := jwtguard.ParseJWK([]byte(s), alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustECBytes(t testing.TB) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestParseKeyPEM: private keys in PKCS #8, PKCS #1 and SEC 1 (with and
// without the EC PARAMETERS block openssl writes before it), and public
// keys in PKIX and PKCS #1, are read; anything else is refused. The
// strictness of the PEM itself is pem_test.go's (TestParseKeyPEMFraming
// and the tests beside it).
func TestParseKeyPEM(t *testing.T) {
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	block := func(typ string, der []byte, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	pkcs8 := func(k any) string { der, err := x509.MarshalPKCS8PrivateKey(k); return block("PRIVATE KEY", der, err) }
	pkix := func(k any) string { der, err := x509.MarshalPKIXPublicKey(k); return block("PUBLIC KEY", der, err) }
	sec1, err := x509.MarshalECPrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	params := block("EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}, nil)
	for _, tc := range []struct {
		name, pem, alg, wantAlg string
		signs                   bool
	}{
		{"RSA PKCS #8", pkcs8(r), "", "RS256", true},
		{"RSA PKCS #8 for PS512", pkcs8(r), "PS512", "PS512", true},
		{"RSA PKCS #1", block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(r), nil), "RS384", "RS384", true},
		{"RSA PKIX", pkix(&r.PublicKey), "", "RS256", false},
		{"RSA PKCS #1 public", block("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&r.PublicKey), nil), "", "RS256", false},
		{"P-384 SEC 1", block("EC PRIVATE KEY", sec1, nil), "", "ES384", true},
		{"P-384 SEC 1 after EC PARAMETERS", params + block("EC PRIVATE KEY", sec1, nil), "", "ES384", true},
		{"P-384 PKIX", pkix(&p384.PublicKey), "", "ES384", false},
		{"Ed25519 PKCS #8", pkcs8(ed), "", "EdDSA", true},
		{"Ed25519 PKIX", pkix(ed.Public()), "Ed25519", "Ed25519", false},
		{"with white space around", "\n\n" + pkcs8(ed) + "\n", "", "EdDSA", true},
	} {
		k, err := jwtguard.ParseKeyPEM(tc.alg, []byte(tc.pem))
		if err != nil || k.Algorithm() != tc.wantAlg || k.CanSign() != tc.signs {
			t.Errorf("%s: %q signs %v, %v", tc.name, k.Algorithm(), k.CanSign(), err)
		}
	}
	for name, bad := range map[string]struct{ pem, alg string }{
		"empty":                {"", ""},
		"not PEM":              {"-----BEGIN PRIVATE KEY-----\nnot base64\n", ""},
		"two keys":             {pkcs8(ed) + pkcs8(ed), ""},
		"a certificate":        {block("CERTIFICATE", []byte{1, 2, 3}, nil), ""},
		"text after":           {pkcs8(ed) + "trailing", ""},
		"encrypted":            {"-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END PRIVATE KEY-----\n", ""},
		"P-384 for ES256":      {pkcs8(p384), "ES256"},
		"Ed25519 for RS256":    {pkcs8(ed), "RS256"},
		"garbage DER":          {block("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, nil), ""},
		"only EC PARAMETERS":   {params, ""},
		"RSA 1024 PKCS #1":     {block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(mustRSA1024(t)), nil), ""},
		"private type, public": {block("PRIVATE KEY", mustPKIX(t, &r.PublicKey), nil), ""},
	} {
		if _, err := jwtguard.ParseKeyPEM(bad.alg, []byte(bad.pem)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: the error shows key bytes: %v", name, err)
		}
	}
}

func mustRSA1024(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPKIX(t testing.TB, k any) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestKeySetRotation: the documented rotation, on an Auth that keeps
// serving: tokens of the old key verify throughout until it is removed,
// tokens of the new key from the moment it is added, and new tokens carry
// the new kid once it is active. The JWKS follows each step.
func TestKeySetRotation(t *testing.T) {
	old, next := kyKey(t, "EdDSA"), kyKey(t, "ES256")
	set, err := jwtguard.NewKeySet(old)
	if err != nil {
		t.Fatal(err)
	}
	a := kyAuth(t, set)
	jwks := a.JWKSHandler()
	kids := func() []string {
		rec := httptest.NewRecorder()
		jwks.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
		var doc struct{ Keys []struct{ Kid string } }
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range doc.Keys {
			ids = append(ids, k.Kid)
		}
		return ids
	}
	oldTok := kyIssue(t, a)
	if kyHeader(t, oldTok)["kid"] != old.ID() {
		t.Fatalf("token kid %v, want the active key's", kyHeader(t, oldTok)["kid"])
	}
	nextVerifier := kyAuth(t, next) // a token the next key signs
	nextTok := kyIssue(t, nextVerifier)
	if _, err := kyAuthenticate(a, nextTok); !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Fatalf("the next key's token before it is added: %v", err)
	}
	// 1. Add: published, verifies, does not sign.
	if err := set.Add(next); err != nil {
		t.Fatal(err)
	}
	if got := kids(); fmt.Sprint(got) != fmt.Sprint([]string{old.ID(), next.ID()}) {
		t.Errorf("JWKS after Add: %v", got)
	}
	for name, tok := range map[string]string{"old": oldTok, "next": nextTok} {
		if _, err := kyAuthenticate(a, tok); err != nil {
			t.Errorf("after Add, the %s key's token: %v", name, err)
		}
	}
	if kyHeader(t, kyIssue(t, a))["kid"] != old.ID() {
		t.Error("a key signs as soon as it is added")
	}
	// 3. Activate: new tokens are the new key's; both verify.
	if err := set.Activate(next.ID()); err != nil {
		t.Fatal(err)
	}
	newTok := kyIssue(t, a)
	if kyHeader(t, newTok)["kid"] != next.ID() || kyHeader(t, newTok)["alg"] != "ES256" {
		t.Errorf("after Activate: header %v", kyHeader(t, newTok))
	}
	if got := kids(); fmt.Sprint(got) != fmt.Sprint([]string{next.ID(), old.ID()}) {
		t.Errorf("JWKS after Activate: %v, want the active key first", got)
	}
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := kyAuthenticate(a, tok); err != nil {
			t.Errorf("after Activate, the %s key's token: %v", name, err)
		}
	}
	// 4. Remove: the old key's tokens are refused; the new key's verify.
	if err := set.Remove(next.ID()); err == nil {
		t.Error("the active key was removed")
	}
	if err := set.Remove(old.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := kyAuthenticate(a, oldTok); !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Errorf("after Remove, the old key's token: %v", err)
	}
	if _, err := kyAuthenticate(a, newTok); err != nil {
		t.Errorf("after Remove, the new key's token: %v", err)
	}
	if got := kids(); fmt.Sprint(got) != fmt.Sprint([]string{next.ID()}) {
		t.Errorf("JWKS after Remove: %v", got)
	}
	// Refusals of the set's own changes.
	for name, err := range map[string]error{
		"Add twice":            set.Add(next),
		"Add the zero Key":     set.Add(jwtguard.Key{}),
		"Add without kid":      set.Add(kyKey(t, "HS256")),
		"Add a bad kid":        set.Add(kyKey(t, "EdDSA").WithID("a\\b")),
		"Activate unknown":     set.Activate("nope"),
		"Activate public":      errors.Join(set.Add(kyKey(t, "RS256").Public()), set.Activate(kyKey(t, "RS256").ID())),
		"Remove unknown":       set.Remove("nope"),
		"NewKeySet duplicates": second(jwtguard.NewKeySet(old, old)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestKeySetTokensWithoutKid: a token without kid is checked with the
// set's one key of its algorithm; with two such keys it is refused.
func TestKeySetTokensWithoutKid(t *testing.T) {
	secret := []byte("key-set-hmac-secret-0123456789abcdef")
	hk, _ := jwtguard.HMACKey("HS256", secret)
	set, err := jwtguard.NewKeySet(kyKey(t, "EdDSA"), hk.WithID("h1"))
	if err != nil {
		t.Fatal(err)
	}
	a := kyAuth(t, set)
	exp := fmt.Sprint(vtNow.Add(time.Minute).Unix())
	tok := kyCraftHMAC("HS256", `{"alg":"HS256","typ":"JWT"}`, `{"sub":"1","iss":"https://issuer.example","aud":"api","exp":`+exp+`}`, secret)
	if _, err := kyAuthenticate(a, tok); err != nil {
		t.Fatalf("kid-less token, one HS256 key: %v", err)
	}
	hk2, _ := jwtguard.HMACKey("HS256", []byte("another-hmac-secret-0123456789abcdef"))
	if err := set.Add(hk2.WithID("h2")); err != nil {
		t.Fatal(err)
	}
	if _, err := kyAuthenticate(a, tok); !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Errorf("kid-less token, two HS256 keys: %v", err)
	}
	withKid := kyCraftHMAC("HS256", `{"alg":"HS256","kid":"h1"}`, `{"sub":"1","iss":"https://issuer.example","aud":"api","exp":`+exp+`}`, secret)
	if _, err := kyAuthenticate(a, withKid); err != nil {
		t.Errorf("the same token with kid h1: %v", err)
	}
	wrongKid := kyCraftHMAC("HS256", `{"alg":"HS256","kid":"h2"}`, `{"sub":"1","iss":"https://issuer.example","aud":"api","exp":`+exp+`}`, secret)
	if _, err := kyAuthenticate(a, wrongKid); !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Errorf("h1's token naming h2: %v", err)
	}
}

// TestKeySetConcurrentRotation: rotating while tokens are verified and
// issued is safe (run with -race) and never refuses a token of a key that
// stays in the set.
func TestKeySetConcurrentRotation(t *testing.T) {
	stay := kyKey(t, "EdDSA")
	set, _ := jwtguard.NewKeySet(stay)
	a := kyAuth(t, set)
	tok := kyIssue(t, a)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := kyAuthenticate(a, tok); err != nil {
					t.Errorf("during rotation: %v", err)
					return
				}
				kyIssue(t, a)
			}
		})
	}
	for i := range 200 {
		k := kyKey(t, "HS256").WithID(fmt.Sprint("r", i))
		if err := set.Add(k); err != nil {
			t.Fatal(err)
		}
		if err := set.Activate(k.ID()); err != nil {
			t.Fatal(err)
		}
		if err := set.Activate(stay.ID()); err != nil {
			t.Fatal(err)
		}
		if err := set.Remove(k.ID()); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestJWKSHandler: the JWKS holds public parts only (never an HMAC secret
// or a private member), with use sig, alg and kid; it is cached for five
// minutes with an ETag; other methods are refused.
func TestJWKSHandler(t *testing.T) {
	hk := kyKey(t, "HS512").WithID("hmac")
	set, err := jwtguard.NewKeySet(kyKey(t, "RS256"), kyKey(t, "ES384"), kyKey(t, "EdDSA"), hk)
	if err != nil {
		t.Fatal(err)
	}
	h := kyAuth(t, set).JWKSHandler()
	rec := vtServe(h, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/jwk-set+json" || rec.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	body := rec.Body.String()
	var doc struct{ Keys []map[string]any }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 3 {
		t.Fatalf("%d keys in %s", len(doc.Keys), body)
	}
	for _, k := range doc.Keys {
		if k["use"] != "sig" || k["kid"] == "" || k["alg"] == "" {
			t.Errorf("JWK %v", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWK with private member %s: %v", private, k)
			}
		}
		if k["kty"] == "oct" || k["kid"] == "hmac" {
			t.Errorf("an HMAC key published: %v", k)
		}
	}
	etag := rec.Header().Get("ETag")
	r := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
	r.Header.Set("If-None-Match", etag)
	if rec := vtServe(h, r); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d %q", rec.Code, rec.Body)
	}
	if rec := vtServe(h, httptest.NewRequest("HEAD", "/.well-known/jwks.json", nil)); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := vtServe(h, httptest.NewRequest("POST", "/.well-known/jwks.json", nil)); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	set.Add(kyKey(t, "PS256"))
	r.Header.Set("If-None-Match", etag)
	if rec := vtServe(h, r); rec.Code != 200 || rec.Header().Get("ETag") == etag {
		t.Errorf("after Add, the old ETag: %d %s", rec.Code, rec.Header().Get("ETag"))
	}
	// A single HMAC key publishes nothing, with a warning.
	var logged strings.Builder
	hmacAuth := kyAuth(t, kyKey(t, "HS256"), jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if rec := vtServe(hmacAuth.JWKSHandler(), httptest.NewRequest("GET", "/", nil)); rec.Body.String() != `{"keys":[]}` {
		t.Errorf("HMAC JWKS %s", rec.Body)
	}
	if !strings.Contains(logged.String(), "publishes no key") {
		t.Errorf("no warning: %s", logged.String())
	}
	vtCheckPanics(t, map[string]func(){
		"JWKSHandler of another source": func() { kyAuth(t, failingSource{}).JWKSHandler() },
	}, "only a Key or KeySet is published")
}

// failingSource is a KeySource that cannot tell (a remote JWKS that was
// never fetched) or knows no key.
type failingSource struct{ unknown bool }

func (s failingSource) VerificationKey(context.Context, string, string) (jwtguard.Key, error) {
	if s.unknown {
		return jwtguard.Key{}, fmt.Errorf("remote: %w", jwtguard.ErrUnknownKey)
	}
	return jwtguard.Key{}, errors.New("remote JWKS not fetched yet")
}

// nilSource returns no key and no error: a broken source.
type nilSource struct{}

func (nilSource) VerificationKey(context.Context, string, string) (jwtguard.Key, error) {
	return jwtguard.Key{}, nil
}

// TestKeySourceRefusals: a source that cannot tell makes the request 503
// with Retry-After, logged at Error; one without the key makes it 401; one
// returning neither key nor error fails closed (503).
func TestKeySourceRefusals(t *testing.T) {
	tok := kyIssue(t, kyAuth(t, kyKey(t, "EdDSA")))
	for _, tc := range []struct {
		name   string
		src    jwtguard.KeySource
		status int
		err    error
	}{
		{"unavailable", failingSource{}, http.StatusServiceUnavailable, jwtguard.ErrOverloaded},
		{"unknown kid", failingSource{unknown: true}, http.StatusUnauthorized, jwtguard.ErrInvalidToken},
		{"no key, no error", nilSource{}, http.StatusServiceUnavailable, jwtguard.ErrOverloaded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged strings.Builder
			a := kyAuth(t, tc.src, jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			if _, err := kyAuthenticate(a, tok); !errors.Is(err, tc.err) {
				t.Errorf("Authenticate: %v, want %v", err, tc.err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			rec := vtServe(a.Verify(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached the handler") })), r)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == 503 && (rec.Header().Get("Retry-After") == "" || !strings.Contains(logged.String(), "level=ERROR")) {
				t.Errorf("503 without Retry-After or Error log: %v %s", rec.Header(), logged.String())
			}
			if strings.Contains(logged.String(), tok[strings.LastIndexByte(tok, '.')+1:]) {
				t.Errorf("the token's signature is in the log: %s", logged.String())
			}
			if tc.name == "unknown kid" {
				if n := a.Stats().Refusals["unknown_key"]; n != 2 {
					t.Errorf("unknown_key counted %d times, want 2", n)
				}
				if want := `no key for the token's kid (kid \"` + kyKey(t, "EdDSA").ID() + `\", alg EdDSA; the key source says: remote: jwtguard: no key for the token)`; !strings.Contains(logged.String(), want) {
					t.Errorf("log %s\nwants %s", logged.String(), want)
				}
			}
		})
	}
}

// TestKeySourceDownLogsSparingly: while the key source cannot answer,
// every token with a kid is refused 503, junk too; the first is logged at
// Error, the others at Debug until keysDownEvery has passed, when the
// next Error says how many there were.
func TestKeySourceDownLogsSparingly(t *testing.T) {
	var logged strings.Builder
	a := kyAuth(t, failingSource{}, jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	h := a.Verify(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached the handler") }))
	for i := range 20 {
		tok := kyCraftHMAC("HS256", fmt.Sprintf(`{"alg":"HS256","kid":"junk-%d"}`, i), `{"sub":"x"}`, []byte("whatever"))
		if rec := vtServe(h, vtGet("/", "Bearer "+tok)); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
	}
	text := logged.String()
	if e, d := strings.Count(text, "level=ERROR"), strings.Count(text, "level=DEBUG msg=\"jwtguard: request refused\""); e != 1 || d != 19 {
		t.Errorf("%d Error and %d Debug refusals logged, want 1 and 19:\n%s", e, d, text)
	}
}

// TestKeyInterfaceFromOtherSources: a KeySource of our own kind (wrapping
// a KeySet) verifies through the interface as the set does directly.
func TestKeyInterfaceFromOtherSources(t *testing.T) {
	set, _ := jwtguard.NewKeySet(kyKey(t, "PS256"))
	tok := kyIssue(t, kyAuth(t, set))
	a := kyAuth(t, wrappedSource{set})
	if _, err := kyAuthenticate(a, tok); err != nil {
		t.Errorf("through the interface: %v", err)
	}
	if _, err := a.Issue(context.Background(), jwtguard.User{ID: "1"}); err == nil {
		t.Error("a foreign source signed")
	}
}

type wrappedSource struct{ s *jwtguard.KeySet }

func (w wrappedSource) VerificationKey(ctx context.Context, kid, alg string) (jwtguard.Key, error) {
	return w.s.VerificationKey(ctx, kid, alg)
}

// FuzzParseJWK: ParseJWK never panics; a key it accepts marshals to a
// public JWK that parses back to the same kid and algorithm, and never
// carries a private member.
func FuzzParseJWK(f *testing.F) {
	for _, alg := range []string{"RS256", "ES256", "ES521", "EdDSA"} {
		if k, err := jwtguard.GenerateKey(alg); err == nil {
			b, _ := json.Marshal(k)
			f.Add(b, "")
		}
	}
	f.Add([]byte(`{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY","kid":"h"}`), "HS256")
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`), "")
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		k, err := jwtguard.ParseJWK(data, alg)
		if err != nil {
			return
		}
		if k.Algorithm() == "" {
			t.Fatal("a key without an algorithm")
		}
		pub, err := json.Marshal(k)
		if err != nil {
			if strings.HasPrefix(k.Algorithm(), "HS") {
				return // a secret has no public JWK
			}
			t.Fatal(err)
		}
		if strings.Contains(string(pub), `"d"`) || strings.Contains(string(pub), `"k"`) {
			t.Fatalf("a private member in %s", pub)
		}
		back, err := jwtguard.ParseJWK(pub, "")
		if err != nil || back.ID() != k.ID() || back.Algorithm() != k.Algorithm() || back.CanSign() {
			t.Fatalf("%s: back %q %q %v, %v", pub, back.ID(), back.Algorithm(), back.CanSign(), err)
		}
	})
}

// TestKeySetWithoutSigningKey: a set of public keys only makes the
// handlers that issue panic when made; a set whose signing key was never
// activated fails Issue, and a login with 500.
func TestKeySetWithoutSigningKey(t *testing.T) {
	public, _ := jwtguard.NewKeySet(kyKey(t, "ES256").Public())
	a := kyAuth(t, public)
	users, _ := jwtguard.NewMemoryStore()
	vtCheckPanics(t, map[string]func(){
		"LoginHandler":    func() { a.LoginHandler(users) },
		"RegisterHandler": func() { a.RegisterHandler(users) },
	}, "public keys only")
	// The first key verifies only; the second could sign but is not active.
	inactive, _ := jwtguard.NewKeySet(kyKey(t, "ES256").Public(), kyKey(t, "EdDSA"))
	sessions := jwtguard.NewMemorySessionStore()
	b := kyAuth(t, inactive, jwtguard.WithSessions(sessions))
	if _, err := b.Issue(context.Background(), jwtguard.User{ID: "1"}); !errors.Is(err, jwtguard.ErrInternal) {
		t.Errorf("Issue without an active key: %v", err)
	}
	hash, _ := jwtguard.HashPassword("correct horse battery")
	withAlice, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "alice", PasswordHash: hash})
	r := httptest.NewRequest("POST", "/login", strings.NewReader(`{"username":"alice","password":"correct horse battery"}`))
	r.Header.Set("Content-Type", "application/json")
	if rec := vtServe(b.LoginHandler(withAlice), r); rec.Code != http.StatusInternalServerError {
		t.Errorf("login without an active key: %d %s", rec.Code, rec.Body)
	}
}

// TestKeyMarshalPEM: a key written by MarshalPEM reads back through
// ParseKeyPEM as the same key (kid, algorithm, signing or not), its
// private part only when it has one; an HMAC key and the zero Key have no
// PEM.
func TestKeyMarshalPEM(t *testing.T) {
	for _, alg := range []string{"RS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"} {
		k := kyKey(t, alg)
		for _, key := range []jwtguard.Key{k, k.Public()} {
			b, err := key.MarshalPEM()
			if err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
			back, err := jwtguard.ParseKeyPEM(alg, b)
			if err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
			if back.ID() != key.ID() || back.Algorithm() != alg || back.CanSign() != key.CanSign() {
				t.Errorf("%s (signs: %v): read back as %s %s, signs: %v", alg, key.CanSign(), back.ID(), back.Algorithm(), back.CanSign())
			}
			if !key.CanSign() && strings.Contains(string(b), "PRIVATE") {
				t.Errorf("%s: a public key's PEM holds a private key: %s", alg, b)
			}
		}
		// A token of the key read back verifies with the original.
		b, _ := k.MarshalPEM()
		back, _ := jwtguard.ParseKeyPEM(alg, b)
		if _, err := kyAuthenticate(kyAuth(t, k.Public()), kyIssue(t, kyAuth(t, back))); err != nil {
			t.Errorf("%s: a token of the key read back: %v", alg, err)
		}
	}
	for name, k := range map[string]jwtguard.Key{"HMAC": testKey(t, vtSecret), "zero": {}} {
		if b, err := k.MarshalPEM(); err == nil {
			t.Errorf("%s: %s", name, b)
		}
	}
}

// downSource is a KeySource that cannot answer, for the reason why; it
// honours the request's context, as a source that fetches does.
type downSource struct{ why string }

func (s downSource) VerificationKey(ctx context.Context, _, _ string) (jwtguard.Key, error) {
	if err := ctx.Err(); err != nil {
		return jwtguard.Key{}, err
	}
	return jwtguard.Key{}, errors.New(s.why)
}

// TestKeySourcesDownLoggedApart: each key source's failures are spaced out
// on their own, so that junk tokens naming a partner whose JWKS is down
// do not hide, at Debug, an outage of the Auth's own source; and a request
// whose client went away is logged at Debug without using the source's
// Error line.
func TestKeySourcesDownLoggedApart(t *testing.T) {
	var logged syncBuilder
	a := kyAuth(t, downSource{"OWN SOURCE DOWN"},
		jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))),
		jwtguard.WithIssuers(jwtguard.Issuer{Issuer: "https://partner.example", Keys: downSource{"PARTNER SOURCE DOWN"}, Audience: "api"}))
	h := a.Verify(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached the handler") }))
	partner := kyCraftHMAC("HS256", `{"alg":"HS256","kid":"x"}`, `{"iss":"https://partner.example"}`, []byte("junk"))
	own := kyCraftHMAC("HS256", `{"alg":"HS256","kid":"k1"}`, `{"iss":"https://issuer.example","sub":"42"}`, []byte("junk"))
	// A client gone: its request refused, at Debug, leaving the line.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rec := vtServe(h, vtGet("/", "Bearer "+own).WithContext(ctx)); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", rec.Code)
	}
	for range 50 {
		vtServe(h, vtGet("/", "Bearer "+partner))
	}
	for range 50 {
		if rec := vtServe(h, vtGet("/", "Bearer "+own)); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", rec.Code)
		}
	}
	text := logged.String()
	if strings.Count(text, "PARTNER SOURCE DOWN") != 1 || strings.Count(text, "OWN SOURCE DOWN") != 1 || strings.Contains(text, "context canceled") {
		t.Errorf("want one Error line for each source and none for the client gone:\n%s", text)
	}
}

// syncBuilder is a strings.Builder safe for concurrent writes.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

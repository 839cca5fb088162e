package verify_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	issuer   = "https://auth.example.com"
	audience = "orders-api"
	subject  = "8f14e45f-ceea-467f-a0e6-0a1d0c8b4b6a"
	route    = "/api/user/profile"
)

var (
	secret         = []byte("bench-verify-secret-0123456789abc") // HS256 needs at least 32
	attackerSecret = []byte("an-attackers-own-secret-0123456789ab")
)

// mint signs claims (sub, iss, aud, exp, iat, with changes) with key.
func mint(tb testing.TB, key []byte, change func(jwt.MapClaims)) string {
	tb.Helper()
	now := time.Now()
	c := jwt.MapClaims{
		"sub": subject,
		"iss": issuer,
		"aud": audience,
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
	}
	if change != nil {
		change(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// mintHS512 signs the good claims with the right secret but HS512: a
// verifier that pins HS256 refuses it.
func mintHS512(tb testing.TB) string {
	tb.Helper()
	t, err := jwt.ParseWithClaims(mint(tb, secret, nil), jwt.MapClaims{}, func(*jwt.Token) (any, error) { return secret, nil })
	if err != nil {
		tb.Fatal(err)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS512, t.Claims).SignedString(secret)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// tamper changes one byte of tok's decoded payload (a letter of the
// subject) and keeps the signature: valid JSON, wrong signature.
func tamper(tb testing.TB, tok string) string {
	tb.Helper()
	parts := strings.Split(tok, ".")
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	i := strings.Index(string(p), subject)
	if i < 0 {
		tb.Fatal("subject not in the payload")
	}
	p[i] ^= 0x01 // '8' -> '9'
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return strings.Join(parts, ".")
}

// request is a GET of the route with tok as its Bearer token (none if "").
func request(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, route, nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

// A sanity case is one request every protecting variant must answer alike.
type sanityCase struct {
	name   string
	token  string
	accept bool
	// issuer marks the wrong-issuer case, which a variant that cannot
	// check iss is excused from.
	issuer bool
	// informational cases are logged, not failed.
	informational bool
}

func sanityCases(tb testing.TB) []sanityCase {
	good := mint(tb, secret, nil)
	return []sanityCase{
		{name: "good", token: good, accept: true},
		{name: "missing", token: ""},
		{name: "tampered", token: tamper(tb, good)},
		{name: "wrong-issuer", token: mint(tb, secret, func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" }), issuer: true},
		{name: "wrong-audience", token: mint(tb, secret, func(c jwt.MapClaims) { c["aud"] = "billing-api" })},
		{name: "other-key", token: mint(tb, attackerSecret, nil)},
		{name: "other-alg", token: mintHS512(tb)},
		{name: "expired", token: mint(tb, secret, func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		})},
		{name: "no-exp", token: mint(tb, secret, func(c jwt.MapClaims) { delete(c, "exp") }), informational: true},
	}
}

// TestSanity: before its figures mean anything, every variant accepts the
// good token and refuses a missing one, a tampered one (one payload byte
// changed), a correctly signed one from another issuer or for another
// audience, one signed with another key or with HS512, and an expired one. Whether a
// token without exp is accepted is logged.
func TestSanity(t *testing.T) {
	cases := sanityCases(t)
	for _, v := range variants {
		if v.baseline() {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			t.Logf("checks: %s", v.checks)
			var sub string
			h := v.build(t, &sub)
			for _, c := range cases {
				sub = ""
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, request(c.token))
				accepted := rec.Code == http.StatusOK && sub == subject
				refused := rec.Code >= 400 && sub == ""
				switch {
				case c.accept && !accepted:
					t.Errorf("%s: status %d, subject %q; want 200 and %q", c.name, rec.Code, sub, subject)
				case c.accept:
				case c.informational:
					t.Logf("%s: status %d, accepted %v", c.name, rec.Code, accepted)
				case c.issuer && !v.issuerChecked && !refused:
					t.Logf("%s: status %d: accepted; this variant cannot be configured to check iss", c.name, rec.Code)
				case !refused:
					t.Errorf("%s: status %d, subject %q; want refused", c.name, rec.Code, sub)
				default:
					t.Logf("%s: refused with %d", c.name, rec.Code)
				}
			}
		})
	}
}

// TestBaselines: the bare handlers run the same route with no check.
func TestBaselines(t *testing.T) {
	for _, v := range variants {
		if !v.baseline() {
			continue
		}
		var sub string
		rec := httptest.NewRecorder()
		v.build(t, &sub).ServeHTTP(rec, request(mint(t, secret, nil)))
		if rec.Code != http.StatusOK || sub != subject {
			t.Errorf("%s: status %d, subject %q; want 200 and %q", v.name, rec.Code, sub, subject)
		}
	}
}

// TestCryptoFloor: the floor accepts the good token and refuses a missing,
// tampered or other-key one; it reads no claims, so it takes a correctly
// signed token from another issuer, or an expired one.
func TestCryptoFloor(t *testing.T) {
	for _, c := range sanityCases(t) {
		ok := cryptoFloor(c.token, secret)
		switch c.name {
		case "good":
			if !ok {
				t.Errorf("%s: refused", c.name)
			}
		case "missing", "tampered", "other-key", "other-alg":
			if ok {
				t.Errorf("%s: accepted", c.name)
			}
		default:
			t.Logf("%s: accepted %v: the floor checks the signature only, no claims (iss, aud, exp)", c.name, ok)
		}
	}
}

// TestTokenSize: the benchmarks' token is the size issue 13 names.
func TestTokenSize(t *testing.T) {
	tok := mint(t, secret, nil)
	p, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("token %d bytes, payload %d bytes: %s", len(tok), len(p), p)
	if len(p) < 110 || len(p) > 140 {
		t.Errorf("payload %d bytes; want about 126", len(p))
	}
}

// discard is a ResponseWriter that keeps the status only, reset for each
// iteration, so that no body accumulates across a benchmark.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}
func (d *discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(p), nil
}
func (d *discard) reset() { clear(d.h); d.code = 0 }

// BenchmarkPeers sends one accepted request through each variant, then
// measures the crypto floor on the same token.
func BenchmarkPeers(b *testing.B) {
	tok := mint(b, secret, nil)
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			var sub string
			h := v.build(b, &sub)
			req := request(tok)
			w := &discard{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				sub = ""
				w.reset()
				h.ServeHTTP(w, req)
				if sub != subject {
					b.Fatalf("refused: status %d", w.code)
				}
			}
		})
	}
	b.Run("crypto-floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !cryptoFloor(tok, secret) {
				b.Fatal("refused")
			}
		}
	})
}

// BenchmarkJWTGuardRefusal measures jwtguard's refusal paths beside its
// accepted one: a signature by another key, an expired token (signature
// good, claims decoded and checked so that the client is told to
// refresh), and a malformed one (the good token without its signature
// segment).
func BenchmarkJWTGuardRefusal(b *testing.B) {
	good := mint(b, secret, nil)
	cases := []struct {
		name  string
		token string
		code  int
	}{
		{"accepted", good, http.StatusOK},
		{"bad-signature", mint(b, attackerSecret, nil), http.StatusUnauthorized},
		{"expired", mint(b, secret, func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		}), http.StatusUnauthorized},
		{"malformed", good[:strings.LastIndexByte(good, '.')], http.StatusUnauthorized},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var sub string
			h := buildJWTGuard(b, &sub)
			req := request(c.token)
			w := &discard{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
			}
			if w.code == 0 {
				w.code = http.StatusOK
			}
			if w.code != c.code {
				b.Fatalf("status %d; want %d", w.code, c.code)
			}
		})
	}
}

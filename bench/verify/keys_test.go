package verify_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	ginjwt "github.com/appleboy/gin-jwt/v2"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/jwtauth/v5"
	jwtv4 "github.com/golang-jwt/jwt/v4"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/bench/internal/keybench"
)

// A keyVariant is one way of protecting the route with an asymmetric key:
// jwtguard or a peer, configured as for HS256 (variant), with the
// fixture's public key prepared once, as each peer documents.
type keyVariant struct {
	name   string
	checks string
	// build returns the protected route for f's algorithm and key; see
	// variant.build.
	build func(tb testing.TB, f *keybench.Fixture, sub *string) http.Handler
}

// keyVariants are the peers of variants, for the asymmetric algorithms:
// each supports all four of keybench.Algs. The frameworks' bare handlers
// are left out: their 30–40 ns (BenchmarkPeers) are a thousandth of a
// signature check.
var keyVariants = []keyVariant{
	{
		name:   "jwtguard",
		checks: "the key's alg pinned, kid, signature, exp required, iss, aud, strict JSON, size bound; Verify into the context",
		build: func(tb testing.TB, f *keybench.Fixture, sub *string) http.Handler {
			return f.Auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c, ok := jwtguard.FromContext(r.Context()); ok {
					*sub = c.Subject
				}
			}))
		},
	},
	{
		name:   "golang-jwt",
		checks: "alg pinned (WithValidMethods), signature, exp required, iss, aud; a hand-written Bearer middleware around ParseWithClaims",
		build:  buildGolangJWTKey,
	},
	{
		name:   "auth0-v2",
		checks: "alg pinned, signature (go-jose v2), iss, aud, exp and nbf when present",
		build:  buildAuth0Key,
	},
	{
		name:   "jwtauth",
		checks: "the key's alg (jwx), signature, iss, aud, exp required, exp/nbf/iat against the clock",
		build:  buildJWTAuthKey,
	},
	{
		name:   "echo-jwt",
		checks: "a ParseTokenFunc of golang-jwt options: alg pinned, signature, exp required, iss, aud",
		build:  buildEchoJWTKey,
	},
	{
		name:   "gin-jwt",
		checks: "RS256 through its RSA key settings (which want the private key too), PS256, ES256 and EdDSA through a KeyFunc that pins the alg (its key settings are RSA only); signature, exp required (golang-jwt v4); iss and aud in the Authorizator (403)",
		build:  buildGinJWTKey,
	},
}

// keyParser is golang-jwt's parser configured as jwtguard is for f.
func keyParser(f *keybench.Fixture) (*jwt.Parser, jwt.Keyfunc) {
	p := jwt.NewParser(jwt.WithValidMethods([]string{f.Alg}), jwt.WithExpirationRequired(),
		jwt.WithIssuer(keybench.Issuer), jwt.WithAudience(keybench.Audience))
	pub := f.Public
	return p, func(*jwt.Token) (any, error) { return pub, nil }
}

func buildGolangJWTKey(tb testing.TB, f *keybench.Fixture, sub *string) http.Handler {
	p, keyFunc := keyParser(f)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(gjClaimsKey{}).(*jwt.RegisteredClaims); ok {
			*sub = c.Subject
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var c jwt.RegisteredClaims
		if _, err := p.ParseWithClaims(tok, &c, keyFunc); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), gjClaimsKey{}, &c)))
	})
}

func buildAuth0Key(tb testing.TB, f *keybench.Fixture, sub *string) http.Handler {
	pub := f.Public
	v, err := validator.New(func(context.Context) (any, error) { return pub, nil },
		validator.SignatureAlgorithm(f.Alg), keybench.Issuer, []string{keybench.Audience})
	if err != nil {
		tb.Fatal(err)
	}
	m := jwtmiddleware.New(v.ValidateToken)
	return m.CheckJWT(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims); ok {
			*sub = c.RegisteredClaims.Subject
		}
	}))
}

// buildJWTAuthKey gives jwtauth the public key to verify with and no key
// to sign with.
func buildJWTAuthKey(tb testing.TB, f *keybench.Fixture, sub *string) http.Handler {
	ja := jwtauth.New(f.Alg, nil, f.Public,
		jwxjwt.WithIssuer(keybench.Issuer), jwxjwt.WithAudience(keybench.Audience), jwxjwt.WithRequiredClaim("exp"))
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t, _, err := jwtauth.FromContext(r.Context()); err == nil && t != nil {
			*sub = t.Subject()
		}
	})
	return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(next))
}

func buildEchoJWTKey(tb testing.TB, f *keybench.Fixture, sub *string) http.Handler {
	p, keyFunc := keyParser(f)
	mw, err := echojwt.Config{
		ParseTokenFunc: func(_ echo.Context, auth string) (any, error) {
			t, err := p.ParseWithClaims(auth, &jwt.RegisteredClaims{}, keyFunc)
			if err != nil {
				return nil, err
			}
			return t, nil
		},
	}.ToMiddleware()
	if err != nil {
		tb.Fatal(err)
	}
	e := echo.New()
	e.GET(keybench.Route, func(c echo.Context) error {
		if t, ok := c.Get("user").(*jwt.Token); ok {
			*sub, _ = t.Claims.GetSubject()
		}
		return nil
	}, mw)
	return e
}

// buildGinJWTKey uses gin-jwt's own RSA settings for RS256, PEM bytes of
// both halves of the key (it reads the private key even to verify), and
// for the algorithms its settings do not cover a KeyFunc, which gin-jwt
// documents as bypassing them, checking the token's alg as its own key
// function does.
func buildGinJWTKey(tb testing.TB, f *keybench.Fixture, sub *string) http.Handler {
	mw := &ginjwt.GinJWTMiddleware{
		Realm:            "api",
		SigningAlgorithm: f.Alg,
		IdentityKey:      "sub",
		Authorizator: func(_ any, c *gin.Context) bool {
			claims := ginjwt.ExtractClaims(c)
			return claims["iss"] == keybench.Issuer && audienceHas(claims["aud"], keybench.Audience)
		},
	}
	if f.Alg == "RS256" {
		mw.PrivKeyBytes, mw.PubKeyBytes = pemKeys(tb, f)
	} else {
		alg, pub := f.Alg, f.Public
		mw.KeyFunc = func(t *jwtv4.Token) (any, error) {
			if t.Method.Alg() != alg {
				return nil, ginjwt.ErrInvalidSigningAlgorithm
			}
			return pub, nil
		}
	}
	if _, err := ginjwt.New(mw); err != nil {
		tb.Fatal(err)
	}
	r := gin.New()
	r.GET(keybench.Route, mw.MiddlewareFunc(), func(c *gin.Context) {
		if s, ok := c.Get("sub"); ok {
			*sub, _ = s.(string)
		}
	})
	return r
}

// pemKeys returns f's private key (PKCS #8) and public key (PKIX) as PEM.
func pemKeys(tb testing.TB, f *keybench.Fixture) (priv, pub []byte) {
	tb.Helper()
	p8, err := x509.MarshalPKCS8PrivateKey(f.Private)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), publicPEM(tb, f)
}

func publicPEM(tb testing.TB, f *keybench.Fixture) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(f.Public)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// fixtures returns keybench's fixtures or stops tb.
func fixtures(tb testing.TB) []*keybench.Fixture {
	tb.Helper()
	fs, err := keybench.Fixtures()
	if err != nil {
		tb.Fatal(err)
	}
	return fs
}

// issueWith returns a token for the benchmarks' user signed by key, with
// the issuer and audience changed by opts.
func issueWith(tb testing.TB, key jwtguard.Key, opts ...jwtguard.Option) string {
	tb.Helper()
	a, err := keybench.NewAuth(key, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := keybench.Issue(a)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// keySanityCases are the requests every keyVariant must answer alike for
// f: the good token; a missing and a tampered one; one signed by another
// key of the same algorithm under f's kid; correctly signed ones from
// another issuer, for another audience, and expired; HS256 with f's public
// key (PEM) as the secret under f's kid (the RSA/HMAC confusion); for RSA,
// f's key with the other padding (PS256 for RS256, RS256 for PS256).
func keySanityCases(tb testing.TB, f *keybench.Fixture) []sanityCase {
	tb.Helper()
	kid := f.Key.ID()
	otherPriv, err := keybench.GenerateKey(f.Alg)
	if err != nil {
		tb.Fatal(err)
	}
	other, err := jwtguard.PrivateKey(f.Alg, otherPriv)
	if err != nil {
		tb.Fatal(err)
	}
	confusion, err := jwtguard.HMACKey("HS256", publicPEM(tb, f))
	if err != nil {
		tb.Fatal(err)
	}
	past := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	cases := []sanityCase{
		{name: "good", token: f.Token, accept: true},
		{name: "missing", token: ""},
		{name: "tampered", token: tamper(tb, f.Token)},
		{name: "other-key", token: issueWith(tb, other.WithID(kid))},
		{name: "wrong-issuer", token: issueWith(tb, f.Key, jwtguard.WithIssuer("https://evil.example.com")), issuer: true},
		{name: "wrong-audience", token: issueWith(tb, f.Key, jwtguard.WithAudience("billing-api"))},
		{name: "expired", token: issueWith(tb, f.Key, jwtguard.WithClock(past))},
		{name: "hs256-public-key", token: issueWith(tb, confusion.WithID(kid))},
	}
	if rsaKey, ok := f.Private.(*rsa.PrivateKey); ok {
		alg := map[string]string{"RS256": "PS256", "PS256": "RS256"}[f.Alg]
		k, err := jwtguard.PrivateKey(alg, rsaKey)
		if err != nil {
			tb.Fatal(err)
		}
		cases = append(cases, sanityCase{name: "other-padding-" + alg, token: issueWith(tb, k.WithID(kid))})
	}
	return cases
}

// TestKeysToken: the benchmarks' tokens are jwtguard's, with the kid of
// the key and the alg of the fixture.
func TestKeysToken(t *testing.T) {
	for _, f := range fixtures(t) {
		seg, _, _ := strings.Cut(f.Token, ".")
		raw, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Alg, Kid, Typ string }
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatal(err)
		}
		if h.Alg != f.Alg || h.Kid == "" || h.Kid != f.Key.ID() {
			t.Errorf("%s: header %s; want alg %s and kid %q", f.Alg, raw, f.Alg, f.Key.ID())
		}
		t.Logf("%s: %d bytes, header %s", f.Alg, len(f.Token), raw)
	}
}

// TestKeysSanity: for each algorithm, every keyVariant accepts the good
// token and refuses every other case of keySanityCases before its figures
// mean anything; gin-jwt's iss and aud refusals are 403s.
func TestKeysSanity(t *testing.T) {
	for _, f := range fixtures(t) {
		cases := keySanityCases(t, f)
		for _, v := range keyVariants {
			t.Run(f.Alg+"/"+v.name, func(t *testing.T) {
				var sub string
				h := v.build(t, f, &sub)
				for _, c := range cases {
					sub = ""
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, request(c.token))
					accepted := rec.Code == http.StatusOK && sub == keybench.Subject
					refused := rec.Code >= 400 && sub == ""
					switch {
					case c.accept && !accepted:
						t.Errorf("%s: status %d, subject %q; want 200 and %q", c.name, rec.Code, sub, keybench.Subject)
					case !c.accept && !refused:
						t.Errorf("%s: status %d, subject %q; want refused", c.name, rec.Code, sub)
					case !c.accept:
						t.Logf("%s: refused with %d", c.name, rec.Code)
					}
				}
			})
		}
	}
}

// TestKeysJWTGuardRefusals: jwtguard's Authenticate, which the floor
// ratio measures, accepts and refuses as its Verify does.
func TestKeysJWTGuardRefusals(t *testing.T) {
	for _, f := range fixtures(t) {
		for _, c := range keySanityCases(t, f) {
			cl, err := f.Auth.Authenticate(request(c.token))
			switch {
			case c.accept && (err != nil || cl.Subject != keybench.Subject):
				t.Errorf("%s %s: %v; want accepted", f.Alg, c.name, err)
			case !c.accept && err == nil:
				t.Errorf("%s %s: accepted", f.Alg, c.name)
			case c.name == "missing" && !errors.Is(err, jwtguard.ErrNoToken):
				t.Errorf("%s %s: %v; want ErrNoToken", f.Alg, c.name, err)
			}
		}
	}
}

// TestKeysCryptoFloor: the floor accepts the good token and refuses the
// tampered, other-key, HS256 and other-padding ones; it reads no claims,
// so it takes a correctly signed token from another issuer or an expired
// one.
func TestKeysCryptoFloor(t *testing.T) {
	for _, f := range fixtures(t) {
		for _, c := range keySanityCases(t, f) {
			ok := f.Floor(c.token)
			switch {
			case c.accept && !ok:
				t.Errorf("%s %s: refused", f.Alg, c.name)
			case c.name == "missing", c.name == "tampered", c.name == "other-key", c.name == "hs256-public-key", strings.HasPrefix(c.name, "other-padding"):
				if ok {
					t.Errorf("%s %s: accepted", f.Alg, c.name)
				}
			case !c.accept:
				t.Logf("%s %s: accepted %v: the floor checks the signature only", f.Alg, c.name, ok)
			}
		}
	}
}

// BenchmarkCryptoFloor measures, for each algorithm, the crypto floor of
// its token (keybench.Fixture.Floor): the base64url decoding of the
// signature, the hash of the signing input and the standard library's
// signature check.
func BenchmarkCryptoFloor(b *testing.B) {
	for _, f := range fixtures(b) {
		b.Run(f.Alg, f.BenchmarkFloor)
	}
}

// BenchmarkJWTGuard measures, for each algorithm, jwtguard's verification
// of the same token as a request carries it: Authenticate (the check
// alone) and Verify (the middleware, claims into the context).
// bench/cmd/floorratio runs these and BenchmarkCryptoFloor interleaved
// and reports their ratios.
func BenchmarkJWTGuard(b *testing.B) {
	for _, f := range fixtures(b) {
		b.Run(f.Alg+"/Authenticate", f.BenchmarkAuthenticate)
		b.Run(f.Alg+"/Verify", f.BenchmarkVerify)
	}
}

// BenchmarkAsymmetricPeers is BenchmarkPeers for each asymmetric
// algorithm: one accepted request through each keyVariant, then the
// crypto floor, on the same token.
func BenchmarkAsymmetricPeers(b *testing.B) {
	for _, f := range fixtures(b) {
		for _, v := range keyVariants {
			b.Run(f.Alg+"/"+v.name, func(b *testing.B) {
				var sub string
				h := v.build(b, f, &sub)
				req := request(f.Token)
				w := keybench.NewDiscard()
				b.ReportAllocs()
				for b.Loop() {
					sub = ""
					w.Reset()
					h.ServeHTTP(w, req)
					if sub != keybench.Subject {
						b.Fatalf("refused: status %d", w.Code)
					}
				}
			})
		}
		b.Run(f.Alg+"/crypto-floor", f.BenchmarkFloor)
	}
}

// headerFill is how many distinct header segments headerDecoded shows the
// verifier before the measured token: more than the verifier's bound on
// the headers it keeps (maxKnownHeaders, 64, internal/token/verify.go),
// so that the measured token's header is decoded every time.
const headerFill = 128

// headerDecoded returns an Auth for f.Key whose cache of known headers
// is full, and a token with f.Token's claims, signed by f's key under its
// kid, whose header (with a "nonce" member beside alg, kid and typ) it has
// never seen: a token whose header Verify decodes and checks in full on
// every request, as it does an issuer's first token.
func headerDecoded(tb testing.TB, f *keybench.Fixture) (*jwtguard.Auth, string) {
	tb.Helper()
	a, err := keybench.NewAuth(f.Key)
	if err != nil {
		tb.Fatal(err)
	}
	seg := strings.Split(f.Token, ".")[1]
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatal(err)
	}
	var claims jwt.MapClaims
	if err := json.Unmarshal(raw, &claims); err != nil {
		tb.Fatal(err)
	}
	sign := func(nonce string) string {
		t := jwt.NewWithClaims(jwt.GetSigningMethod(f.Alg), claims)
		t.Header["kid"] = f.Key.ID()
		t.Header["nonce"] = nonce
		s, err := t.SignedString(f.Private)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	for i := range headerFill {
		if _, err := a.Authenticate(request(sign(strconv.Itoa(i)))); err != nil {
			tb.Fatal(err)
		}
	}
	return a, sign("measured")
}

// BenchmarkJWTGuardHeaderDecoded is BenchmarkJWTGuard's Authenticate
// with the header decoded on every request (headerDecoded), beside the
// floor of the same token.
func BenchmarkJWTGuardHeaderDecoded(b *testing.B) {
	for _, f := range fixtures(b) {
		a, tok := headerDecoded(b, f)
		b.Run(f.Alg+"/floor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !f.Floor(tok) {
					b.Fatal("refused")
				}
			}
		})
		b.Run(f.Alg+"/Authenticate", func(b *testing.B) {
			req := request(tok)
			b.ReportAllocs()
			for b.Loop() {
				if c, err := a.Authenticate(req); err != nil || c.Subject != keybench.Subject {
					b.Fatalf("refused: %v", err)
				}
			}
		})
	}
}

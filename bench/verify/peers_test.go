package verify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	ginjwt "github.com/appleboy/gin-jwt/v2"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/jwtauth/v5"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/jwtguard/jwtguard"
)

// A variant is one way of protecting the route: a library configured to
// check what jwtguard checks, as far as it can.
type variant struct {
	name string
	// checks says what the configured variant checks, for the test log.
	checks string
	// issuerChecked is false for a variant that cannot be configured to
	// refuse a correctly signed token from another issuer.
	issuerChecked bool
	// build returns the protected route: a handler that, when it lets the
	// request through, stores the subject it read from the library's own
	// context in *sub.
	build func(tb testing.TB, sub *string) http.Handler
}

// variants are the peers in the order of the table, bare handlers last.
// The crypto floor is not a handler: see cryptoFloor.
var variants = []variant{
	{
		name:          "jwtguard",
		checks:        "HS256 pinned, signature, exp required, iss, aud, strict JSON, size bound",
		issuerChecked: true,
		build:         buildJWTGuard,
	},
	{
		name:          "golang-jwt",
		checks:        "HS256 pinned (WithValidMethods), signature, exp required, iss, aud; a hand-written Bearer middleware around ParseWithClaims",
		issuerChecked: true,
		build:         buildGolangJWT,
	},
	{
		name:          "auth0-v2",
		checks:        "HS256 pinned, signature, iss, aud, exp and nbf when present (exp not required); no token answers 400",
		issuerChecked: true,
		build:         buildAuth0,
	},
	{
		name:          "jwtauth",
		checks:        "HS256 (the key's alg), signature, iss and aud (jwx WithIssuer/WithAudience), exp required (WithRequiredClaim), exp/nbf/iat against the clock",
		issuerChecked: true,
		build:         buildJWTAuth,
	},
	{
		name:          "echo-jwt",
		checks:        "with a ParseTokenFunc of golang-jwt options: HS256 pinned, signature, exp required, iss, aud (the default ParseTokenFunc checks neither iss nor aud, nor requires exp)",
		issuerChecked: true,
		build:         buildEchoJWT,
	},
	{
		name:          "echo-bare",
		checks:        "nothing: the echo router and a handler, to subtract from echo-jwt",
		issuerChecked: false,
		build:         buildEchoBare,
	},
	{
		name:          "gin-jwt",
		checks:        "HS256 pinned, signature, exp required, iat/nbf when present (golang-jwt v4); iss and aud only through an Authorizator (403, not 401): gin-jwt has no option for them",
		issuerChecked: true,
		build:         buildGinJWT,
	},
	{
		name:          "gin-bare",
		checks:        "nothing: the gin router and a handler, to subtract from gin-jwt",
		issuerChecked: false,
		build:         buildGinBare,
	},
	{
		name:          "bare",
		checks:        "nothing: a net/http handler, the baseline",
		issuerChecked: false,
		build:         buildBare,
	},
}

// baseline reports whether v protects nothing: a bare handler to subtract.
func (v variant) baseline() bool { return strings.HasSuffix(v.name, "bare") }

func buildJWTGuard(tb testing.TB, sub *string) http.Handler {
	key, err := jwtguard.HMACKey("HS256", secret)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := jwtguard.New(key, jwtguard.WithIssuer(issuer), jwtguard.WithAudience(audience),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	return a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtguard.FromContext(r.Context()); ok {
			*sub = c.Subject
		}
	}))
}

// gjClaimsKey is the context key of the golang-jwt middleware.
type gjClaimsKey struct{}

// buildGolangJWT is the middleware a service writes on golang-jwt alone:
// the Bearer token of the Authorization header through one Parser, the
// registered claims into the context.
func buildGolangJWT(tb testing.TB, sub *string) http.Handler {
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer), jwt.WithAudience(audience))
	keyFunc := func(*jwt.Token) (any, error) { return secret, nil }
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

// buildAuth0 uses auth0/go-jwt-middleware v2 (v3 is not on the module
// proxy) with its validator, which requires an issuer and an audience.
func buildAuth0(tb testing.TB, sub *string) http.Handler {
	v, err := validator.New(func(context.Context) (any, error) { return secret, nil },
		validator.HS256, issuer, []string{audience})
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

// buildJWTAuth uses go-chi/jwtauth v5: Verifier (header, then cookie) and
// Authenticator, with jwx validate options for iss, aud and a required exp.
// It checks the signature with the key's algorithm only (jwx refuses a
// token whose alg differs), exp/nbf/iat against the clock with no skew;
// it does not bound the token's size, and its Authenticator answers with
// the error's text.
func buildJWTAuth(tb testing.TB, sub *string) http.Handler {
	ja := jwtauth.New("HS256", secret, nil,
		jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(audience), jwxjwt.WithRequiredClaim("exp"))
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t, _, err := jwtauth.FromContext(r.Context()); err == nil && t != nil {
			*sub = t.Subject()
		}
	})
	return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(next))
}

// buildEchoJWT uses labstack/echo-jwt v4. Its default token parser takes
// SigningKey and SigningMethod but no parser options, so it checks neither
// iss nor aud and does not require exp; a ParseTokenFunc with golang-jwt's
// options is how its README adds checks, and what this does.
func buildEchoJWT(tb testing.TB, sub *string) http.Handler {
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer), jwt.WithAudience(audience))
	keyFunc := func(*jwt.Token) (any, error) { return secret, nil }
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
	e.GET(route, func(c echo.Context) error {
		if t, ok := c.Get("user").(*jwt.Token); ok {
			*sub, _ = t.Claims.GetSubject()
		}
		return nil
	}, mw)
	return e
}

// buildEchoBare is echo-jwt's route without the middleware.
func buildEchoBare(tb testing.TB, sub *string) http.Handler {
	e := echo.New()
	e.GET(route, func(c echo.Context) error {
		*sub = subject
		return nil
	})
	return e
}

func init() { gin.SetMode(gin.ReleaseMode) }

// buildGinJWT uses appleboy/gin-jwt v2 (there is no v3 on the module
// proxy). It parses with golang-jwt v4 and passes ParseOptions only to a
// custom KeyFunc; v4 has no issuer or audience parser options anyway, so
// iss and aud are checked in the Authorizator, which runs after the
// signature and exp checks and refuses with 403 rather than 401.
func buildGinJWT(tb testing.TB, sub *string) http.Handler {
	mw, err := ginjwt.New(&ginjwt.GinJWTMiddleware{
		Realm:            "api",
		SigningAlgorithm: "HS256",
		Key:              secret,
		IdentityKey:      "sub",
		Authorizator: func(_ any, c *gin.Context) bool {
			claims := ginjwt.ExtractClaims(c)
			return claims["iss"] == issuer && audienceHas(claims["aud"], audience)
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	r := gin.New()
	r.GET(route, mw.MiddlewareFunc(), func(c *gin.Context) {
		if s, ok := c.Get("sub"); ok {
			*sub, _ = s.(string)
		}
	})
	return r
}

// audienceHas reports whether a decoded aud claim, a string or an array,
// names aud.
func audienceHas(claim any, aud string) bool {
	switch v := claim.(type) {
	case string:
		return v == aud
	case []any:
		return slices.Contains(v, any(aud))
	}
	return false
}

// buildGinBare is gin-jwt's route without the middleware.
func buildGinBare(tb testing.TB, sub *string) http.Handler {
	r := gin.New()
	r.GET(route, func(c *gin.Context) { *sub = subject })
	return r
}

// buildBare is a net/http handler with no authentication at all.
func buildBare(tb testing.TB, sub *string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { *sub = subject })
}

// cryptoFloor is the least any HS256 verifier must do: base64url-decode the
// signature segment, HMAC-SHA256 the signing input with a new HMAC, and
// compare in constant time. It decodes no header or claims, so it checks
// neither alg nor exp, iss or aud.
func cryptoFloor(tok string, key []byte) bool {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 || !strings.Contains(tok[:i], ".") {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tok[:i]))
	return hmac.Equal(m.Sum(nil), sig)
}

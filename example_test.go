package jwtguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard"
)

// exampleKey stands for a key made from a secret read from the environment
// or a vault.
var exampleKey, _ = jwtguard.HMACKey("HS256", []byte("an-example-secret-of-32-bytes-or-more!"))

// A server with the routes of the Next.js tutorials: a login, a route for
// any signed-in user and one for admins.
func Example() {
	key, err := jwtguard.HMACKey("HS256", []byte("an-example-secret-of-32-bytes-or-more!")) // or jwtguard.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtguard.New(key)
	if err != nil {
		log.Fatal(err)
	}
	hash, _ := jwtguard.HashPassword("password123")
	users, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "admin", PasswordHash: hash, Roles: []string{"admin"}})

	mux := http.NewServeMux()
	mux.Handle("POST /api/auth/login", auth.LoginHandler(users))
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context()) // always there behind Verify
		fmt.Fprintf(w, "hello %s", claims.Username)
	})))
	mux.Handle("GET /api/admin-data", auth.Verify(auth.Authorize("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "admin data")
	}))))
	// http.ListenAndServe("127.0.0.1:8080", mux); here, requests in process:

	login := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"username":"admin","password":"password123"}`))
	login.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, login)
	var tr jwtguard.TokenResponse
	json.Unmarshal(rec.Body.Bytes(), &tr)

	for _, path := range []string{"/api/user/profile", "/api/admin-data"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body)
	}
	// Output:
	// 200 hello admin
	// 200 admin data
}

func ExampleNew() {
	_, err := jwtguard.HMACKey("HS256", []byte("too short"))
	fmt.Println(err)

	secret := []byte("an-example-secret-of-32-bytes-or-more!") // os.Getenv("JWT_SECRET")
	key, err := jwtguard.HMACKey("HS256", secret)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtguard.New(key, jwtguard.WithIssuer("https://auth.example.com"))
	fmt.Println(auth != nil, err)
	// Output:
	// jwtguard: the secret is 9 bytes; HS256 needs at least 32 bytes of random data (try: openssl rand -base64 48)
	// true <nil>
}

func ExampleAuth_Verify() {
	auth, _ := jwtguard.New(exampleKey)
	profile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s (%s)", claims.Username, claims.Subject)
	})
	h := auth.Verify(profile)

	tok, _ := auth.Issue(context.Background(), jwtguard.User{ID: "42", Username: "alice"})
	req := httptest.NewRequest("GET", "/api/user/profile", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/user/profile", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 hello alice (42)
	// 401 Bearer realm="api"
}

func ExampleAuth_Authorize() {
	auth, _ := jwtguard.New(exampleKey, jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	adminData := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret admin data")
	})
	h := auth.Verify(auth.Authorize("admin")(adminData))

	for _, u := range []jwtguard.User{
		{ID: "1", Username: "root", Roles: []string{"admin"}},
		{ID: "2", Username: "alice", Roles: []string{"user"}},
	} {
		tok, _ := auth.Issue(context.Background(), u)
		req := httptest.NewRequest("GET", "/api/admin-data", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%s %d %q\n", u.Username, rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	// Output:
	// root 200 ""
	// alice 403 "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"the access token does not grant access to this resource\""
}

func ExampleAuth_Require() {
	auth, _ := jwtguard.New(exampleKey)
	canPublish := jwtguard.AnyOf(jwtguard.AnyRole("editor"), jwtguard.Scopes("articles:write"))
	publish := auth.Verify(auth.Require(canPublish)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "published")
	})))

	tok, _ := auth.Issue(context.Background(), jwtguard.User{ID: "7", Roles: []string{"editor"}})
	req := httptest.NewRequest("POST", "/articles", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	publish.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)
	// Output: 200 published
}

func ExampleAuth_LoginHandler() {
	auth, _ := jwtguard.New(exampleKey, jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	hash, _ := jwtguard.HashPassword("password123")
	users, _ := jwtguard.NewMemoryStore(jwtguard.User{
		ID: "1", Username: "admin", PasswordHash: hash, Roles: []string{"admin"},
	})
	login := auth.LoginHandler(users)

	for _, body := range []string{
		`{"username":"admin","password":"password123"}`,
		`{"username":"admin","password":"guess"}`,
	} {
		req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		login.ServeHTTP(rec, req)
		var resp map[string]any
		json.Unmarshal(rec.Body.Bytes(), &resp)
		fmt.Println(rec.Code, resp["token_type"], resp["expires_in"], resp["error"])
	}
	// Output:
	// 200 Bearer 900 <nil>
	// 401 <nil> <nil> invalid_credentials
}

// A handler behind Verify can be tested without tokens: put claims in the
// request's context with NewContext.
// FromContext reads the claims Verify put in the request context; check
// its second result, which is false on a route that Verify does not guard.
func ExampleFromContext() {
	auth, _ := jwtguard.New(exampleKey)
	whoami := func(w http.ResponseWriter, r *http.Request) {
		claims, ok := jwtguard.FromContext(r.Context())
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s %v", claims.Subject, claims.Roles)
	}
	tok, _ := auth.Issue(context.Background(), jwtguard.User{ID: "7", Roles: []string{"editor"}})
	for _, h := range []http.Handler{auth.Verify(http.HandlerFunc(whoami)), http.HandlerFunc(whoami)} {
		req := httptest.NewRequest("GET", "/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 7 [editor]
	// 401 not signed in
}

// VerifyOptional serves anonymous requests too: without a token the handler
// runs without claims; a bad token is still refused.
func ExampleAuth_VerifyOptional() {
	auth, _ := jwtguard.New(exampleKey, jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	home := auth.VerifyOptional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := jwtguard.FromContext(r.Context()); ok {
			fmt.Fprintf(w, "welcome back, %s", claims.Username)
			return
		}
		fmt.Fprint(w, "welcome, guest")
	}))
	tok, _ := auth.Issue(context.Background(), jwtguard.User{ID: "1", Username: "alice"})
	for _, authz := range []string{"", "Bearer " + tok.AccessToken, "Bearer not.a.token"} {
		req := httptest.NewRequest("GET", "/", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		home.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body)
	}
	// Output:
	// 200 welcome, guest
	// 200 welcome back, alice
	// 401 {"error":"invalid_token","reason":"token_invalid","message":"the access token is invalid"}
}

// Issue signs a token for a user the caller has authenticated its own way
// (single sign-on, a magic link); the response is what LoginHandler sends.
func ExampleAuth_Issue() {
	auth, _ := jwtguard.New(exampleKey, jwtguard.WithTokenLifetime(time.Hour))
	tr, err := auth.Issue(context.Background(), jwtguard.User{ID: "42", Username: "alice", Roles: []string{"user"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tr.TokenType, tr.ExpiresIn, strings.Count(tr.AccessToken, "."))

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	claims, err := auth.Authenticate(req)
	fmt.Println(claims.Subject, claims.Username, claims.Roles, err)
	// Output:
	// Bearer 3600 2
	// 42 alice [user] <nil>
}

func ExampleNewContext() {
	profile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := jwtguard.FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "roles: %v", claims.Roles)
	})
	req := httptest.NewRequest("GET", "/api/user/profile", nil)
	req = req.WithContext(jwtguard.NewContext(req.Context(), &jwtguard.Claims{Subject: "1", Roles: []string{"user"}}))
	rec := httptest.NewRecorder()
	profile.ServeHTTP(rec, req)
	fmt.Println(rec.Body)
	// Output: roles: [user]
}

// FromEnv reads JWT_SECRET and JWT_EXPIRES_IN as the Node tutorials set
// them; an error names the variable at fault.
func ExampleFromEnv() {
	// Set by your deployment; here for the example.
	os.Setenv("JWT_SECRET", "an-example-secret-of-32-bytes-or-more!")
	os.Setenv("JWT_EXPIRES_IN", "2 hours")
	defer os.Unsetenv("JWT_SECRET")
	defer os.Unsetenv("JWT_EXPIRES_IN")

	auth, err := jwtguard.FromEnv()
	if err != nil {
		log.Fatal(err)
	}
	tr, _ := auth.Issue(context.Background(), jwtguard.User{ID: "1"})
	fmt.Println(tr.ExpiresIn)

	os.Setenv("JWT_EXPIRES_IN", "2 hourz")
	_, err = jwtguard.FromEnv()
	fmt.Println(err)
	// Output:
	// 7200
	// jwtguard: JWT_EXPIRES_IN: lifetime "2 hourz": unknown unit "hourz"; did you mean "2 hours"?
}

// A custom ErrorHandler can change the body and still delegate the rest to
// the default, WriteError.
func ExampleWithErrorHandler() {
	auth, _ := jwtguard.New(exampleKey,
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Header.Get("Accept") == "text/html" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			jwtguard.WriteError(w, r, err)
		}))
	h := auth.Verify(http.NotFoundHandler())

	req := httptest.NewRequest("GET", "/dashboard", nil)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Location"))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/data", nil))
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// 303 /login
	// 401 {"error":"unauthorized","reason":"no_token","message":"authentication required"}
}

// Authenticate is the check behind Verify, for code that is not middleware;
// WriteError answers its error exactly as Verify would, challenge included.
func ExampleAuth_Authenticate() {
	auth, _ := jwtguard.New(exampleKey, jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := auth.Authenticate(r)
		if err != nil {
			jwtguard.WriteError(w, r, err)
			return
		}
		fmt.Fprintln(w, "hello", claims.Subject)
	})

	tr, _ := auth.Issue(context.Background(), jwtguard.User{ID: "42"})
	req := httptest.NewRequest("GET", "/ws", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Print(rec.Body)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ws", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// hello 42
	// 401 Bearer realm="api"
}

// Stats counts refusals by reason and what the login handlers did with
// password comparisons; publish them wherever your metrics go (expvar here,
// which serves them as JSON at /debug/vars).
func ExampleAuth_Stats() {
	auth, _ := jwtguard.New(exampleKey, jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	expvar.Publish("jwtguard", expvar.Func(func() any { return auth.Stats() }))

	hash, _ := jwtguard.HashPassword("password123")
	users, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "admin", PasswordHash: hash})
	login := auth.LoginHandler(users)
	for _, pw := range []string{"password123", "wrong"} {
		req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"username":"admin","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		login.ServeHTTP(httptest.NewRecorder(), req)
	}
	auth.Verify(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	var st jwtguard.Stats
	json.Unmarshal([]byte(expvar.Get("jwtguard").String()), &st)
	fmt.Println("logins compared:", st.LoginsAdmitted, "budget on:", st.PasswordBudget > 0)
	fmt.Println("refused: no token", st.Refusals["no_token"], "credentials", st.Refusals["invalid_credentials"], "expired", st.Refusals["expired"])
	// Output:
	// logins compared: 2 budget on: true
	// refused: no token 1 credentials 1 expired 0
}

// With a session store, a login answers a refresh token too. A refresh
// trades it for a new pair; presenting the spent token again is reuse,
// which revokes the session, so the pair the refresh issued stops working
// too.
func ExampleAuth_RefreshHandler() {
	auth, _ := jwtguard.New(exampleKey,
		jwtguard.WithSessions(jwtguard.NewMemorySessionStore()),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	hash, _ := jwtguard.HashPassword("password123")
	users, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "admin", PasswordHash: hash})
	post := func(h http.Handler, body string) (int, jwtguard.TokenResponse) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var tr jwtguard.TokenResponse
		json.Unmarshal(rec.Body.Bytes(), &tr)
		return rec.Code, tr
	}
	refresh := auth.RefreshHandler(users)

	_, first := post(auth.LoginHandler(users), `{"username":"admin","password":"password123"}`)
	code, second := post(refresh, `{"refresh_token":"`+first.RefreshToken+`"}`)
	fmt.Println("refresh:", code, second.RefreshToken != first.RefreshToken)
	code, _ = post(refresh, `{"refresh_token":"`+first.RefreshToken+`"}`)
	fmt.Println("the spent token again:", code)
	code, _ = post(refresh, `{"refresh_token":"`+second.RefreshToken+`"}`)
	fmt.Println("the newest token after that:", code)
	// Output:
	// refresh: 200 true
	// the spent token again: 400
	// the newest token after that: 400
}

// A logout with the access token ends its session: the session's refresh
// token and access tokens are refused from then on.
func ExampleAuth_LogoutHandler() {
	auth, _ := jwtguard.New(exampleKey,
		jwtguard.WithSessions(jwtguard.NewMemorySessionStore()),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	hash, _ := jwtguard.HashPassword("password123")
	users, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "admin", PasswordHash: hash})
	req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"username":"admin","password":"password123"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	auth.LoginHandler(users).ServeHTTP(rec, req)
	var tr jwtguard.TokenResponse
	json.Unmarshal(rec.Body.Bytes(), &tr)

	profile := auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, h := range []http.Handler{profile, auth.LogoutHandler(), profile} {
		req := httptest.NewRequest("POST", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 200
	// 204
	// 401
}

// RegisterHandler adds accounts to a UserWriter under the password policy
// of RegisterPolicy; the new user then logs in.
func ExampleAuth_RegisterHandler() {
	auth, _ := jwtguard.New(exampleKey, jwtguard.WithLogger(slog.New(slog.DiscardHandler)))
	users, _ := jwtguard.NewMemoryStore()
	register := auth.RegisterHandler(users)
	for _, body := range []string{
		`{"username":"carol","password":"correct horse battery staple"}`,
		`{"username":"Carol","password":"another long passphrase"}`,
		`{"username":"dave","password":"password123"}`,
	} {
		req := httptest.NewRequest("POST", "/api/auth/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		register.ServeHTTP(rec, req)
		var resp map[string]any
		json.Unmarshal(rec.Body.Bytes(), &resp)
		fmt.Println(rec.Code, resp["username"], resp["reason"])
	}
	// Output:
	// 201 carol <nil>
	// 409 <nil> username_taken
	// 400 <nil> password_too_short
}

// A key set rotated while the Auth serves: a token of the old key verifies
// until the key is removed, and new tokens carry the new key's kid.
func ExampleKeySet() {
	oldKey, _ := jwtguard.GenerateKey("EdDSA")
	keys, _ := jwtguard.NewKeySet(oldKey)
	auth, _ := jwtguard.New(keys)
	check := func(tok string) error {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		_, err := auth.Authenticate(r)
		return err
	}
	before, _ := auth.Issue(context.Background(), jwtguard.User{ID: "1"})

	newKey, _ := jwtguard.GenerateKey("ES256")
	keys.Add(newKey)           // published in the JWKS; verifies, does not sign
	keys.Activate(newKey.ID()) // after the consumers' JWKS cache age
	after, _ := auth.Issue(context.Background(), jwtguard.User{ID: "1"})
	fmt.Println("old token:", check(before.AccessToken))
	fmt.Println("new token:", check(after.AccessToken))

	keys.Remove(oldKey.ID()) // after the longest token lifetime
	fmt.Println("old token after Remove:", errors.Is(check(before.AccessToken), jwtguard.ErrInvalidToken))
	// Output:
	// old token: <nil>
	// new token: <nil>
	// old token after Remove: true
}

// A verifying service given the issuer's public key as a JWK, as a JWKS
// has it: it checks the issuer's tokens and cannot issue any.
func ExampleParseJWK() {
	issuerKey, _ := jwtguard.GenerateKey("RS256")
	issuer, _ := jwtguard.New(issuerKey)
	tok, _ := issuer.Issue(context.Background(), jwtguard.User{ID: "42"})

	public, _ := json.Marshal(issuerKey) // its public JWK, as the JWKS has it
	verifyOnly, err := jwtguard.ParseJWK(public, "")
	if err != nil {
		log.Fatal(err)
	}
	auth, _ := jwtguard.New(verifyOnly)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	c, err := auth.Authenticate(r)
	fmt.Println(c.Subject, err, verifyOnly.CanSign())
	_, err = auth.Issue(context.Background(), jwtguard.User{ID: "42"})
	fmt.Println(errors.Is(err, jwtguard.ErrInternal))
	// Output:
	// 42 <nil> false
	// true
}

// A key made once and kept in a file, so that restarts and every replica
// sign with it: MarshalPEM writes what ParseKeyPEM, and
// JWT_PRIVATE_KEY_FILE, read back.
func ExampleKey_MarshalPEM() {
	dir, _ := os.MkdirTemp("", "keys")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jwt-key.pem")

	key, _ := jwtguard.GenerateKey("EdDSA")
	pemData, _ := key.MarshalPEM()
	if err := os.WriteFile(path, pemData, 0o600); err != nil { // owner only
		log.Fatal(err)
	}

	data, _ := os.ReadFile(path)
	again, err := jwtguard.ParseKeyPEM("", data)
	fmt.Println(err, again.ID() == key.ID(), again.CanSign())
	public, _ := key.Public().MarshalPEM() // for JWT_PUBLIC_KEY_FILE
	fmt.Println(strings.SplitN(string(public), "\n", 2)[0])
	// Output:
	// <nil> true true
	// -----BEGIN PUBLIC KEY-----
}

// An API that verifies RS256 tokens keeps those it has verified: a token
// sent again skips its signature check, and is still refused as soon as
// it expires, its key is removed, or (with WithSessions) it is revoked.
func ExampleWithVerifiedTokenCache() {
	issuerKey, _ := jwtguard.GenerateKey("RS256")
	issuer, _ := jwtguard.New(issuerKey)
	tok, _ := issuer.Issue(context.Background(), jwtguard.User{ID: "42"})

	auth, _ := jwtguard.New(issuerKey.Public(), jwtguard.WithVerifiedTokenCache(16<<20))
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if _, err := auth.Authenticate(r); err != nil {
			log.Fatal(err)
		}
	}
	st := auth.Stats()
	fmt.Println("hits:", st.TokenCacheHits, "misses:", st.TokenCacheMisses, "entries:", st.TokenCacheEntries)
	// Output:
	// hits: 2 misses: 1 entries: 1
}

// ExampleWithDPoP requires DPoP-bound tokens: a request without one is
// told, in its challenge, which proof algorithms are taken. Clients that
// log in with a DPoP proof get bound tokens (README, "Sender-constrained
// tokens: DPoP").
func ExampleWithDPoP() {
	key, err := jwtguard.GenerateKey("ES256")
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtguard.New(key, jwtguard.WithDPoP(jwtguard.DPoPPolicy{
		Mode:        jwtguard.DPoPRequired,
		ExternalURL: "https://api.example.com",
		Algorithms:  []string{"ES256", "EdDSA"},
	}))
	if err != nil {
		log.Fatal(err)
	}
	profile := auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintln(w, "bound to", c.KeyThumbprint)
	}))
	rec := httptest.NewRecorder()
	profile.ServeHTTP(rec, httptest.NewRequest("GET", "/api/user/profile", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 DPoP realm="api", algs="ES256 EdDSA"
}

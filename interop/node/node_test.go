// Package node_test checks jwtguard against the Node libraries its users come
// from: tokens minted by jsonwebtoken must pass Verify and Authorize, tokens
// issued by jwtguard must pass jose and jsonwebtoken, and bcryptjs hashes
// must log in through LoginHandler.
//
// The Node side is three small scripts in this directory (mint.mjs,
// verify.mjs, hash.mjs) with versions pinned in package-lock.json. Each test
// starts node once, with one JSON document on stdin and one on stdout. The
// suite skips where node or npm is missing and runs `npm ci` itself when
// node_modules is absent or older than the lock file.
package node_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

const (
	// secret plays the tutorials' JWT_SECRET, shared by Node and Go.
	secret = "interop-shared-secret-for-tests-0123456789"
	// otherSecret signs tokens that must be refused.
	otherSecret = "another-service-secret-for-tests-9876543210"

	npmTimeout  = 5 * time.Minute
	nodeTimeout = 2 * time.Minute
)

var (
	installOnce sync.Once
	installErr  error
)

// requireNode skips t when node or npm is missing, or fails it under CI
// (CI set), where a skip would let a green run hide that the suite never ran.
// Otherwise it makes sure the pinned packages are installed (once per test
// binary).
func requireNode(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the Node interop suite must run in CI, but %s is not on PATH", tool)
			}
			t.Skipf("skipping the Node interop suite: %s is not on PATH (install Node 20 or later to run it; CI does)", tool)
		}
	}
	installOnce.Do(func() { installErr = installModules() })
	if installErr != nil {
		t.Fatal(installErr)
	}
}

// installModules runs `npm ci` unless node_modules holds what the lock file
// pins. npm writes node_modules/.package-lock.json last, so its absence or
// age tells of a missing, half-done or stale install.
func installModules() error {
	lock, err := os.Stat("package-lock.json")
	if err != nil {
		return err
	}
	if done, err := os.Stat(filepath.Join("node_modules", ".package-lock.json")); err == nil && !done.ModTime().Before(lock.ModTime()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci --no-audit --no-fund in interop/node: %v\n%s", err, out)
	}
	return nil
}

// runNode runs `node script` with in as JSON on stdin and decodes its stdout
// into out.
func runNode(t *testing.T, script string, in, out any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s", script, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("node %s printed something that is not the expected JSON: %v\n%s", script, err, stdout.Bytes())
	}
}

// sentinels name the refusals the tests expect, for the X-Refusal header
// that newAuth's error handler adds.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrNoToken", jwtguard.ErrNoToken},
	{"ErrInvalidRequest", jwtguard.ErrInvalidRequest},
	{"ErrTokenExpired", jwtguard.ErrTokenExpired},
	{"ErrInvalidToken", jwtguard.ErrInvalidToken},
	{"ErrForbidden", jwtguard.ErrForbidden},
	{"ErrInvalidCredentials", jwtguard.ErrInvalidCredentials},
}

// newAuth returns an Auth with the shared secret that logs nowhere and
// answers refusals with the default WriteError plus an X-Refusal header
// naming the sentinel, so tests can tell an expired token from a bad one.
func newAuth(t *testing.T, opts ...jwtguard.Option) *jwtguard.Auth {
	t.Helper()
	record := func(w http.ResponseWriter, r *http.Request, err error) {
		for _, s := range sentinels {
			if errors.Is(err, s.err) {
				w.Header().Set("X-Refusal", s.name)
				break
			}
		}
		jwtguard.WriteError(w, r, err)
	}
	base := []jwtguard.Option{
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithErrorHandler(record),
		// The suite is about formats, not load: under the race detector a
		// cost-10 comparison takes about a second, and the default
		// password budget (10% of the cores) would hold these logins.
		jwtguard.WithLoginPolicy(jwtguard.LoginPolicy{NoBudget: true}),
	}
	key, err := jwtguard.HMACKey("HS256", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := jwtguard.New(key, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// seen is what a protected handler reports of the claims Verify gave it.
type seen struct {
	Subject  string   `json:"subject"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
}

func showClaims(w http.ResponseWriter, r *http.Request) {
	c, ok := jwtguard.FromContext(r.Context())
	if !ok {
		http.Error(w, "no claims", http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(seen{c.Subject, c.Username, c.Roles})
}

// TestJsonwebtokenTokens: tokens that jsonwebtoken signs the tutorials' way
// reach Verify and Authorize("admin"), and the unsafe ones are refused.
func TestJsonwebtokenTokens(t *testing.T) {
	t.Parallel()
	requireNode(t)

	now := time.Now().Unix()
	tutorial := func(id int, role string, extra ...any) map[string]any {
		p := map[string]any{"id": id, "username": "alice", "role": role}
		for i := 0; i+1 < len(extra); i += 2 {
			p[extra[i].(string)] = extra[i+1]
		}
		return p
	}
	emptySecret := ""
	other := otherSecret
	tests := []struct {
		name    string
		payload map[string]any
		options map[string]any
		secret  *string // nil: the shared secret

		profile, admin int    // status behind Verify, and behind Verify+Authorize("admin")
		refusal        string // the sentinel of a 401 refusal
		want           seen   // claims seen behind Verify, when accepted
	}{
		{
			name:    "tutorial payload, admin, expiresIn 1h",
			payload: tutorial(7, "admin"),
			options: map[string]any{"expiresIn": "1h"},
			profile: 200, admin: 200,
			want: seen{"7", "alice", []string{"admin"}},
		},
		{
			name:    "tutorial payload, user role, expiresIn 15m",
			payload: tutorial(8, "user"),
			options: map[string]any{"expiresIn": "15m"},
			profile: 200, admin: 403,
			want: seen{"8", "alice", []string{"user"}},
		},
		{
			name:    "tutorial payload, string id",
			payload: map[string]any{"id": "64f1c2aa", "username": "alice", "role": "admin"},
			options: map[string]any{"expiresIn": 900},
			profile: 200, admin: 200,
			want: seen{"64f1c2aa", "alice", []string{"admin"}},
		},
		{
			name:    "roles array with admin, expiresIn in seconds",
			payload: map[string]any{"sub": "42", "username": "bob", "roles": []string{"editor", "admin"}},
			options: map[string]any{"expiresIn": 3600},
			profile: 200, admin: 200,
			want: seen{"42", "bob", []string{"editor", "admin"}},
		},
		{
			name:    "roles array without admin",
			payload: map[string]any{"sub": "43", "username": "carol", "roles": []string{"user", "editor"}},
			options: map[string]any{"expiresIn": "1h"},
			profile: 200, admin: 403,
			want: seen{"43", "carol", []string{"user", "editor"}},
		},
		{
			name:    "roles array and role string together",
			payload: map[string]any{"sub": "44", "username": "dave", "roles": []string{"editor"}, "role": "admin"},
			options: map[string]any{"expiresIn": "1h"},
			profile: 200, admin: 200,
			want: seen{"44", "dave", []string{"editor", "admin"}},
		},
		{
			name:    "expired: exp set an hour ago",
			payload: tutorial(7, "admin", "iat", now-7200, "exp", now-3600),
			profile: 401, admin: 401, refusal: "ErrTokenExpired",
		},
		{
			name:    "expired: a minute ago, past the leeway",
			payload: tutorial(7, "admin", "iat", now-960, "exp", now-60),
			profile: 401, admin: 401, refusal: "ErrTokenExpired",
		},
		{
			// jsonwebtoken adds expiresIn to the payload's iat, so an iat an
			// hour back (a client clock running late) gives an exp in the past.
			name:    "expired: expiresIn 15m from an iat an hour ago",
			payload: tutorial(7, "admin", "iat", now-3600),
			options: map[string]any{"expiresIn": "15m"},
			profile: 401, admin: 401, refusal: "ErrTokenExpired",
		},
		{
			name:    "signed with another secret",
			payload: tutorial(7, "admin"),
			options: map[string]any{"expiresIn": "1h"},
			secret:  &other,
			profile: 401, admin: 401, refusal: "ErrInvalidToken",
		},
		{
			name:    "HS512 with the shared secret",
			payload: tutorial(7, "admin"),
			options: map[string]any{"expiresIn": "1h", "algorithm": "HS512"},
			profile: 401, admin: 401, refusal: "ErrInvalidToken",
		},
		{
			name:    "alg none",
			payload: tutorial(7, "admin"),
			options: map[string]any{"expiresIn": "1h", "algorithm": "none"},
			secret:  &emptySecret,
			profile: 401, admin: 401, refusal: "ErrInvalidToken",
		},
		{
			// jsonwebtoken writes exp only when asked; jwtguard requires it.
			name:    "no exp (no expiresIn)",
			payload: tutorial(7, "admin"),
			profile: 401, admin: 401, refusal: "ErrInvalidToken",
		},
	}

	type mintSpec struct {
		Name    string         `json:"name"`
		Payload map[string]any `json:"payload"`
		Options map[string]any `json:"options,omitempty"`
		Secret  *string        `json:"secret,omitempty"`
	}
	in := struct {
		Secret string     `json:"secret"`
		Tokens []mintSpec `json:"tokens"`
	}{Secret: secret}
	for _, tt := range tests {
		in.Tokens = append(in.Tokens, mintSpec{tt.name, tt.payload, tt.options, tt.secret})
	}
	var tokens map[string]string
	runNode(t, "mint.mjs", in, &tokens)

	auth := newAuth(t)
	profile := auth.Verify(http.HandlerFunc(showClaims))
	admin := auth.Verify(auth.Authorize("admin")(http.HandlerFunc(showClaims)))

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, ok := tokens[tt.name]
			if !ok {
				t.Fatalf("mint.mjs returned no token named %q", tt.name)
			}
			for _, route := range []struct {
				name   string
				h      http.Handler
				status int
			}{
				{"Verify", profile, tt.profile},
				{"Verify+Authorize(admin)", admin, tt.admin},
			} {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				route.h.ServeHTTP(rec, req)
				res := rec.Result()
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != route.status {
					t.Fatalf("%s: status %d, want %d (refusal %q; body %s)", route.name, res.StatusCode, route.status, res.Header.Get("X-Refusal"), body)
				}
				switch res.StatusCode {
				case http.StatusOK:
					var got seen
					if err := json.Unmarshal(body, &got); err != nil {
						t.Fatalf("%s: %v: %s", route.name, err, body)
					}
					if got.Subject != tt.want.Subject || got.Username != tt.want.Username || !slices.Equal(got.Roles, tt.want.Roles) {
						t.Errorf("%s: claims %+v, want %+v", route.name, got, tt.want)
					}
				case http.StatusUnauthorized:
					checkChallenge(t, route.name, res, "invalid_token")
					if got := res.Header.Get("X-Refusal"); got != tt.refusal {
						t.Errorf("%s: refused with %s, want %s", route.name, got, tt.refusal)
					}
				case http.StatusForbidden:
					checkChallenge(t, route.name, res, "insufficient_scope")
				}
			}
		})
	}
}

func checkChallenge(t *testing.T, route string, res *http.Response, code string) {
	t.Helper()
	if got := res.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="`+code+`"`) {
		t.Errorf("%s: WWW-Authenticate %q, want error=%q", route, got, code)
	}
}

// nodeResult is what one Node verifier made of a token.
type nodeResult struct {
	Header  map[string]any  `json:"header"`
	Payload json.RawMessage `json:"payload"`
	Error   *struct {
		Name, Code, Message string
	} `json:"error"`
}

// issuedClaims are the claims jwtguard puts in an access token.
type issuedClaims struct {
	Sub      string   `json:"sub"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
	Iss      string   `json:"iss"`
	Aud      string   `json:"aud"` // one audience is written as a string
	Iat      int64    `json:"iat"`
	Exp      int64    `json:"exp"`
	Jti      string   `json:"jti"`
}

// TestJwtguardTokensInNode: tokens from LoginHandler and Issue pass jose's
// jwtVerify and jsonwebtoken.verify with the shared secret, pinned to HS256,
// and carry the claims we mean them to; with a wrong secret or audience both
// refuse them.
func TestJwtguardTokensInNode(t *testing.T) {
	t.Parallel()
	requireNode(t)

	const (
		issuer   = "https://auth.example.test"
		audience = "jwtguard-interop"
		lifetime = 10 * time.Minute
		password = "correct horse battery staple"
	)
	configured := newAuth(t, jwtguard.WithIssuer(issuer), jwtguard.WithAudience(audience), jwtguard.WithTokenLifetime(lifetime))
	plain := newAuth(t)

	// A login over HTTP, as a Node front end would make it.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 4)
	if err != nil {
		t.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "7", Username: "alice", PasswordHash: hash, Roles: []string{"admin", "user"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(configured.LoginHandler(store))
	defer srv.Close()
	login := postLogin(t, srv.URL, "alice", password)
	if login.StatusCode != http.StatusOK {
		t.Fatalf("login: status %d, want 200", login.StatusCode)
	}
	var tr jwtguard.TokenResponse
	if err := json.NewDecoder(login.Body).Decode(&tr); err != nil {
		t.Fatal(err)
	}
	if tr.TokenType != "Bearer" || tr.ExpiresIn != int64(lifetime/time.Second) {
		t.Errorf("login answered token_type %q, expires_in %d; want Bearer, %d", tr.TokenType, tr.ExpiresIn, int64(lifetime/time.Second))
	}

	issued, err := plain.Issue(t.Context(), jwtguard.User{ID: "42", Username: "bob", Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	noRoles, err := plain.Issue(t.Context(), jwtguard.User{ID: "43", Username: "carol"})
	if err != nil {
		t.Fatal(err)
	}

	type verifySpec struct {
		Name     string `json:"name"`
		Token    string `json:"token"`
		Secret   string `json:"secret,omitempty"`
		Issuer   string `json:"issuer,omitempty"`
		Audience string `json:"audience,omitempty"`
	}
	tests := []struct {
		spec     verifySpec
		want     *issuedClaims // nil: both verifiers must refuse
		lifetime time.Duration // exp - iat
		keys     []string      // the payload's claim names, sorted
		refuse   string        // jose's error code when refused
	}{
		{
			spec:     verifySpec{Name: "login token with iss and aud", Token: tr.AccessToken, Issuer: issuer, Audience: audience},
			want:     &issuedClaims{Sub: "7", Username: "alice", Roles: []string{"admin", "user"}, Iss: issuer, Aud: audience},
			lifetime: lifetime,
			keys:     []string{"aud", "exp", "iat", "iss", "jti", "roles", "sub", "username"},
		},
		{
			spec:     verifySpec{Name: "Issue token, default config", Token: issued.AccessToken},
			want:     &issuedClaims{Sub: "42", Username: "bob", Roles: []string{"user"}},
			lifetime: 15 * time.Minute,
			keys:     []string{"exp", "iat", "jti", "roles", "sub", "username"},
		},
		{
			spec:     verifySpec{Name: "Issue token, user without roles", Token: noRoles.AccessToken},
			want:     &issuedClaims{Sub: "43", Username: "carol"},
			lifetime: 15 * time.Minute,
			keys:     []string{"exp", "iat", "jti", "sub", "username"},
		},
		{
			spec:   verifySpec{Name: "login token, wrong secret", Token: tr.AccessToken, Secret: otherSecret, Issuer: issuer, Audience: audience},
			refuse: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
		},
		{
			spec:   verifySpec{Name: "login token, wrong audience", Token: tr.AccessToken, Issuer: issuer, Audience: "some-other-api"},
			refuse: "ERR_JWT_CLAIM_VALIDATION_FAILED",
		},
		{
			spec:   verifySpec{Name: "login token, wrong issuer", Token: tr.AccessToken, Issuer: "https://elsewhere.example.test", Audience: audience},
			refuse: "ERR_JWT_CLAIM_VALIDATION_FAILED",
		},
	}
	in := struct {
		Secret string       `json:"secret"`
		Tokens []verifySpec `json:"tokens"`
	}{Secret: secret}
	for _, tt := range tests {
		in.Tokens = append(in.Tokens, tt.spec)
	}
	var results map[string]map[string]nodeResult
	runNode(t, "verify.mjs", in, &results)

	for _, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			for _, lib := range []string{"jose", "jsonwebtoken"} {
				r, ok := results[tt.spec.Name][lib]
				if !ok {
					t.Fatalf("verify.mjs reported nothing from %s", lib)
				}
				if tt.want == nil {
					if r.Error == nil {
						t.Errorf("%s accepted the token; want it refused", lib)
					} else if lib == "jose" && r.Error.Code != tt.refuse {
						t.Errorf("jose refused with %s (%s), want %s", r.Error.Code, r.Error.Message, tt.refuse)
					}
					continue
				}
				if r.Error != nil {
					t.Fatalf("%s refused the token: %s %s: %s", lib, r.Error.Name, r.Error.Code, r.Error.Message)
				}
				checkIssued(t, lib, r, *tt.want, tt.lifetime, tt.keys)
			}
		})
	}
}

// checkIssued compares what a Node verifier saw with the claims we meant to
// issue: want's names and roles, exp - iat equal to lifetime, iat about now,
// a jti of 128 bits, and exactly the claim names keys.
func checkIssued(t *testing.T, lib string, r nodeResult, want issuedClaims, lifetime time.Duration, keys []string) {
	t.Helper()
	if r.Header["alg"] != "HS256" || r.Header["typ"] != "JWT" {
		t.Errorf("%s: header %v, want alg HS256 and typ JWT", lib, r.Header)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(r.Payload, &all); err != nil {
		t.Fatalf("%s: payload: %v", lib, err)
	}
	if got := slices.Sorted(maps.Keys(all)); !slices.Equal(got, keys) {
		t.Errorf("%s: claims %q, want exactly %q", lib, got, keys)
	}
	var got issuedClaims
	if err := json.Unmarshal(r.Payload, &got); err != nil {
		t.Fatalf("%s: payload: %v: %s", lib, err, r.Payload)
	}
	if got.Sub != want.Sub || got.Username != want.Username || !slices.Equal(got.Roles, want.Roles) || got.Iss != want.Iss || got.Aud != want.Aud {
		t.Errorf("%s: sub %q username %q roles %q iss %q aud %q; want %q %q %q %q %q", lib,
			got.Sub, got.Username, got.Roles, got.Iss, got.Aud, want.Sub, want.Username, want.Roles, want.Iss, want.Aud)
	}
	if secs := int64(lifetime / time.Second); got.Exp-got.Iat != secs {
		t.Errorf("%s: exp - iat = %d s, want the lifetime, %d s", lib, got.Exp-got.Iat, secs)
	}
	if now := time.Now().Unix(); got.Iat > now+1 || got.Iat < now-300 {
		t.Errorf("%s: iat %d is not about now (%d)", lib, got.Iat, now)
	}
	if id, err := base64.RawURLEncoding.DecodeString(got.Jti); err != nil || len(id) != 16 {
		t.Errorf("%s: jti %q is not 128 random bits, base64url", lib, got.Jti)
	}
}

func postLogin(t *testing.T, url, username, password string) *http.Response {
	t.Helper()
	body, err := json.Marshal(map[string]string{"username": username, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// TestBcryptjsHashes: passwords hashed by bcryptjs 3 ($2b$) and 2.4.3 ($2a$),
// in the tutorials' styles, log in through LoginHandler with NewMemoryStore;
// a wrong password does not. bcryptjs silently hashes only the first 72
// bytes of a longer password, which jwtguard refuses rather than truncate
// (72 bytes): such an account cannot log in with its full password.
func TestBcryptjsHashes(t *testing.T) {
	t.Parallel()
	requireNode(t)

	type hashSpec struct {
		Name     string `json:"name"`
		Lib      string `json:"lib"`
		Style    string `json:"style"`
		Password string `json:"password"`
		Rounds   int    `json:"rounds"`
	}
	tests := []struct {
		spec   hashSpec
		prefix string
		status int // the answer to a login with the right password
	}{
		{hashSpec{"bcryptjs 3, genSalt(10) then hash", "3", "async", "s3cret-passw0rd", 10}, "$2b$10$", 200},
		{hashSpec{"bcryptjs 3, hashSync, non-ASCII password", "3", "sync", "pässwörd-🔑-日本", 10}, "$2b$10$", 200},
		{hashSpec{"bcryptjs 2.4.3, genSalt(10) then hash", "2", "async", "tutorial-password", 10}, "$2a$10$", 200},
		{hashSpec{"bcryptjs 3, password over 72 bytes", "3", "sync", strings.Repeat("long-passphrase-", 5), 10}, "$2b$10$", 401},
	}
	in := struct {
		Hashes []hashSpec `json:"hashes"`
	}{}
	for _, tt := range tests {
		in.Hashes = append(in.Hashes, tt.spec)
	}
	var hashes map[string]string
	runNode(t, "hash.mjs", in, &hashes)

	auth := newAuth(t)
	var users []jwtguard.User
	for i, tt := range tests {
		u := jwtguard.User{ID: fmt.Sprint(100 + i), Username: fmt.Sprintf("user%d", i), PasswordHash: []byte(hashes[tt.spec.Name]), Roles: []string{"user"}}
		if _, err := jwtguard.NewMemoryStore(u); err != nil {
			t.Fatalf("%s: NewMemoryStore refused the bcryptjs hash %q: %v", tt.spec.Name, hashes[tt.spec.Name], err)
		}
		users = append(users, u)
	}
	store, err := jwtguard.NewMemoryStore(users...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(auth.LoginHandler(store))
	defer srv.Close()
	profile := auth.Verify(http.HandlerFunc(showClaims))

	for i, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			if h := hashes[tt.spec.Name]; !strings.HasPrefix(h, tt.prefix) {
				t.Errorf("hash %q, want prefix %s", h, tt.prefix)
			}
			username := fmt.Sprintf("user%d", i)

			res := postLogin(t, srv.URL, username, tt.spec.Password)
			if res.StatusCode != tt.status {
				t.Fatalf("right password: status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status == http.StatusOK {
				checkLoginToken(t, profile, res, fmt.Sprint(100+i), username)
			} else if got := res.Header.Get("X-Refusal"); got != "ErrInvalidCredentials" {
				t.Errorf("right password: refused with %s, want ErrInvalidCredentials", got)
			}

			res = postLogin(t, srv.URL, username, tt.spec.Password+"x")
			if res.StatusCode != http.StatusUnauthorized || res.Header.Get("X-Refusal") != "ErrInvalidCredentials" {
				t.Errorf("wrong password: status %d (%s), want 401 ErrInvalidCredentials", res.StatusCode, res.Header.Get("X-Refusal"))
			}
		})
	}
}

// checkLoginToken checks that the token in a login's answer passes Verify
// with the user's subject and username.
func checkLoginToken(t *testing.T, verified http.Handler, res *http.Response, subject, username string) {
	t.Helper()
	var tr jwtguard.TokenResponse
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	rec := httptest.NewRecorder()
	verified.ServeHTTP(rec, req)
	if want := fmt.Sprintf(`{"subject":%q,"username":%q,"roles":["user"]}`, subject, username); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("the login's token behind Verify: %d %s, want 200 %s", rec.Code, rec.Body, want)
	}
}

// TestLifetimesMatchJsonwebtoken: every JWT_EXPIRES_IN form that FromEnv
// takes from jsonwebtoken's expiresIn gives the lifetime
// jsonwebtoken gives it (exp - iat, in whole seconds). A whole number is
// passed as a number, as the tutorials' code does.
func TestLifetimesMatchJsonwebtoken(t *testing.T) {
	requireNode(t)
	forms := []string{
		"3600", "10s", "15m", "1h", "7d", "1w", "1y", "1.5h", ".5d", "2 hours", "7 days",
		"30 mins", "1 h", "2 HOURS", "1H", "2000ms", "1500 msecs", "45 seconds", "3 hrs",
		"2 weeks", "1 year", "2 yrs", "10  s", "1.25m",
	}
	type spec struct {
		Name    string         `json:"name"`
		Payload map[string]any `json:"payload"`
		Options map[string]any `json:"options"`
	}
	in := struct {
		Secret string `json:"secret"`
		Tokens []spec `json:"tokens"`
	}{Secret: secret}
	const iat = 1_800_000_000
	for _, f := range forms {
		var expiresIn any = f
		if n, err := strconv.Atoi(f); err == nil {
			expiresIn = n
		}
		in.Tokens = append(in.Tokens, spec{f, map[string]any{"sub": "1", "iat": iat}, map[string]any{"expiresIn": expiresIn}})
	}
	var out map[string]string
	runNode(t, "mint.mjs", in, &out)
	for _, f := range forms {
		t.Run(f, func(t *testing.T) {
			seg := strings.Split(out[f], ".")
			if len(seg) != 3 {
				t.Fatalf("jsonwebtoken gave %q", out[f])
			}
			raw, err := base64.RawURLEncoding.DecodeString(seg[1])
			if err != nil {
				t.Fatal(err)
			}
			var claims struct{ Iat, Exp int64 }
			if err := json.Unmarshal(raw, &claims); err != nil {
				t.Fatal(err)
			}
			a, err := jwtguard.FromLookupEnv(func(k string) (string, bool) {
				return map[string]string{"JWT_SECRET": secret, "JWT_EXPIRES_IN": f}[k], k == "JWT_SECRET" || k == "JWT_EXPIRES_IN"
			})
			if err != nil {
				t.Fatalf("JWT_EXPIRES_IN=%q: %v", f, err)
			}
			tr, err := a.Issue(t.Context(), jwtguard.User{ID: "1"})
			if err != nil {
				t.Fatal(err)
			}
			if want := claims.Exp - claims.Iat; tr.ExpiresIn != want {
				t.Errorf("JWT_EXPIRES_IN=%q gives expires_in %d; jsonwebtoken gives %d s", f, tr.ExpiresIn, want)
			}
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

const testSecret = "0123456789abcdef0123456789abcdef" // 32 bytes

// env is a fake os.LookupEnv.
func env(kv ...string) func(string) (string, bool) {
	m := make(map[string]string)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// clock is a time source the test moves by hand.
type clock struct{ now atomic.Int64 }

func newClock() *clock {
	c := new(clock)
	c.now.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// newTestServer serves the real handler with cost-4 demo hashes and an Auth
// built by newAuth from a fake environment, on a clock the test controls.
func newTestServer(t *testing.T) (*httptest.Server, *clock) {
	t.Helper()
	clk := newClock()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The password budget is off: it follows the measured cost of bcrypt,
	// which under -race on a loaded machine could hold these logins.
	policy := loginPolicy("")
	policy.DummyHashCost, policy.NoBudget = 4, true
	opts := []jwtguard.Option{jwtguard.WithLoginPolicy(policy), jwtguard.WithClock(clk.Now), jwtguard.WithSessions(jwtguard.NewMemorySessionStore()),
		jwtguard.WithRegisterPolicy(jwtguard.RegisterPolicy{BcryptCost: 4})}
	auth, err := newAuth(env("JWT_SECRET", testSecret), logger, opts...)
	if err != nil {
		t.Fatal(err)
	}
	store := memoryDemoStore(t)
	srv := httptest.NewServer(newHandler(auth, store, nil, logger))
	t.Cleanup(srv.Close)
	return srv, clk
}

// memoryDemoStore returns a memory store with the demo accounts, hashed at
// cost 4.
func memoryDemoStore(t *testing.T) jwtguard.UserWriter {
	t.Helper()
	store, err := jwtguard.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	hash := func(pw string) ([]byte, error) { return bcrypt.GenerateFromPassword([]byte(pw), 4) }
	if err := seedDemoAccounts(t.Context(), store, hash, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return store
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, token, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func login(t *testing.T, base, username, password string) string {
	t.Helper()
	r := do(t, "POST", base+"/api/auth/login", "", `{"username":"`+username+`","password":"`+password+`"}`)
	if r.status != http.StatusOK {
		t.Fatalf("login %s: status %d, body %s", username, r.status, r.body)
	}
	var tr jwtguard.TokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.AccessToken == "" || tr.TokenType != "Bearer" || tr.ExpiresIn != 900 {
		t.Fatalf("login %s: token response %+v", username, tr)
	}
	return tr.AccessToken
}

// errorCode returns the "error" member of a refusal body.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("refusal body %q: %v", r.body, err)
	}
	return e.Error
}

func TestAdminFlow(t *testing.T) {
	srv, clk := newTestServer(t)
	tok := login(t, srv.URL, "admin", "password123")

	r := do(t, "GET", srv.URL+"/api/user/profile", tok, "")
	if r.status != http.StatusOK {
		t.Fatalf("profile: status %d, body %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("profile: Cache-Control %q, want no-store", cc)
	}
	var u user
	if err := json.Unmarshal(r.body, &u); err != nil {
		t.Fatal(err)
	}
	if u.Subject != "1" || u.Username != "admin" || len(u.Roles) != 1 || u.Roles[0] != "admin" {
		t.Errorf("profile: %+v, want subject 1, username admin, roles [admin]", u)
	}
	if want := clk.Now().Add(15 * time.Minute); !u.ExpiresAt.Equal(want) {
		t.Errorf("profile: expires_at %v, want %v", u.ExpiresAt, want)
	}
	if u.TokenID == "" || u.IssuedAt.IsZero() {
		t.Errorf("profile: token_id %q, issued_at %v: want both set", u.TokenID, u.IssuedAt)
	}

	for path, want := range map[string]string{
		"/api/admin-data":  "Admin-only route",
		"/api/secure-data": "Authenticated route",
	} {
		r = do(t, "GET", srv.URL+path, tok, "")
		var m message
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("%s: %v (body %s)", path, err, r.body)
		}
		if r.status != http.StatusOK || m.Message != want || m.User == nil || m.User.Username != "admin" {
			t.Errorf("%s: status %d, body %s; want 200 %q for admin", path, r.status, r.body, want)
		}
	}
}

func TestUserIsRefusedAdminData(t *testing.T) {
	srv, _ := newTestServer(t)
	tok := login(t, srv.URL, "alice", "password123")

	if r := do(t, "GET", srv.URL+"/api/secure-data", tok, ""); r.status != http.StatusOK {
		t.Errorf("secure-data: status %d, want 200", r.status)
	}
	r := do(t, "GET", srv.URL+"/api/admin-data", tok, "")
	if r.status != http.StatusForbidden || errorCode(t, r) != "insufficient_scope" {
		t.Errorf("admin-data as alice: status %d, body %s; want 403 insufficient_scope", r.status, r.body)
	}
	if got, want := r.header.Get("WWW-Authenticate"), `Bearer realm="api", error="insufficient_scope", error_description="the access token does not grant access to this resource"`; got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
}

func TestWrongPasswordLooksLikeUnknownUser(t *testing.T) {
	srv, _ := newTestServer(t)
	wrong := do(t, "POST", srv.URL+"/api/auth/login", "", `{"username":"admin","password":"nope"}`)
	unknown := do(t, "POST", srv.URL+"/api/auth/login", "", `{"username":"mallory","password":"nope"}`)
	if wrong.status != http.StatusUnauthorized || errorCode(t, wrong) != "invalid_credentials" {
		t.Errorf("wrong password: status %d, body %s; want 401 invalid_credentials", wrong.status, wrong.body)
	}
	if unknown.status != wrong.status || !bytes.Equal(unknown.body, wrong.body) {
		t.Errorf("unknown user answered %d %s, wrong password %d %s; want the same", unknown.status, unknown.body, wrong.status, wrong.body)
	}
}

func TestExpiredTokenRefused(t *testing.T) {
	srv, clk := newTestServer(t)
	tok := login(t, srv.URL, "admin", "password123")
	// Just within the lifetime plus the leeway, the token still works.
	clk.Advance(15*time.Minute + 10*time.Second - time.Second)
	if r := do(t, "GET", srv.URL+"/api/user/profile", tok, ""); r.status != http.StatusOK {
		t.Fatalf("before expiry: status %d, body %s", r.status, r.body)
	}
	clk.Advance(2 * time.Second)
	r := do(t, "GET", srv.URL+"/api/user/profile", tok, "")
	if r.status != http.StatusUnauthorized || errorCode(t, r) != "invalid_token" || !strings.Contains(string(r.body), `"reason":"token_expired"`) {
		t.Errorf("after expiry: status %d, body %s; want 401 invalid_token, reason token_expired", r.status, r.body)
	}
	if got, want := r.header.Get("WWW-Authenticate"), `Bearer realm="api", error="invalid_token", error_description="the access token expired"`; got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
}

func TestNoToken(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, path := range []string{"/api/user/profile", "/api/secure-data", "/api/admin-data"} {
		r := do(t, "GET", srv.URL+path, "", "")
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s without a token: status %d, want 401", path, r.status)
		}
		if got, want := r.header.Get("WWW-Authenticate"), `Bearer realm="api"`; got != want {
			t.Errorf("%s: WWW-Authenticate %q, want %q", path, got, want)
		}
	}
}

func TestHealthz(t *testing.T) {
	srv, _ := newTestServer(t)
	r := do(t, "GET", srv.URL+"/healthz", "", "")
	if r.status != http.StatusOK || string(r.body) != "ok\n" {
		t.Errorf("healthz: status %d, body %q; want 200 \"ok\\n\"", r.status, r.body)
	}
}

func TestLoginWrongMethod(t *testing.T) {
	srv, _ := newTestServer(t)
	r := do(t, "GET", srv.URL+"/api/auth/login", "", "")
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" || errorCode(t, r) != "method_not_allowed" {
		t.Errorf("GET login: status %d, Allow %q, body %s; want 405, POST, JSON", r.status, r.header.Get("Allow"), r.body)
	}
}

func TestNewAuthConfig(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	bad := []struct {
		name    string
		env     func(string) (string, bool)
		wantVar string
	}{
		{"weak secret", env("JWT_SECRET", "short"), "JWT_SECRET"},
		{"31-byte secret", env("JWT_SECRET", testSecret[1:]), "JWT_SECRET"},
		{"empty secret", env("JWT_SECRET", ""), "JWT_SECRET"},
		{"bad lifetime", env("JWT_SECRET", testSecret, "JWT_EXPIRES_IN", "soon"), "JWT_EXPIRES_IN"},
		{"negative lifetime", env("JWT_SECRET", testSecret, "JWT_EXPIRES_IN", "-5m"), "JWT_EXPIRES_IN"},
		{"no secret", env(), "JWT_SECRET"},
		{"empty lifetime", env("JWT_SECRET", testSecret, "JWT_EXPIRES_IN", ""), "JWT_EXPIRES_IN"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newAuth(tc.env, logger)
			if err == nil || !strings.Contains(err.Error(), tc.wantVar) {
				t.Fatalf("newAuth: %v; want an error naming %s", err, tc.wantVar)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}

	t.Run("run exits with the error", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir()}, env("JWT_SECRET", "short"), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
			t.Errorf("run: %v; want an error naming %s", err, "JWT_SECRET")
		}
	})

	t.Run("JWT_EXPIRES_IN", func(t *testing.T) {
		var buf bytes.Buffer
		auth, err := newAuth(env("JWT_SECRET", testSecret, "JWT_EXPIRES_IN", "1h"),
			slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := auth.Issue(t.Context(), jwtguard.User{ID: "1"})
		if err != nil || tr.ExpiresIn != 3600 {
			t.Errorf("Issue: %+v, %v; want expires_in 3600", tr, err)
		}
		if buf.Len() != 0 {
			t.Errorf("logged %q with JWT_SECRET set; want nothing", buf.String())
		}
	})

}

func TestServerTimeouts(t *testing.T) {
	s := newServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": s.ReadHeaderTimeout,
		"ReadTimeout":       s.ReadTimeout,
		"WriteTimeout":      s.WriteTimeout,
		"IdleTimeout":       s.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s is %v; want it set", name, d)
		}
	}
	if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes is %d; want it set, at most the default 1 MiB", s.MaxHeaderBytes)
	}
	if s.ErrorLog == nil {
		t.Error("ErrorLog is nil; want the server's errors in slog")
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRun starts the real server with no JWT_SECRET on a free port, logs in
// over real HTTP, and checks that cancelling the context shuts it down
// cleanly. It hashes at the default bcrypt cost, as the real server does.
func TestRun(t *testing.T) {
	t.Parallel()
	base, stderr, stop := startRun(t, "-addr", "127.0.0.1:0")
	tok := login(t, base, "admin", "password123")
	r := do(t, "GET", base+"/api/user/profile", tok, "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"username": "admin"`) {
		t.Errorf("profile: status %d, body %s", r.status, r.body)
	}
	// A routine refusal is logged at Debug level, which is not shown by
	// default.
	do(t, "GET", base+"/api/user/profile", "", "")
	stop()
	log := stderr.String()
	for _, want := range []string{"JWT_SECRET is not set", "shutting down"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "request refused") {
		t.Errorf("a request without a token was logged at the default level:\n%s", log)
	}
}

// TestRunLogLevel: -log-level debug shows the routine refusals; a level
// that is not one is an error.
func TestRunLogLevel(t *testing.T) {
	t.Parallel()
	base, stderr, stop := startRun(t, "-addr", "127.0.0.1:0", "-log-level", "debug")
	do(t, "GET", base+"/api/user/profile", "", "")
	stop()
	if log := stderr.String(); !strings.Contains(log, "request refused") || !strings.Contains(log, "level=DEBUG") {
		t.Errorf("-log-level debug: the refusal of a request without a token is not in the log:\n%s", log)
	}
	var out, errOut lockedBuffer
	if err := run(t.Context(), []string{"-log-level", "loud"}, env(), &out, &errOut); err == nil {
		t.Error("-log-level loud: no error")
	}
}

// startRun runs the server with args until stop, which waits for it to
// shut down cleanly; it returns the server's base URL and its log. Its
// data directory is a new temporary one unless args name one.
func startRun(t *testing.T, args ...string) (base string, stderr *lockedBuffer, stop func()) {
	t.Helper()
	base, _, stderr, stop = startRunEnv(t, env(), args...)
	return base, stderr, stop
}

// startRunEnv is startRun with the environment lookupEnv; it also returns
// the lines the server printed before "Listening on".
func startRunEnv(t *testing.T, lookupEnv func(string) (string, bool), args ...string) (base string, printed []string, stderr *lockedBuffer, stop func()) {
	t.Helper()
	if !slices.Contains(args, "-data-dir") {
		args = append(args, "-data-dir", t.TempDir())
	}
	ctx, cancel := context.WithCancel(t.Context())
	stdoutR, stdoutW := io.Pipe()
	stderr = &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, lookupEnv, stdoutW, stderr)
		stdoutW.Close()
		done <- err
	}()
	// run prints where its data lives and the demo accounts, then
	// "Listening on http://ADDR".
	sc := bufio.NewScanner(stdoutR)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "Listening on "); ok {
			base = url
			break
		}
		printed = append(printed, sc.Text())
	}
	if base == "" {
		cancel()
		t.Fatalf("run printed no address; it returned %v; log:\n%s", <-done, stderr.String())
	}
	go io.Copy(io.Discard, stdoutR)
	stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run after cancel: %v; want nil", err)
			}
		case <-time.After(shutdownTimeout + 5*time.Second):
			t.Fatal("run did not return after cancel")
		}
	}
	t.Cleanup(cancel)
	return base, printed, stderr, stop
}

// The server throttles failed logins per client address: a guesser that
// changes the username every time is refused with 429 after addressBurst
// failures, and may try again once addressEvery has passed.
func TestLoginThrottledByAddress(t *testing.T) {
	srv, clk := newTestServer(t)
	for i := range addressBurst {
		r := do(t, "POST", srv.URL+"/api/auth/login", "", fmt.Sprintf(`{"username":"guess-%d","password":"x"}`, i))
		if r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i, r.status)
		}
	}
	r := do(t, "POST", srv.URL+"/api/auth/login", "", `{"username":"admin","password":"x"}`)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("guess past the burst: status %d, Retry-After %q; want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	clk.Advance(addressEvery)
	if tok := login(t, srv.URL, "admin", "password123"); tok == "" {
		t.Fatal("no token after the address's bucket refilled")
	}
}

func TestServerOptionsTrustedProxies(t *testing.T) {
	if _, err := newAuth(env("JWT_SECRET", testSecret), slog.New(slog.DiscardHandler), jwtguard.WithLoginPolicy(loginPolicy("10.0.0.0/8, 192.0.2.1"))); err != nil {
		t.Errorf("valid proxies: %v", err)
	}
	if _, err := newAuth(env("JWT_SECRET", testSecret), slog.New(slog.DiscardHandler), jwtguard.WithLoginPolicy(loginPolicy("10.0.0.0/8,proxy"))); err == nil {
		t.Error("an unreadable proxy address was accepted")
	}
}

// TestTokenBeyondYear9999Refused: a token whose exp is after the year 9999,
// which time.Time cannot encode as RFC 3339, is refused by Verify (401), not
// answered with an empty 200.
func TestTokenBeyondYear9999Refused(t *testing.T) {
	srv, _ := newTestServer(t)
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, exp := range []string{"253402300800", "1e15"} {
		t.Run(exp, func(t *testing.T) {
			in := seg(`{"alg":"HS256","typ":"JWT"}`) + "." + seg(`{"sub":"1","username":"admin","roles":["admin"],"exp":`+exp+`}`)
			m := hmac.New(sha256.New, []byte(testSecret))
			m.Write([]byte(in))
			tok := in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
			r := do(t, "GET", srv.URL+"/api/user/profile", tok, "")
			if r.status != http.StatusUnauthorized || errorCode(t, r) != "invalid_token" {
				t.Errorf("status %d, body %q; want 401 invalid_token", r.status, r.body)
			}
		})
	}
}

// TestWriteJSONEncodeFailure: a response that cannot be encoded is a logged
// 500 with the fixed body, written before any header.
func TestWriteJSONEncodeFailure(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/user/profile", nil)
	writeJSON(rec, req, logger, &user{Subject: "1", ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	var body struct{ Error, Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != "server_error" {
		t.Errorf("body %q (%v), want the fixed server_error body", rec.Body, err)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if !strings.Contains(logs.String(), "encoding the response failed") || !strings.Contains(logs.String(), "year outside of range") {
		t.Errorf("log %q does not give the reason", logs.String())
	}

	rec = httptest.NewRecorder()
	writeJSON(rec, req, logger, &user{Subject: "1", Roles: []string{}})
	if rec.Code != http.StatusOK || !json.Valid(rec.Body.Bytes()) || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("good response: status %d, body %q", rec.Code, rec.Body)
	}
}

// loginPair logs username in, with the demo password or the password
// given, and returns the whole answer.
func loginPair(t *testing.T, base, username string, password ...string) jwtguard.TokenResponse {
	t.Helper()
	pw := demoPassword
	if len(password) > 0 {
		pw = password[0]
	}
	r := do(t, "POST", base+"/api/auth/login", "", `{"username":"`+username+`","password":"`+pw+`"}`)
	var tr jwtguard.TokenResponse
	if r.status != http.StatusOK || json.Unmarshal(r.body, &tr) != nil || tr.RefreshToken == "" {
		t.Fatalf("login %s: %d %s; want tokens with a refresh token", username, r.status, r.body)
	}
	return tr
}

// refresh posts refreshToken to the refresh route.
func refresh(t *testing.T, base, refreshToken string) (jwtguard.TokenResponse, response) {
	t.Helper()
	r := do(t, "POST", base+"/api/auth/refresh", "", `{"refresh_token":"`+refreshToken+`"}`)
	var tr jwtguard.TokenResponse
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &tr); err != nil {
			t.Fatal(err)
		}
	}
	return tr, r
}

// TestSessionLifecycle is the README's walk-through: log in, refresh,
// present the spent refresh token again (reuse: the session is revoked,
// so the newest tokens stop working too), log in again and log out.
func TestSessionLifecycle(t *testing.T) {
	srv, clk := newTestServer(t)
	first := loginPair(t, srv.URL, "alice")
	clk.Advance(time.Minute)
	second, r := refresh(t, srv.URL, first.RefreshToken)
	if r.status != http.StatusOK || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if p := do(t, "GET", srv.URL+"/api/user/profile", second.AccessToken, ""); p.status != http.StatusOK || !strings.Contains(string(p.body), `"session_id"`) {
		t.Fatalf("profile with the refreshed token: %d %s", p.status, p.body)
	}
	if _, r := refresh(t, srv.URL, first.RefreshToken); r.status != http.StatusBadRequest || errorCode(t, r) != "invalid_grant" {
		t.Errorf("the spent refresh token: %d %s; want 400 invalid_grant", r.status, r.body)
	}
	if _, r := refresh(t, srv.URL, second.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("the newest refresh token after a reuse: %d %s; want 400", r.status, r.body)
	}
	if p := do(t, "GET", srv.URL+"/api/user/profile", second.AccessToken, ""); p.status != http.StatusUnauthorized {
		t.Errorf("the newest access token after a reuse: %d; want 401", p.status)
	}

	tr := loginPair(t, srv.URL, "alice")
	if r := do(t, "POST", srv.URL+"/api/auth/logout", tr.AccessToken, ""); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if p := do(t, "GET", srv.URL+"/api/user/profile", tr.AccessToken, ""); p.status != http.StatusUnauthorized {
		t.Errorf("the access token after logout: %d; want 401", p.status)
	}
	if _, r := refresh(t, srv.URL, tr.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("the refresh token after logout: %d; want 400", r.status)
	}

	phone, laptop := loginPair(t, srv.URL, "alice"), loginPair(t, srv.URL, "alice")
	if r := do(t, "POST", srv.URL+"/api/auth/logout-everywhere", phone.AccessToken, ""); r.status != http.StatusNoContent {
		t.Fatalf("logout everywhere: %d %s", r.status, r.body)
	}
	if _, r := refresh(t, srv.URL, laptop.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("another device's refresh token after logout everywhere: %d; want 400", r.status)
	}
}

// TestRunRefreshGrace: -refresh-grace reaches the Auth, and one over a
// minute stops the server with an error.
func TestRunRefreshGrace(t *testing.T) {
	var stderr lockedBuffer
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-refresh-grace", "2m"}, env("JWT_SECRET", testSecret), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "grace") {
		t.Errorf("run -refresh-grace 2m: %v; want an error about the grace window", err)
	}
}

// TestRunCookieModes: plain http on loopback serves development cookies
// and says so; behind a trusted proxy (TLS terminated in front) the
// cookies are Secure, with their prefixes.
func TestRunCookieModes(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		secure bool
	}{
		{[]string{"-addr", "127.0.0.1:0"}, false},
		{[]string{"-addr", "127.0.0.1:0", "-trusted-proxies", "127.0.0.1"}, true},
	} {
		base, _, stop := startRun(t, tc.args...)
		resp, err := http.Post(base+"/api/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"password123"}`))
		stop()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if len(cookies) != 3 {
			t.Fatalf("%v: cookies %v, want 3", tc.args, cookies)
		}
		for _, c := range cookies {
			if c.Secure != tc.secure || strings.HasPrefix(c.Name, "__") != tc.secure {
				t.Errorf("%v: cookie %s Secure=%v, want Secure and a prefix: %v", tc.args, c.Name, c.Secure, tc.secure)
			}
		}
	}
}

// TestPagesCSP: the pages forbid framing, foreign content and every
// script but the login page's own, whose nonce the policy names.
func TestPagesCSP(t *testing.T) {
	srv, _ := newTestServer(t)
	r := do(t, "GET", srv.URL+"/login?return=/x", "", "")
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "connect-src 'self'", "script-src 'nonce-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	nonce := strings.TrimSuffix(strings.SplitN(strings.SplitN(csp, "'nonce-", 2)[1], "'", 2)[0], "'")
	if !strings.Contains(string(r.body), `<script nonce="`+nonce+`">`) || strings.Count(string(r.body), "<script") != 1 {
		t.Errorf("the page's script does not carry the policy's nonce %q:\n%s", nonce, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", r.header)
	}
	// The return path is checked before the page uses it.
	if r := do(t, "GET", srv.URL+"/login?return=//evil.example", "", ""); strings.Contains(string(r.body), "evil.example") {
		t.Errorf("the login page carries a foreign return path:\n%s", r.body)
	}
}

// TestRegisterThenLogin: a new account registers (201), logs in and reads
// its profile with the default role; a taken name is 409, a weak password
// 400.
func TestRegisterThenLogin(t *testing.T) {
	srv, _ := newTestServer(t)
	r := do(t, "POST", srv.URL+"/api/auth/register", "", `{"username":"Carol","password":"correct horse battery staple"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	tok := login(t, srv.URL, "carol", "correct horse battery staple")
	p := do(t, "GET", srv.URL+"/api/user/profile", tok, "")
	if p.status != http.StatusOK || !strings.Contains(string(p.body), `"user"`) {
		t.Errorf("profile: %d %s", p.status, p.body)
	}
	if r := do(t, "POST", srv.URL+"/api/auth/register", "", `{"username":"alice","password":"correct horse battery staple"}`); r.status != http.StatusConflict {
		t.Errorf("a taken name: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", srv.URL+"/api/auth/register", "", `{"username":"dave","password":"password123"}`); r.status != http.StatusBadRequest || errorCode(t, r) != "invalid_password" {
		t.Errorf("a short password: %d %s", r.status, r.body)
	}
}

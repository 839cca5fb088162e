package jwtguard_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// rtUsers is a UserByIDStore whose users a test changes while sessions
// live, and whose lookups by ID can be made to fail.
type rtUsers struct {
	mu    sync.Mutex
	users map[string]jwtguard.User // by ID
	fail  error                    // LookupUserByID's error, when set
}

func rtNewUsers(t testing.TB) *rtUsers {
	h := ltHash(t, "password123")
	return &rtUsers{users: map[string]jwtguard.User{
		"u-alice": {ID: "u-alice", Username: "alice", PasswordHash: h, Roles: []string{"user"}},
		"u-admin": {ID: "u-admin", Username: "admin", PasswordHash: h, Roles: []string{"admin", "user"}},
	}}
}

func (s *rtUsers) LookupUser(_ context.Context, name string) (jwtguard.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == name {
			return u, nil
		}
	}
	return jwtguard.User{}, jwtguard.ErrUserNotFound
}

func (s *rtUsers) LookupUserByID(_ context.Context, id string) (jwtguard.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return jwtguard.User{}, s.fail
	}
	u, ok := s.users[id]
	if !ok {
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	}
	return u, nil
}

func (s *rtUsers) change(id string, f func(*jwtguard.User)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	f(&u)
	s.users[id] = u
}

// rtClock is a clock a test moves.
type rtClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *rtClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *rtClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// rtEnv is an Auth with a memory session store, its clock, users, and the
// login and refresh handlers.
type rtEnv struct {
	auth    *jwtguard.Auth
	store   jwtguard.SessionStore
	clock   *rtClock
	users   *rtUsers
	login   http.Handler
	refresh http.Handler
}

func rtSetup(t testing.TB, opts ...jwtguard.Option) *rtEnv {
	t.Helper()
	e := &rtEnv{
		store: jwtguard.NewMemorySessionStore(),
		clock: &rtClock{now: time.Now().Truncate(time.Second)},
		users: rtNewUsers(t),
	}
	opts = append([]jwtguard.Option{jwtguard.WithSessions(e.store), jwtguard.WithClock(e.clock.Now)}, opts...)
	e.auth = ltAuth(t, opts...)
	e.login = e.auth.LoginHandler(e.users)
	e.refresh = e.auth.RefreshHandler(e.users)
	return e
}

// signIn logs alice in and returns her tokens.
func (e *rtEnv) signIn(t testing.TB) slTokens {
	t.Helper()
	rec := ltLogin(e.login, ltAlice)
	if rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return slDecode(t, rec.Body.Bytes())
}

// rtPost posts body of type ct to h.
func rtPost(h http.Handler, ct, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/auth/refresh", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func rtJSON(tok string) string { return `{"refresh_token":"` + tok + `"}` }

// rtRefresh refreshes tok with a JSON body.
func (e *rtEnv) rtRefresh(tok string) *httptest.ResponseRecorder {
	return rtPost(e.refresh, "application/json", rtJSON(tok))
}

// mustRefresh refreshes tok and returns the new pair.
func (e *rtEnv) mustRefresh(t testing.TB, tok string) slTokens {
	t.Helper()
	rec := e.rtRefresh(tok)
	if rec.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	return slDecode(t, rec.Body.Bytes())
}

// rtRefused asserts that rec is a refusal with status and error code.
func rtRefused(t *testing.T, what string, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("%s: status %d (%s), want %d %s", what, rec.Code, rec.Body, status, code)
		return
	}
	if got := ltErrorBody(t, rec); got != code {
		t.Errorf("%s: error %q, want %q", what, got, code)
	}
	if strings.Contains(rec.Body.String(), "access_token") {
		t.Errorf("%s: a refusal carries a token: %s", what, rec.Body)
	}
}

// TestRefresh: a refresh answers a new access token and a new refresh
// token in the login's session, no-store; the refresh token presented is
// spent, and presenting it again is reuse: refused, the session revoked so
// that the newest refresh token and the session's access tokens are
// refused too, counted as refresh_reused and logged at Warn without the
// token.
func TestRefresh(t *testing.T) {
	var log bytes.Buffer
	e := rtSetup(t, vtLogged(&log))
	first := e.signIn(t)
	sid := ltPayload(t, first.AccessToken)["sid"]
	e.clock.Add(time.Minute)
	rec := e.rtRefresh(first.RefreshToken)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("refresh: %d, Cache-Control %q: %s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
	second := slDecode(t, rec.Body.Bytes())
	switch {
	case second.RefreshToken == "" || second.RefreshToken == first.RefreshToken:
		t.Fatalf("refresh token %q after %q: want a new one", second.RefreshToken, first.RefreshToken)
	case second.AccessToken == first.AccessToken, second.TokenType != "Bearer", second.ExpiresIn != 15*60:
		t.Errorf("answer %+v: want a new Bearer access token for 15 minutes", second)
	}
	p := ltPayload(t, second.AccessToken)
	if p["sid"] != sid || p["sub"] != "u-alice" || p["iat"].(float64) != float64(e.clock.Now().Unix()) {
		t.Errorf("new access token %v: want alice's, in session %v, issued now", p, sid)
	}
	if _, ok := ltVerify(e.auth, second.AccessToken); !ok {
		t.Fatal("the refreshed access token is refused")
	}
	third := e.mustRefresh(t, second.RefreshToken)

	// Reuse of the first token: refused, the session revoked.
	rtRefused(t, "a spent token", e.rtRefresh(first.RefreshToken), http.StatusBadRequest, "invalid_grant")
	rtRefused(t, "the newest token after a reuse", e.rtRefresh(third.RefreshToken), http.StatusBadRequest, "invalid_grant")
	for _, at := range []string{first.AccessToken, second.AccessToken, third.AccessToken} {
		if _, ok := ltVerify(e.auth, at); ok {
			t.Error("an access token of the revoked session is accepted")
		}
	}
	st := e.auth.Stats().Refusals
	if st["refresh_reused"] != 1 || st["invalid_grant"] != 1 {
		t.Errorf("refresh_reused %d, invalid_grant %d; want 1 and 1", st["refresh_reused"], st["invalid_grant"])
	}
	logged := log.String()
	warned := false
	for line := range strings.Lines(logged) {
		if strings.Contains(line, `"level":"WARN","msg":"jwtguard: a spent refresh token was presented again`) {
			warned = strings.Contains(line, `"session_id":"`+sid.(string)+`"`) && strings.Contains(line, `"user_id":"u-alice"`)
		}
	}
	if !warned {
		t.Errorf("no Warn naming the session and the user in the log:\n%s", logged)
	}
	for _, tok := range []string{first.RefreshToken, second.RefreshToken, third.RefreshToken, first.AccessToken, third.AccessToken} {
		if strings.Contains(logged, tok) {
			t.Fatal("a token is in the log")
		}
	}
}

// TestRefreshForm: the RFC 6749 §6 form refreshes as the JSON body does;
// its grant_type is required and must be refresh_token; a repeated
// parameter, a ';' and a malformed escape are refused, unknown parameters
// ignored. A JSON body may name the grant type too.
func TestRefreshForm(t *testing.T) {
	e := rtSetup(t)
	tok := e.signIn(t).RefreshToken
	const form = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"no grant_type", form, "refresh_token=" + tok, 400, "invalid_request"},
		{"grant_type password", form, "grant_type=password&refresh_token=" + tok, 400, "unsupported_grant_type"},
		{"grant_type in another case", form, "grant_type=Refresh_Token&refresh_token=" + tok, 400, "unsupported_grant_type"},
		{"repeated token", form, "grant_type=refresh_token&refresh_token=" + tok + "&refresh_token=" + tok, 400, "invalid_request"},
		{"repeated grant_type", form, "grant_type=refresh_token&grant_type=refresh_token&refresh_token=" + tok, 400, "invalid_request"},
		{"a ';'", form, "grant_type=refresh_token;refresh_token=" + tok, 400, "invalid_request"},
		{"a malformed escape", form, "grant_type=refresh_token&refresh_token=" + tok + "%G0", 400, "invalid_request"},
		{"the name in another case", form, "grant_type=refresh_token&Refresh_Token=" + tok, 400, "invalid_request"},
		{"no token", form, "grant_type=refresh_token", 400, "invalid_request"},
		{"an empty token", form, "grant_type=refresh_token&refresh_token=", 400, "invalid_request"},
		{"JSON grant_type password", "application/json", `{"grant_type":"password","refresh_token":"` + tok + `"}`, 400, "unsupported_grant_type"},
		{"form as latin1", form + "; charset=iso-8859-1", "grant_type=refresh_token&refresh_token=" + tok, 415, "unsupported_media_type"},
	} {
		rtRefused(t, tc.name, rtPost(e.refresh, tc.ct, tc.body), tc.status, tc.code)
	}
	// None of those spent the token: the form refreshes with it.
	rec := rtPost(e.refresh, form+"; charset=UTF-8", "client_id=app&grant_type=refresh_token&refresh_token="+tok+"&scope=")
	if rec.Code != http.StatusOK {
		t.Fatalf("form refresh: %d %s", rec.Code, rec.Body)
	}
	next := slDecode(t, rec.Body.Bytes()).RefreshToken
	rec = rtPost(e.refresh, "application/json", `{"grant_type":"refresh_token","refresh_token":"`+next+`"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("JSON refresh naming its grant type: %d %s", rec.Code, rec.Body)
	}
}

// TestRefreshRefusals: every malformed request is refused before any
// token is spent, with the status and code it should have; unknown tokens
// and tokens of another shape are invalid_grant.
func TestRefreshRefusals(t *testing.T) {
	e := rtSetup(t)
	tok := e.signIn(t).RefreshToken
	for _, tc := range []struct {
		name, method, ct, body string
		status                 int
		code                   string
	}{
		{"GET", http.MethodGet, "application/json", rtJSON(tok), 405, "method_not_allowed"},
		{"no Content-Type", http.MethodPost, "", rtJSON(tok), 415, "unsupported_media_type"},
		{"text/plain", http.MethodPost, "text/plain", rtJSON(tok), 415, "unsupported_media_type"},
		{"multipart", http.MethodPost, "multipart/form-data; boundary=x", rtJSON(tok), 415, "unsupported_media_type"},
		{"body over the cap", http.MethodPost, "application/json", `{"refresh_token":"` + strings.Repeat("x", 5000) + `"}`, 413, "request_too_large"},
		{"empty body", http.MethodPost, "application/json", ``, 400, "invalid_request"},
		{"malformed JSON", http.MethodPost, "application/json", `{"refresh_token":`, 400, "invalid_request"},
		{"token twice", http.MethodPost, "application/json", `{"refresh_token":"` + tok + `","refresh_token":"` + tok + `"}`, 400, "invalid_request"},
		{"token in another case", http.MethodPost, "application/json", `{"Refresh_Token":"` + tok + `"}`, 400, "invalid_request"},
		{"another member", http.MethodPost, "application/json", `{"refresh_token":"` + tok + `","user":"admin"}`, 400, "invalid_request"},
		{"null token", http.MethodPost, "application/json", `{"refresh_token":null}`, 400, "invalid_request"},
		{"empty token", http.MethodPost, "application/json", `{"refresh_token":""}`, 400, "invalid_request"},
		{"no token", http.MethodPost, "application/json", `{}`, 400, "invalid_request"},
		{"trailing data", http.MethodPost, "application/json", rtJSON(tok) + `{}`, 400, "invalid_request"},
		{"unknown token", http.MethodPost, "application/json", rtJSON(strings.Repeat("A", 43)), 400, "invalid_grant"},
		{"an access token", http.MethodPost, "application/json", rtJSON(e.signIn(t).AccessToken), 400, "invalid_grant"},
		{"too short", http.MethodPost, "application/json", rtJSON(tok[:42]), 400, "invalid_grant"},
		{"padded", http.MethodPost, "application/json", rtJSON(tok + "="), 400, "invalid_grant"},
	} {
		r := httptest.NewRequest(tc.method, "/api/auth/refresh", strings.NewReader(tc.body))
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		rec := httptest.NewRecorder()
		e.refresh.ServeHTTP(rec, r)
		rtRefused(t, tc.name, rec, tc.status, tc.code)
		if tc.status == 405 && rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("405 without Allow: POST")
		}
	}
	e.mustRefresh(t, tok) // not spent by any of them
}

// TestRefreshRereadsUser: a refresh puts the user's roles as they are now
// into the new access token; a user who was disabled or deleted cannot
// refresh, and their session is revoked (its access tokens refused).
func TestRefreshRereadsUser(t *testing.T) {
	e := rtSetup(t)
	tr := e.signIn(t)
	e.users.change("u-alice", func(u *jwtguard.User) { u.Roles = []string{"user", "editor"} })
	tr = e.mustRefresh(t, tr.RefreshToken)
	if roles := ltPayload(t, tr.AccessToken)["roles"]; !slices.Equal(toStrings(roles), []string{"user", "editor"}) {
		t.Errorf("roles after the change: %v, want [user editor]", roles)
	}
	for name, change := range map[string]func(){
		"disabled": func() { e.users.change("u-alice", func(u *jwtguard.User) { u.Disabled = true }) },
		"deleted": func() {
			e.users.mu.Lock()
			delete(e.users.users, "u-alice")
			e.users.mu.Unlock()
		},
	} {
		e.users = rtNewUsers(t)
		e.login, e.refresh = e.auth.LoginHandler(e.users), e.auth.RefreshHandler(e.users)
		tr := e.signIn(t)
		change()
		rtRefused(t, name, e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
		if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
			t.Errorf("%s: the session's access token is still accepted", name)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestRefreshSessionLifetime: a refresh does not extend the session's end,
// the access tokens it issues expire with the session, and a session past
// its end or idle too long refreshes no more.
func TestRefreshSessionLifetime(t *testing.T) {
	e := rtSetup(t, jwtguard.WithSessionLifetime(time.Hour, 20*time.Minute))
	start := e.clock.Now()
	tr := e.signIn(t)
	for range 3 {
		e.clock.Add(19 * time.Minute)
		tr = e.mustRefresh(t, tr.RefreshToken)
	}
	e.clock.Add(10 * time.Minute) // 67 minutes since the login, 10 since the last refresh
	if exp := int64(ltPayload(t, tr.AccessToken)["exp"].(float64)); exp != start.Add(time.Hour).Unix() {
		t.Errorf("access token exp %d, want the session's end %d", exp, start.Add(time.Hour).Unix())
	}
	rtRefused(t, "past the session's end", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")

	tr = e.signIn(t)
	e.clock.Add(20 * time.Minute)
	rtRefused(t, "idle for the idle timeout", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
	if st := e.auth.Stats().Refusals; st["invalid_grant"] != 2 || st["refresh_reused"] != 0 {
		t.Errorf("invalid_grant %d, refresh_reused %d; want 2, 0", st["invalid_grant"], st["refresh_reused"])
	}
}

// TestRefreshGrace: inside the grace window the token the last refresh
// spent may be presented again (a client that lost the answer): it gets a
// new pair, the pair it never saw is spent without revoking the session,
// and the session lives on. After the window, and for any older token, it
// is reuse.
func TestRefreshGrace(t *testing.T) {
	e := rtSetup(t, jwtguard.WithRefreshGrace(10*time.Second))
	t0 := e.signIn(t).RefreshToken
	lost := e.mustRefresh(t, t0) // the answer the client never read
	e.clock.Add(9 * time.Second)
	retried := e.mustRefresh(t, t0)
	rtRefused(t, "the lost answer's token", e.rtRefresh(lost.RefreshToken), http.StatusBadRequest, "invalid_grant")
	if _, ok := ltVerify(e.auth, retried.AccessToken); !ok {
		t.Fatal("the session was revoked by a retry inside the window")
	}
	next := e.mustRefresh(t, retried.RefreshToken)
	e.clock.Add(11 * time.Second)
	rtRefused(t, "a retry after the window", e.rtRefresh(retried.RefreshToken), http.StatusBadRequest, "invalid_grant")
	rtRefused(t, "the newest token after the reuse", e.rtRefresh(next.RefreshToken), http.StatusBadRequest, "invalid_grant")
	if st := e.auth.Stats().Refusals; st["refresh_reused"] != 1 {
		t.Errorf("refresh_reused %d, want 1", st["refresh_reused"])
	}

	// An older token has no window.
	t0 = e.signIn(t).RefreshToken
	t1 := e.mustRefresh(t, t0)
	e.mustRefresh(t, t1.RefreshToken)
	rtRefused(t, "the token before the last", e.rtRefresh(t0), http.StatusBadRequest, "invalid_grant")
	if st := e.auth.Stats().Refusals; st["refresh_reused"] != 2 {
		t.Errorf("refresh_reused %d, want 2", st["refresh_reused"])
	}

	for _, grace := range []time.Duration{-time.Second, time.Minute + time.Second} {
		if _, err := jwtguard.New(testKey(t, ltSecret), jwtguard.WithSessions(jwtguard.NewMemorySessionStore()), jwtguard.WithRefreshGrace(grace)); err == nil {
			t.Errorf("New accepted a grace window of %v", grace)
		}
	}
	if _, err := jwtguard.New(testKey(t, ltSecret), jwtguard.WithRefreshGrace(time.Second)); err == nil {
		t.Error("New accepted WithRefreshGrace without WithSessions")
	}
}

// TestRefreshConcurrent: goroutines refresh one token at once. Without a
// grace window exactly one wins and the others are reuse, which revokes
// the session (the winner's new token is refused too). Inside a grace
// window each gets an answer, exactly one of the refresh tokens they got
// still refreshes, and the others are refused without revoking the
// session.
func TestRefreshConcurrent(t *testing.T) {
	const n = 16
	race := func(e *rtEnv, tok string) (won []slTokens, lost int) {
		var (
			mu sync.Mutex
			wg sync.WaitGroup
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				rec := e.rtRefresh(tok)
				mu.Lock()
				defer mu.Unlock()
				if rec.Code == http.StatusOK {
					won = append(won, slDecode(t, rec.Body.Bytes()))
				} else if rec.Code == http.StatusBadRequest {
					lost++
				}
			})
		}
		close(start)
		wg.Wait()
		return won, lost
	}

	e := rtSetup(t)
	won, lost := race(e, e.signIn(t).RefreshToken)
	if len(won) != 1 || lost != n-1 {
		t.Fatalf("without a window: %d won, %d refused; want 1 and %d", len(won), lost, n-1)
	}
	rtRefused(t, "the winner's token after the others' reuse", e.rtRefresh(won[0].RefreshToken), http.StatusBadRequest, "invalid_grant")

	e = rtSetup(t, jwtguard.WithRefreshGrace(30*time.Second))
	won, lost = race(e, e.signIn(t).RefreshToken)
	if len(won) != n || lost != 0 {
		t.Fatalf("inside the window: %d answered, %d refused; want all %d answered", len(won), lost, n)
	}
	usable := 0
	for _, tr := range won {
		if e.rtRefresh(tr.RefreshToken).Code == http.StatusOK {
			usable++
		}
	}
	if usable != 1 {
		t.Errorf("%d of the answers' refresh tokens refresh, want exactly 1", usable)
	}
	if st := e.auth.Stats().Refusals; st["refresh_reused"] != 0 {
		t.Errorf("refresh_reused %d inside the window, want 0", st["refresh_reused"])
	}
}

// rtFailingSessions is a session store whose named method fails.
type rtFailingSessions struct {
	jwtguard.SessionStore
	fail string
}

var errRTStore = errors.New("connection refused")

func (s rtFailingSessions) LookupSession(ctx context.Context, h jwtguard.TokenHash) (jwtguard.Session, error) {
	if s.fail == "lookup" {
		return jwtguard.Session{}, errRTStore
	}
	return s.SessionStore.LookupSession(ctx, h)
}

func (s rtFailingSessions) RotateSession(ctx context.Context, p, n jwtguard.TokenHash, now time.Time, grace time.Duration) (jwtguard.Session, error) {
	if s.fail == "rotate" {
		return jwtguard.Session{}, errRTStore
	}
	return s.SessionStore.RotateSession(ctx, p, n, now, grace)
}

// TestRefreshStoresFail: a session store that fails is 503 with
// Retry-After, logged at Error, and so is a user store that fails, which
// does not spend the token, so that the client's retry works.
func TestRefreshStoresFail(t *testing.T) {
	for _, method := range []string{"lookup", "rotate"} {
		var log bytes.Buffer
		inner := jwtguard.NewMemorySessionStore()
		a := ltAuth(t, jwtguard.WithSessions(rtFailingSessions{inner, method}), vtLogged(&log))
		users := rtNewUsers(t)
		// Log in through an Auth on the same store that does not fail.
		tr := slDecode(t, ltLogin(ltAuth(t, jwtguard.WithSessions(inner)).LoginHandler(users), ltAlice).Body.Bytes())
		rec := rtPost(a.RefreshHandler(users), "application/json", rtJSON(tr.RefreshToken))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s fails: %d, Retry-After %q; want 503 with Retry-After", method, rec.Code, rec.Header().Get("Retry-After"))
		}
		if !strings.Contains(log.String(), `"level":"ERROR"`) || !strings.Contains(log.String(), "connection refused") {
			t.Errorf("%s fails: not logged at Error:\n%s", method, log.String())
		}
	}
	e := rtSetup(t)
	tr := e.signIn(t)
	e.users.fail = errors.New("users table locked")
	rec := e.rtRefresh(tr.RefreshToken)
	rtRefused(t, "a failing user store", rec, http.StatusServiceUnavailable, "temporarily_unavailable")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("a failing user store: no Retry-After")
	}
	e.users.fail = nil
	e.mustRefresh(t, tr.RefreshToken)
}

// TestRefreshHandlerPanics: a refresh handler cannot be built without a
// session store or a user store.
func TestRefreshHandlerPanics(t *testing.T) {
	vtCheckPanics(t, map[string]func(){
		"no session store": func() { ltAuth(t).RefreshHandler(rtNewUsers(t)) },
	}, "WithSessions")
	vtCheckPanics(t, map[string]func(){
		"nil users": func() { ltAuth(t, jwtguard.WithSessions(jwtguard.NewMemorySessionStore())).RefreshHandler(nil) },
	}, "nil UserByIDStore")
	vtCheckPanics(t, map[string]func(){
		"zero Auth": func() { new(jwtguard.Auth).RefreshHandler(rtNewUsers(t)) },
	}, "zero Auth is unusable")
}

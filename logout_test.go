package jwtguard_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// loPost posts to h with the access token (when not "") as a Bearer
// header and body of type ct (none when ct is "").
func loPost(h http.Handler, access, ct, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/auth/logout", strings.NewReader(body))
	if access != "" {
		r.Header.Set("Authorization", "Bearer "+access)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// loLoggedOut asserts a 204 with no body and no-store.
func loLoggedOut(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("%s: %d, Cache-Control %q, body %q; want 204, no-store, no body", what, rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
}

// TestLogout: a logout with the access token revokes its session (the
// refresh token and the session's other access tokens are refused) and
// is idempotent; other sessions live on.
func TestLogout(t *testing.T) {
	e := rtSetup(t)
	logout := e.auth.LogoutHandler()
	first := e.signIn(t)
	second := e.mustRefresh(t, first.RefreshToken)
	other := e.signIn(t)
	loLoggedOut(t, "logout", loPost(logout, second.AccessToken, "", ""))
	rtRefused(t, "the refresh token after logout", e.rtRefresh(second.RefreshToken), http.StatusBadRequest, "invalid_grant")
	for _, at := range []string{first.AccessToken, second.AccessToken} {
		if _, ok := ltVerify(e.auth, at); ok {
			t.Error("an access token of the session is accepted after logout")
		}
	}
	if st := e.auth.Stats().Refusals; st["refresh_reused"] != 0 || st["revoked"] != 2 {
		t.Errorf("refresh_reused %d, revoked %d; want 0 (a logout is no reuse) and 2", st["refresh_reused"], st["revoked"])
	}
	loLoggedOut(t, "a second logout", loPost(logout, second.AccessToken, "", ""))
	if _, ok := ltVerify(e.auth, other.AccessToken); !ok {
		t.Error("another session's access token is refused")
	}
	e.mustRefresh(t, other.RefreshToken)
}

// TestLogoutRefreshToken: the refresh token alone, as JSON or as a form,
// logs out too; an unknown token, one of another shape, and one already
// logged out are answered 204 (RFC 7009 §2.2).
func TestLogoutRefreshToken(t *testing.T) {
	e := rtSetup(t)
	logout := e.auth.LogoutHandler()
	for _, tc := range []struct{ name, ct, body string }{
		{"JSON", "application/json", `{"refresh_token":"%s"}`},
		{"form", "application/x-www-form-urlencoded", "refresh_token=%s"},
	} {
		tr := e.signIn(t)
		loLoggedOut(t, tc.name, loPost(logout, "", tc.ct, strings.Replace(tc.body, "%s", tr.RefreshToken, 1)))
		rtRefused(t, tc.name+": refresh after logout", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
		if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
			t.Errorf("%s: the session's access token is accepted after logout", tc.name)
		}
		loLoggedOut(t, tc.name+" again", loPost(logout, "", tc.ct, strings.Replace(tc.body, "%s", tr.RefreshToken, 1)))
	}
	loLoggedOut(t, "an unknown token", loPost(logout, "", "application/json", rtJSON(strings.Repeat("B", 43))))
	loLoggedOut(t, "a token of another shape", loPost(logout, "", "application/json", rtJSON("x")))
	// Both at once: each one's session ends.
	a, b := e.signIn(t), e.signIn(t)
	loLoggedOut(t, "both", loPost(logout, a.AccessToken, "application/json", rtJSON(b.RefreshToken)))
	for _, tr := range []slTokens{a, b} {
		rtRefused(t, "refresh after logging out both", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
	}
}

// TestLogoutDeniesToken: a logout denies the access token's jti until its
// exp, so that a token issued outside a session (Issue) is refused after
// its logout; other tokens of the user are not.
func TestLogoutDeniesToken(t *testing.T) {
	e := rtSetup(t)
	u := jwtguard.User{ID: "u-alice", Username: "alice"}
	tr, err := e.auth.Issue(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.auth.Issue(context.Background(), u)
	loLoggedOut(t, "logout", loPost(e.auth.LogoutHandler(), tr.AccessToken, "", ""))
	if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
		t.Error("the logged-out token is accepted")
	}
	if _, ok := ltVerify(e.auth, other.AccessToken); !ok {
		t.Error("another token of the user is refused")
	}
	// Inside the leeway after its exp, Verify takes a token: still denied.
	e.clock.Add(15*time.Minute + 5*time.Second)
	if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
		t.Error("the logged-out token is accepted inside the leeway")
	}
	if _, ok := ltVerify(e.auth, other.AccessToken); !ok {
		t.Error("another token is refused inside the leeway")
	}
}

// TestLogoutExpiredToken: an access token past its exp (and the leeway),
// but otherwise valid, still logs its session out.
func TestLogoutExpiredToken(t *testing.T) {
	e := rtSetup(t)
	tr := e.signIn(t)
	e.clock.Add(time.Hour)
	loLoggedOut(t, "logout with an expired token", loPost(e.auth.LogoutHandler(), tr.AccessToken, "", ""))
	rtRefused(t, "refresh after logout", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
}

// TestLogoutRefusals: each refusal of the logout handler, with the status
// and code it should have, and none of them ends the session.
func TestLogoutRefusals(t *testing.T) {
	e := rtSetup(t)
	logout := e.auth.LogoutHandler()
	tr := e.signIn(t)
	forged := tr.AccessToken[:len(tr.AccessToken)-2] + "AA"
	for _, tc := range []struct {
		name, method, authz, ct, body string
		status                        int
		code                          string
		challenge                     bool
	}{
		{"GET", http.MethodGet, "Bearer " + tr.AccessToken, "", "", 405, "method_not_allowed", false},
		{"nothing", http.MethodPost, "", "", "", 401, "unauthorized", true},
		{"an empty JSON body", http.MethodPost, "", "application/json", "{}", 401, "unauthorized", true},
		{"a forged token", http.MethodPost, "Bearer " + forged, "", "", 401, "invalid_token", true},
		{"a forged token and a refresh token", http.MethodPost, "Bearer " + forged, "application/json", rtJSON(tr.RefreshToken), 401, "invalid_token", true},
		{"a malformed header", http.MethodPost, "Bearer a b", "", "", 400, "invalid_request", true},
		{"a body without a Content-Type", http.MethodPost, "", "", rtJSON(tr.RefreshToken), 415, "unsupported_media_type", false},
		{"text/plain", http.MethodPost, "", "text/plain", tr.RefreshToken, 415, "unsupported_media_type", false},
		{"malformed JSON", http.MethodPost, "", "application/json", `{"refresh_token":`, 400, "invalid_request", false},
		{"another member", http.MethodPost, "", "application/json", `{"refresh_token":"x","grant_type":"refresh_token"}`, 400, "invalid_request", false},
		{"a repeated form field", http.MethodPost, "", "application/x-www-form-urlencoded", "refresh_token=a&refresh_token=" + tr.RefreshToken, 400, "invalid_request", false},
		{"a body over the cap", http.MethodPost, "", "application/json", `{"refresh_token":"` + strings.Repeat("x", 5000) + `"}`, 413, "request_too_large", false},
	} {
		r := httptest.NewRequest(tc.method, "/api/auth/logout", strings.NewReader(tc.body))
		if tc.authz != "" {
			r.Header.Set("Authorization", tc.authz)
		}
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		rec := httptest.NewRecorder()
		logout.ServeHTTP(rec, r)
		rtRefused(t, tc.name, rec, tc.status, tc.code)
		if got := rec.Header().Get("WWW-Authenticate") != ""; got != tc.challenge {
			t.Errorf("%s: challenge %q, want one: %v", tc.name, rec.Header().Get("WWW-Authenticate"), tc.challenge)
		}
	}
	e.mustRefresh(t, tr.RefreshToken) // the session lives
}

// loFailingSessions is a session store whose revocations fail.
type loFailingSessions struct{ jwtguard.SessionStore }

func (loFailingSessions) RevokeSession(context.Context, string, time.Time) error {
	return errors.New("read-only replica")
}

func (loFailingSessions) RevokeUserSessions(context.Context, string, time.Time) error {
	return errors.New("read-only replica")
}

// TestLogoutStoreFails: a logout whose store fails is 503 with
// Retry-After, no challenge, logged at Error: the client must not think it
// logged out.
func TestLogoutStoreFails(t *testing.T) {
	var log bytes.Buffer
	inner := jwtguard.NewMemorySessionStore()
	a := ltAuth(t, jwtguard.WithSessions(loFailingSessions{inner}), vtLogged(&log))
	tr := slDecode(t, ltLogin(a.LoginHandler(ltStore(t)), ltAlice).Body.Bytes())
	for name, h := range map[string]http.Handler{"logout": a.LogoutHandler(), "everywhere": a.LogoutEverywhereHandler()} {
		for _, rec := range []*httptest.ResponseRecorder{
			loPost(h, tr.AccessToken, "", ""),
			loPost(h, "", "application/json", rtJSON(tr.RefreshToken)),
		} {
			if name == "everywhere" && rec.Code == http.StatusUnauthorized {
				continue // the refresh token alone is no credential for it
			}
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("%s: %d, Retry-After %q, challenge %q; want 503 with Retry-After, no challenge", name, rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("WWW-Authenticate"))
			}
		}
	}
	if !strings.Contains(log.String(), `"level":"ERROR"`) || !strings.Contains(log.String(), "read-only replica") {
		t.Errorf("not logged at Error:\n%s", log.String())
	}
	// Logout everywhere verifies its token as Verify does, revocation
	// check included: a store that cannot answer it is no refusal of the
	// token either.
	b := ltAuth(t, jwtguard.WithSessions(loFailingRevoked{inner}))
	rec := loPost(b.LogoutEverywhereHandler(), tr.AccessToken, "", "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("everywhere, Revoked fails: %d, Retry-After %q, challenge %q; want 503 with Retry-After, no challenge", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("WWW-Authenticate"))
	}
}

// loFailingRevoked is a session store whose Revoked fails.
type loFailingRevoked struct{ jwtguard.SessionStore }

func (loFailingRevoked) Revoked(context.Context, string, string, time.Time) (bool, error) {
	return false, errors.New("timeout")
}

// TestLogoutEverywhere: with a valid access token, every session of its
// user ends (their refresh and access tokens are refused), other users'
// live on, and the token itself is refused after; it takes no expired,
// revoked or missing token.
func TestLogoutEverywhere(t *testing.T) {
	e := rtSetup(t)
	everywhere := e.auth.LogoutEverywhereHandler()
	phone, laptop := e.signIn(t), e.signIn(t)
	admin := slDecode(t, ltLogin(e.login, ltAdmin).Body.Bytes())
	loLoggedOut(t, "logout everywhere", loPost(everywhere, phone.AccessToken, "", ""))
	for _, tr := range []slTokens{phone, laptop} {
		rtRefused(t, "refresh after logout everywhere", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
		if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
			t.Error("an access token of the user is accepted after logout everywhere")
		}
	}
	if _, ok := ltVerify(e.auth, admin.AccessToken); !ok {
		t.Error("another user's access token is refused")
	}
	rtRefused(t, "again, with the revoked token", loPost(everywhere, phone.AccessToken, "", ""), 401, "invalid_token")
	rtRefused(t, "no token", loPost(everywhere, "", "", ""), 401, "unauthorized")
	e.clock.Add(time.Second) // a login at the instant of the revocation is refused with it
	fresh := e.signIn(t)
	e.clock.Add(time.Hour)
	rtRefused(t, "an expired token", loPost(everywhere, fresh.AccessToken, "", ""), 401, "invalid_token")
	e.mustRefresh(t, fresh.RefreshToken) // a session started after lives on
	rec := httptest.NewRecorder()
	everywhere.ServeHTTP(rec, vtGet("/", "Bearer "+fresh.AccessToken))
	rtRefused(t, "GET", rec, 405, "method_not_allowed")
}

// TestLogoutHandlersPanic: neither handler can be built without a session
// store.
func TestLogoutHandlersPanic(t *testing.T) {
	a := ltAuth(t)
	vtCheckPanics(t, map[string]func(){
		"logout":     func() { a.LogoutHandler() },
		"everywhere": func() { a.LogoutEverywhereHandler() },
	}, "WithSessions")
}

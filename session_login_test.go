package jwtguard_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// slTokens is a login answer with a refresh token.
type slTokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func slDecode(t testing.TB, body []byte) slTokens {
	t.Helper()
	var tr slTokens
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("login answer %s: %v", body, err)
	}
	return tr
}

// TestLoginStartsSession: with WithSessions, a login starts a session in
// the store, answers a refresh token of 256 random bits (the store keeps
// only its hash) beside the access token, whose sid names the session and
// whose exp is no later than the session's end; revoking the session
// refuses the access token. Without the option there is no refresh token.
func TestLoginStartsSession(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	store := jwtguard.NewMemorySessionStore()
	a := ltAuth(t, jwtguard.WithSessions(store), jwtguard.WithClock(func() time.Time { return now }))
	rec := ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	tr := slDecode(t, rec.Body.Bytes())
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tr.RefreshToken)
	if err != nil || len(raw) != 32 {
		t.Fatalf("refresh token %q: %d bytes, %v; want 32 random bytes, base64url", tr.RefreshToken, len(raw), err)
	}
	if strings.Contains(rec.Body.String(), "sid") {
		t.Errorf("the answer names the session: %s", rec.Body)
	}
	s, err := store.LookupSession(ctx, jwtguard.HashRefreshToken(tr.RefreshToken))
	if err != nil {
		t.Fatalf("the store has no session of the refresh token: %v", err)
	}
	if jwtguard.HashRefreshToken(tr.RefreshToken) != sha256.Sum256([]byte(tr.RefreshToken)) {
		t.Error("HashRefreshToken is not the token's SHA-256")
	}
	switch {
	case s.UserID != "u-alice", !s.CreatedAt.Equal(now), !s.ExpiresAt.Equal(now.Add(7 * 24 * time.Hour)), s.IdleTimeout != 0, !s.RevokedAt.IsZero():
		t.Errorf("session %+v; want alice's, from now, for 7 days, no idle timeout", s)
	}
	p := ltPayload(t, tr.AccessToken)
	if p["sid"] != s.ID {
		t.Errorf("access token sid %v, want the session's %q", p["sid"], s.ID)
	}
	c, ok := ltVerify(a, tr.AccessToken)
	if !ok || c.SessionID != s.ID {
		t.Fatalf("Verify: %v, %+v; want the session's claims", ok, c)
	}
	if err := store.RevokeSession(ctx, s.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, ok := ltVerify(a, tr.AccessToken); ok {
		t.Error("the access token of a revoked session is accepted")
	}
	// Without a store: an access token alone, no sid.
	rec = ltLogin(ltAuth(t).LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`)
	if strings.Contains(rec.Body.String(), "refresh_token") || ltPayload(t, slDecode(t, rec.Body.Bytes()).AccessToken)["sid"] != nil {
		t.Errorf("without WithSessions: %s", rec.Body)
	}
}

// TestLoginSessionLifetime: WithSessionLifetime sets the session's end and
// idle timeout; an access token never outlives its session (its exp and
// expires_in are cut to the session's end, and to its idle deadline);
// lifetimes out of range are refused by New.
func TestLoginSessionLifetime(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	store := jwtguard.NewMemorySessionStore()
	a := ltAuth(t, jwtguard.WithSessions(store), jwtguard.WithClock(func() time.Time { return now }),
		jwtguard.WithTokenLifetime(time.Hour), jwtguard.WithSessionLifetime(10*time.Minute, 5*time.Minute))
	tr := slDecode(t, ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`).Body.Bytes())
	s, err := store.LookupSession(ctx, jwtguard.HashRefreshToken(tr.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	if !s.ExpiresAt.Equal(now.Add(10*time.Minute)) || s.IdleTimeout != 5*time.Minute {
		t.Errorf("session ends %v, idle %v; want now+10m, 5m", s.ExpiresAt, s.IdleTimeout)
	}
	if exp := int64(ltPayload(t, tr.AccessToken)["exp"].(float64)); exp != now.Add(5*time.Minute).Unix() || tr.ExpiresIn != 300 {
		t.Errorf("access token exp %d, expires_in %d; want the session's idle deadline (%d) and 300", exp, tr.ExpiresIn, now.Add(5*time.Minute).Unix())
	}
	a = ltAuth(t, jwtguard.WithSessions(store), jwtguard.WithClock(func() time.Time { return now }),
		jwtguard.WithTokenLifetime(time.Hour), jwtguard.WithSessionLifetime(10*time.Minute, 0))
	tr = slDecode(t, ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`).Body.Bytes())
	if exp := int64(ltPayload(t, tr.AccessToken)["exp"].(float64)); exp != now.Add(10*time.Minute).Unix() || tr.ExpiresIn != 600 {
		t.Errorf("access token exp %d, expires_in %d; want the session's end (%d) and 600", exp, tr.ExpiresIn, now.Add(10*time.Minute).Unix())
	}
	for _, tc := range []struct {
		name           string
		lifetime, idle time.Duration
	}{
		{"zero lifetime", 0, 0},
		{"under a minute", 59 * time.Second, 0},
		{"negative idle", time.Hour, -time.Second},
		{"idle past the lifetime", time.Hour, 2 * time.Hour},
	} {
		if _, err := jwtguard.New(testKey(t, ltSecret), jwtguard.WithSessionLifetime(tc.lifetime, tc.idle)); err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}

// slFailingCreate is a session store whose CreateSession fails.
type slFailingCreate struct{ jwtguard.SessionStore }

func (slFailingCreate) CreateSession(context.Context, jwtguard.Session, jwtguard.TokenHash) error {
	return errors.New("disk full")
}

// TestLoginSessionStoreFails: a store that cannot start the session makes
// the login 503 with Retry-After, with no token in the answer, logged at
// Error level.
func TestLoginSessionStoreFails(t *testing.T) {
	var log bytes.Buffer
	a := ltAuth(t, jwtguard.WithSessions(slFailingCreate{jwtguard.NewMemorySessionStore()}), vtLogged(&log))
	rec := ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if strings.Contains(rec.Body.String(), "access_token") {
		t.Errorf("a token in the refusal: %s", rec.Body)
	}
	if !strings.Contains(log.String(), `"level":"ERROR"`) || !strings.Contains(log.String(), "disk full") {
		t.Errorf("the store's failure is not logged at Error level:\n%s", log.String())
	}
}

// TestFromEnvRefreshExpiresIn: JWT_REFRESH_EXPIRES_IN sets a session's
// lifetime in JWT_EXPIRES_IN's forms; under a minute, or unreadable, it is
// an error that names the variable; WithSessionLifetime overrides it.
func TestFromEnvRefreshExpiresIn(t *testing.T) {
	ctx := context.Background()
	login := func(t *testing.T, v string, opts ...jwtguard.Option) (jwtguard.Session, error) {
		env := map[string]string{"JWT_SECRET": strings.Repeat("v", 40), "JWT_REFRESH_EXPIRES_IN": v}
		store := jwtguard.NewMemorySessionStore()
		a, err := jwtguard.FromLookupEnv(func(k string) (string, bool) { s, ok := env[k]; return s, ok },
			append([]jwtguard.Option{jwtguard.WithSessions(store), vtLogged(new(bytes.Buffer)), ltBudget(0, 0)}, opts...)...)
		if err != nil {
			return jwtguard.Session{}, err
		}
		tr := slDecode(t, ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`).Body.Bytes())
		return store.LookupSession(ctx, jwtguard.HashRefreshToken(tr.RefreshToken))
	}
	for v, want := range map[string]time.Duration{"30 days": 30 * 24 * time.Hour, "3600": time.Hour, "1h30m": 90 * time.Minute} {
		s, err := login(t, v)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if got := s.ExpiresAt.Sub(s.CreatedAt); got != want {
			t.Errorf("%q: session of %v, want %v", v, got, want)
		}
	}
	for _, v := range []string{"30s", "", "2 hourz"} {
		if _, err := login(t, v); err == nil || !strings.Contains(err.Error(), "JWT_REFRESH_EXPIRES_IN") {
			t.Errorf("%q: %v; want an error naming JWT_REFRESH_EXPIRES_IN", v, err)
		}
	}
	s, err := login(t, "30 days", jwtguard.WithSessionLifetime(time.Hour, 0))
	if err != nil || s.ExpiresAt.Sub(s.CreatedAt) != time.Hour {
		t.Errorf("WithSessionLifetime after the environment: %v, %v; want an hour", s.ExpiresAt.Sub(s.CreatedAt), err)
	}
}

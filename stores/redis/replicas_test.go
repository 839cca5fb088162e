package redis_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/redis"
)

// replica is one server of a service: an Auth whose sessions and login
// throttle are a Store of its own on the shared server and prefix.
type replica struct {
	mux http.Handler
}

func newReplica(t *testing.T, prefix string, users jwtguard.UserWriter) replica {
	t.Helper()
	s := openURL(t, testserver.Redis(t), redis.WithPrefix(prefix))
	key, err := jwtguard.HMACKey("HS256", []byte("a-test-secret-of-32-bytes-or-more!!"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := jwtguard.New(key, jwtguard.WithSessions(s), jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithLoginPolicy(jwtguard.LoginPolicy{Throttle: s, NoBudget: true}))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /login", auth.LoginHandler(users))
	mux.Handle("POST /refresh", auth.RefreshHandler(users.(jwtguard.UserByIDStore)))
	mux.Handle("GET /me", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	return replica{mux}
}

func (r replica) post(t *testing.T, path, body string) (int, jwtguard.TokenResponse) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	r.mux.ServeHTTP(rec, req)
	var tr jwtguard.TokenResponse
	json.Unmarshal(rec.Body.Bytes(), &tr)
	return rec.Code, tr
}

func (r replica) get(t *testing.T, access string) int {
	t.Helper()
	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	rec := httptest.NewRecorder()
	r.mux.ServeHTTP(rec, req)
	return rec.Code
}

// Two replicas on one Redis share the login throttle (an account's ten
// failed logins, wherever they land, throttle it on both) and the
// sessions (a token refreshed on one is reuse on the other, which revokes
// the session there too).
func TestReplicasShare(t *testing.T) {
	hash, err := jwtguard.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	users, err := jwtguard.NewMemoryStore(
		jwtguard.User{ID: "1", Username: "alice", PasswordHash: hash},
		jwtguard.User{ID: "2", Username: "bob", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	p := prefix(t)
	a, b := newReplica(t, p, users), newReplica(t, p, users)
	replicas := []replica{a, b}

	for i := range 10 {
		if code, _ := replicas[i%2].post(t, "/login", `{"username":"alice","password":"wrong"}`); code != http.StatusUnauthorized {
			t.Fatalf("failed login %d = %d; want 401", i+1, code)
		}
	}
	for name, r := range map[string]replica{"a": a, "b": b} {
		if code, _ := r.post(t, "/login", `{"username":"alice","password":"correct horse battery staple"}`); code != http.StatusTooManyRequests {
			t.Errorf("login on replica %s after ten failures across both = %d; want 429", name, code)
		}
	}

	code, first := a.post(t, "/login", `{"username":"bob","password":"correct horse battery staple"}`)
	if code != http.StatusOK || first.RefreshToken == "" {
		t.Fatalf("bob's login on a = %d, refresh token %q", code, first.RefreshToken)
	}
	code, second := b.post(t, "/refresh", `{"refresh_token":"`+first.RefreshToken+`"}`)
	if code != http.StatusOK {
		t.Fatalf("refresh on b = %d; want 200", code)
	}
	if code := b.get(t, second.AccessToken); code != http.StatusOK {
		t.Fatalf("GET on b with the refreshed access token = %d; want 200", code)
	}
	if code, _ := a.post(t, "/refresh", `{"refresh_token":"`+first.RefreshToken+`"}`); code == http.StatusOK {
		t.Fatal("the spent refresh token refreshed again on a")
	}
	if code := b.get(t, second.AccessToken); code != http.StatusUnauthorized {
		t.Errorf("GET on b after the reuse on a = %d; want 401, the session revoked", code)
	}
	if code, _ := b.post(t, "/refresh", `{"refresh_token":"`+second.RefreshToken+`"}`); code == http.StatusOK {
		t.Error("the session's newest refresh token still works after the reuse")
	}
}

package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// fleet starts two server processes, A and B, that share a Redis (a
// server of the test's own) for sessions and throttles and one JWT_SECRET,
// as replicas behind a load balancer do; each keeps its users in its own
// data directory (the demo accounts, the same in both).
func fleet(t *testing.T) (a, b *process, redis *testserver.RedisServer) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server, and a Redis")
	}
	redis = testserver.StartRedis(t)
	env := []string{"JWT_SECRET=" + testSecret, "REDIS_URL=" + redis.URL}
	a = startProcess(t, env, "-data-dir", t.TempDir())
	b = startProcess(t, env, "-data-dir", t.TempDir())
	return a, b, redis
}

// Log in on A, refresh on B, log out on A: the access token is refused on
// B, and the refresh token too; a reuse detected on B revokes a session
// started on A.
func TestReplicasShareSessions(t *testing.T) {
	a, b, _ := fleet(t)
	first := a.login("alice", demoPassword)
	if got := b.get("/api/user/profile", first.AccessToken); got != http.StatusOK {
		t.Fatalf("A's access token on B: %d; want 200", got)
	}
	second, status, body, err := b.refresh(first.RefreshToken)
	if err != nil || status != http.StatusOK {
		t.Fatalf("A's refresh token refreshed on B: %d %s %v", status, body, err)
	}
	if status, body, err := a.post("/api/auth/logout", second.AccessToken, ""); err != nil || status != http.StatusNoContent {
		t.Fatalf("logout on A with B's access token: %d %s %v", status, body, err)
	}
	if got := b.get("/api/user/profile", second.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("the logged-out access token on B: %d; want 401", got)
	}
	if _, status, _, _ := b.refresh(second.RefreshToken); status != http.StatusBadRequest {
		t.Errorf("the logged-out session's refresh token on B: %d; want 400", status)
	}

	other := a.login("alice", demoPassword)
	next, status, _, _ := a.refresh(other.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh on A: %d", status)
	}
	if _, status, _, _ := b.refresh(other.RefreshToken); status != http.StatusBadRequest {
		t.Fatalf("the spent token on B: %d; want 400 (reuse)", status)
	}
	if got := a.get("/api/user/profile", next.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("after a reuse seen on B, the session's newest access token on A: %d; want 401", got)
	}
}

// Wrong passwords for one account spread over A and B are throttled as
// one account: the default burst of 10 failures in all, not 10 on each.
func TestReplicasShareTheThrottle(t *testing.T) {
	a, b, _ := fleet(t)
	const burst = 10 // LoginPolicy.Account's default
	for i := range burst {
		srv := []*process{a, b}[i%2]
		status, body, err := srv.post("/api/auth/login", "", `{"username":"alice","password":"wrong guess"}`)
		if err != nil || status != http.StatusUnauthorized {
			t.Fatalf("guess %d on %s: %d %s %v; want 401", i, srv.base, status, body, err)
		}
	}
	for _, srv := range []*process{a, b} {
		status, _, err := srv.post("/api/auth/login", "", `{"username":"alice","password":"wrong guess"}`)
		if err != nil || status != http.StatusTooManyRequests {
			t.Errorf("guess %d on %s: %d %v; want 429: the replicas throttle alice as one account", burst, srv.base, status, err)
		}
	}
}

// SIGKILL of one replica in the middle of rotations spread over both
// loses no family and leaves no refresh token valid twice.
func TestReplicasSIGKILLDuringRotations(t *testing.T) {
	a, b, _ := fleet(t)
	fams := rotateUntilKilled(t, []*process{a, b}, a, 8, 200)
	committed, not := checkFamilies(t, b, fams)
	t.Logf("%d families; of those whose answer the kill lost, %d rotations had committed and %d had not", len(fams), committed, not)
}

// A Redis that goes away fails closed: verified requests with a session,
// logins and refreshes are answered 503 with Retry-After, within a bound
// (the store's timeout), never let through.
func TestReplicasRedisGoneFailsClosed(t *testing.T) {
	a, _, redis := fleet(t)
	tr := a.login("alice", demoPassword)
	redis.Kill()
	start := time.Now()
	check := func(what string, status int, hdr http.Header, err error) {
		t.Helper()
		if err != nil || status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
			t.Errorf("%s with Redis gone: %d, Retry-After %q, %v; want 503 with Retry-After", what, status, hdr.Get("Retry-After"), err)
		}
	}
	status, hdr, err := a.request("GET", "/api/user/profile", tr.AccessToken, "")
	check("a verified request", status, hdr, err)
	status, hdr, err = a.request("POST", "/api/auth/login", "", `{"username":"alice","password":"`+demoPassword+`"}`)
	check("a login", status, hdr, err)
	status, hdr, err = a.request("POST", "/api/auth/refresh", "", `{"refresh_token":"`+tr.RefreshToken+`"}`)
	check("a refresh", status, hdr, err)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the three refusals took %v; want each within the store's timeout", d)
	}
	if log := a.log.String(); !strings.Contains(log, "level=ERROR") {
		t.Errorf("the store's failure is not logged at Error:\n%s", log)
	}
}

package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// A fleet is two server processes, A and B, that share a PostgreSQL
// database (users and sessions) and a Redis (sessions and throttles),
// servers of the test's own, and one JWT_SECRET, as replicas behind a
// load balancer do.
type fleetOf struct {
	a, b  *process
	pg    *testserver.PostgresServer
	redis *testserver.RedisServer
}

func fleet(t *testing.T) fleetOf { return fleetWith(t, true) }

// fleetWith is fleet, without Redis unless withRedis: the sessions are
// then in PostgreSQL too.
func fleetWith(t *testing.T, withRedis bool) fleetOf {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server, PostgreSQL and Redis")
	}
	f := fleetOf{pg: testserver.StartPostgres(t)}
	env := []string{"JWT_SECRET=" + testSecret, "DATABASE_URL=" + f.pg.NewDatabase(t)}
	if withRedis {
		f.redis = testserver.StartRedis(t)
		env = append(env, "REDIS_URL="+f.redis.URL)
	}
	f.a = startProcess(t, env, "-data-dir", t.TempDir())
	f.b = startProcess(t, env, "-data-dir", t.TempDir())
	return f
}

// Log in on A, refresh on B, log out on A: the access token is refused on
// B, and the refresh token too; a reuse detected on B revokes a session
// started on A; an account registered on A logs in on B.
func TestReplicasShareSessions(t *testing.T) {
	f := fleet(t)
	a, b := f.a, f.b
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

	const password = "correct horse battery staple"
	if status, body, err := a.post("/api/auth/register", "", `{"username":"carol","password":"`+password+`"}`); err != nil || status != http.StatusCreated {
		t.Fatalf("register on A: %d %s %v", status, body, err)
	}
	b.login("carol", password)
	if status, _, _ := b.post("/api/auth/register", "", `{"username":"Carol","password":"`+password+`"}`); status != http.StatusConflict {
		t.Errorf("registering Carol on B after carol on A: %d; want 409", status)
	}
}

// Wrong passwords for one account spread over A and B are throttled as
// one account: the default burst of 10 failures in all, not 10 on each.
func TestReplicasShareTheThrottle(t *testing.T) {
	f := fleet(t)
	a, b := f.a, f.b
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
// With the sessions in Redis, and in PostgreSQL.
func TestReplicasSIGKILLDuringRotations(t *testing.T) {
	for name, withRedis := range map[string]bool{"sessions in Redis": true, "sessions in PostgreSQL": false} {
		t.Run(name, func(t *testing.T) {
			f := fleetWith(t, withRedis)
			fams := rotateUntilKilled(t, []*process{f.a, f.b}, f.a, 8, 200)
			committed, not := checkFamilies(t, f.b, fams)
			t.Logf("%d families; of those whose answer the kill lost, %d rotations had committed and %d had not", len(fams), committed, not)
		})
	}
}

// A Redis or a PostgreSQL that goes away fails closed: verified requests
// with a session, logins and refreshes are answered 503 with
// Retry-After, within a bound (the stores' timeouts), never let through.
func TestReplicasStoreGoneFailsClosed(t *testing.T) {
	for _, gone := range []string{"Redis", "PostgreSQL"} {
		t.Run(gone, func(t *testing.T) {
			f := fleet(t)
			tr := f.a.login("alice", demoPassword)
			if gone == "Redis" {
				f.redis.Kill()
			} else {
				f.pg.Kill()
			}
			start := time.Now()
			check := func(what string, status int, hdr http.Header, err error) {
				t.Helper()
				if err != nil || status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
					t.Errorf("%s with %s gone: %d, Retry-After %q, %v; want 503 with Retry-After", what, gone, status, hdr.Get("Retry-After"), err)
				}
			}
			if gone == "Redis" { // Verify asks the session store, which is Redis
				status, hdr, err := f.a.request("GET", "/api/user/profile", tr.AccessToken, "")
				check("a verified request", status, hdr, err)
			}
			status, hdr, err := f.a.request("POST", "/api/auth/login", "", `{"username":"alice","password":"`+demoPassword+`"}`)
			check("a login", status, hdr, err)
			status, hdr, err = f.a.request("POST", "/api/auth/refresh", "", `{"refresh_token":"`+tr.RefreshToken+`"}`)
			check("a refresh", status, hdr, err)
			status, hdr, err = f.a.request("POST", "/api/auth/register", "", `{"username":"dora","password":"correct horse battery staple"}`)
			check("a registration", status, hdr, err)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the refusals took %v; want each within the store's timeout", d)
			}
			if log := f.a.log.String(); !strings.Contains(log, "level=ERROR") {
				t.Errorf("the store's failure is not logged at Error:\n%s", log)
			}
		})
	}
}

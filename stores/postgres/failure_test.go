package postgres_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/postgres"
)

// slack is what a call may take past the deadline that ends it: a
// loaded test machine's scheduling, never a wait for the database.
const slack = 2 * time.Second

// calls are every method of a Store, each at a fresh key, for the tests
// of a database that stopped answering.
func calls(s *postgres.Store, h jwtguard.TokenHash, sid string) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"Revoked": func(ctx context.Context) error {
			_, err := s.Revoked(ctx, sid, "jti", t0.Add(time.Minute))
			return err
		},
		"RotateSession": func(ctx context.Context) error {
			_, err := s.RotateSession(ctx, h, newHash(), t0.Add(time.Minute), 0)
			return err
		},
		"LookupSession": func(ctx context.Context) error {
			_, err := s.LookupSession(ctx, h)
			return err
		},
		"CreateSession": func(ctx context.Context) error {
			return s.CreateSession(ctx, newSession("u-1", t0), newHash())
		},
		"RevokeSession": func(ctx context.Context) error { return s.RevokeSession(ctx, sid, t0.Add(time.Minute)) },
		"RevokeUserSessions": func(ctx context.Context) error {
			return s.RevokeUserSessions(ctx, "u-2", t0.Add(time.Minute))
		},
		"DenyAccessToken": func(ctx context.Context) error { return s.DenyAccessToken(ctx, "jti-9", t0.Add(time.Hour)) },
		"LookupUser": func(ctx context.Context) error {
			_, err := s.LookupUser(ctx, "alice")
			return err
		},
		"LookupUserByID": func(ctx context.Context) error {
			_, err := s.LookupUserByID(ctx, "u-1")
			return err
		},
		"CreateUser": func(ctx context.Context) error {
			return s.CreateUser(ctx, jwtguard.User{ID: "u-" + newSession("", t0).ID, Username: "bob" + newSession("", t0).ID, PasswordHash: testHash()})
		},
		"SetPasswordHash": func(ctx context.Context) error { return s.SetPasswordHash(ctx, "u-1", testHash()) },
	}
}

// failsWithin runs call and fails t unless it returns an error within
// bound.
func failsWithin(t *testing.T, what string, bound time.Duration, call func() error) {
	t.Helper()
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- call() }()
	select {
	case err := <-done:
		d := time.Since(began)
		if err == nil {
			t.Errorf("%s = nil error after %v; want an error", what, d)
		} else if d > bound {
			t.Errorf("%s returned after %v; want within %v (%v)", what, d.Round(time.Millisecond), bound, err)
		} else {
			t.Logf("%s failed after %v: %v", what, d.Round(time.Millisecond), err)
		}
	case <-time.After(bound + 30*time.Second):
		t.Fatalf("%s still runs %v after it should have failed: it hangs", what, bound+30*time.Second)
	}
}

// A database that stops answering (its server frozen: connections open,
// nothing answers) makes every call fail within the Store's timeout, or
// sooner when the caller's context ends; calls work again once it
// answers, and fail at once when it is gone (killed).
func TestServerGoesAway(t *testing.T) {
	srv := testserver.StartPostgres(t)
	url := srv.NewDatabase(t)
	const timeout = 500 * time.Millisecond
	s, schema := open(t, url, postgres.WithTimeout(timeout))
	patient := openSchema(t, url, schema, postgres.WithTimeout(time.Hour))
	ctx := t.Context()
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "alice", PasswordHash: testHash()}); err != nil {
		t.Fatal(err)
	}
	sess, h := login(t, s, "u-1", t0)
	if _, err := patient.Revoked(ctx, sess.ID, "", t0); err != nil {
		t.Fatal(err) // a connection of its own, open and idle
	}

	if err := srv.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Run("Frozen/Timeout", func(t *testing.T) {
		for name, call := range calls(s, h, sess.ID) {
			failsWithin(t, name, timeout+slack, func() error { return call(ctx) })
		}
	})
	t.Run("Frozen/Context", func(t *testing.T) {
		for name, call := range calls(patient, h, sess.ID) {
			failsWithin(t, name+" (context ending after 200ms; Store timeout an hour)", 200*time.Millisecond+slack, func() error {
				ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
				return call(ctx)
			})
		}
	})
	t.Run("Frozen/Open", func(t *testing.T) {
		failsWithin(t, "Open", timeout+slack, func() error {
			s, err := postgres.Open(ctx, url, postgres.WithSchema(schema), postgres.WithTimeout(timeout))
			if err == nil {
				s.Close()
			}
			return err
		})
	})

	if err := srv.Thaw(); err != nil {
		t.Fatal(err)
	}
	t.Run("Thawed", func(t *testing.T) {
		// The pool replaces the connections the timeouts closed. (What
		// the frozen server had read of the calls that timed out, it may
		// still carry out once thawed, as a server does whose client
		// went away: the tests look at a new session.)
		sess, h := login(t, s, "u-3", t0)
		if r, err := s.Revoked(ctx, sess.ID, "", t0.Add(time.Minute)); err != nil || r {
			t.Errorf("Revoked once the server answers again = %v, %v; want false, nil", r, err)
		}
		if _, err := s.RotateSession(ctx, h, newHash(), t0.Add(time.Minute), 0); err != nil {
			t.Errorf("RotateSession once the server answers again = %v", err)
		}
		if _, err := patient.LookupUser(ctx, "alice"); err != nil {
			t.Errorf("LookupUser once the server answers again = %v", err)
		}
	})

	srv.Kill()
	t.Run("Killed", func(t *testing.T) {
		for name, call := range calls(s, h, sess.ID) {
			failsWithin(t, name, timeout+slack, func() error { return call(ctx) })
		}
	})
	// Close does not hang on the dead server's connections.
	closed := make(chan struct{})
	go func() { s.Close(); patient.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hangs after the server was killed")
	}
}

// Open refuses what it cannot use with an error that says why, and never
// quotes the password.
func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const password = "s3cret-Pa55word"
	closed := fmt.Sprintf("postgres://jwtguard:%s@127.0.0.1:%d/app?sslmode=disable&connect_timeout=5", password, port)
	s, err := postgres.Open(ctx, closed)
	if err == nil {
		s.Close()
		t.Fatal("Open(a closed port) = nil error")
	}
	msg := err.Error()
	for _, want := range []string{"jwtguard/postgres", fmt.Sprintf("127.0.0.1:%d", port), "app"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Open(a closed port) = %q; want it to name %q", msg, want)
		}
	}
	if strings.Contains(msg, password) {
		t.Errorf("Open(a closed port) = %q: it quotes the password", msg)
	}
	t.Logf("a closed port: %v", err)

	url := testserver.Postgres(t)
	for _, tc := range []struct {
		what, conn string
		opts       []postgres.Option
	}{
		{"a URL that does not parse", "postgres://jwtguard:" + password + "@127.0.0.1:notaport/app", nil},
		{"a URL with a bad option", "postgres://jwtguard:" + password + "@127.0.0.1/app?sslmode=sometimes", nil},
		{"a key=value string that does not parse", "host=127.0.0.1 password=" + password + " port=x", nil},
		{"a key=value string with a quoted password", "host=127.0.0.1 password='" + password + " x' port=x", nil},
		{"a URL broken before its @", "postgres://jwtguard:" + password + "%zz@127.0.0.1/app", nil},
		{"an empty schema name", url, []postgres.Option{postgres.WithSchema("")}},
		{"a schema name of 64 bytes", url, []postgres.Option{postgres.WithSchema(strings.Repeat("s", 64))}},
		{"a schema name with NUL", url, []postgres.Option{postgres.WithSchema("a\x00b")}},
		{"a schema name that is not UTF-8", url, []postgres.Option{postgres.WithSchema("\xff")}},
		{"a zero timeout", url, []postgres.Option{postgres.WithTimeout(0)}},
		{"a negative timeout", url, []postgres.Option{postgres.WithTimeout(-time.Second)}},
		{"a database that does not exist", strings.Replace(url, "/test_", "/missing_", 1), nil},
		{"a reserved schema", url, []postgres.Option{postgres.WithSchema("pg_jwtguard")}},
	} {
		s, err := postgres.Open(ctx, tc.conn, tc.opts...)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) = nil error", tc.what)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, password) || !strings.HasPrefix(msg, "jwtguard/postgres: ") {
			t.Errorf("Open(%s) = %q; want a jwtguard/postgres error without the password", tc.what, msg)
		}
		t.Logf("%s: %v", tc.what, err)
	}
}

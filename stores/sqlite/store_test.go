package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/stores/sqlite"
)

// t0 is the tests' clock: fixed instants, never the time of day.
var t0 = time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)

func newHash() jwtguard.TokenHash {
	var h jwtguard.TokenHash
	rand.Read(h[:])
	return h
}

func newSession(user string, now time.Time) jwtguard.Session {
	return jwtguard.Session{
		ID: "sid-" + rand.Text(), UserID: user,
		CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour), LastUsedAt: now,
	}
}

// login creates a session of user at now and returns it with its token.
func login(t testing.TB, s *sqlite.Store, user string, now time.Time) (jwtguard.Session, jwtguard.TokenHash) {
	t.Helper()
	sess, h := newSession(user, now), newHash()
	if err := s.CreateSession(context.Background(), sess, h); err != nil {
		t.Fatalf("CreateSession = %v", err)
	}
	return sess, h
}

// rotate rotates h at now, failing t unless it rotates.
func rotate(t testing.TB, s *sqlite.Store, h jwtguard.TokenHash, now time.Time) jwtguard.TokenHash {
	t.Helper()
	next := newHash()
	if _, err := s.RotateSession(context.Background(), h, next, now, 0); err != nil {
		t.Fatalf("RotateSession at %v = %v", now, err)
	}
	return next
}

// rawDB opens the file at path with the driver alone, for what the tests
// look at beneath the Store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A user, a session and a spent token outlive the Store: reopened, the
// file still has the user, the session is live under its current token,
// and the spent token is reuse.
func TestPersistsAcrossReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "Alice", PasswordHash: testHash(), Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	sess, a := login(t, s, "u-1", t0)
	b := rotate(t, s, a, t0.Add(time.Minute))
	if err := s.DenyAccessToken(ctx, "jti-1", t0.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openPath(t, path)
	if u, err := s.LookupUser(ctx, "alice"); err != nil || u.ID != "u-1" || u.Username != "Alice" || len(u.Roles) != 1 {
		t.Errorf("LookupUser(alice) after reopening = %+v, %v; want user u-1", u, err)
	}
	got, err := s.LookupSession(ctx, b)
	if err != nil || got.ID != sess.ID || !got.LastUsedAt.Equal(t0.Add(time.Minute)) || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Errorf("LookupSession(current token) after reopening = %+v, %v; want session %s, last used at t0+1m", got, err, sess.ID)
	}
	if r, err := s.Revoked(ctx, sess.ID, "jti-1", t0.Add(2*time.Minute)); err != nil || !r {
		t.Errorf("Revoked(the denied jti) after reopening = %v, %v; want true", r, err)
	}
	if r, err := s.Revoked(ctx, sess.ID, "jti-2", t0.Add(2*time.Minute)); err != nil || r {
		t.Errorf("Revoked(the session, another jti) after reopening = %v, %v; want false", r, err)
	}
	if _, err := s.RotateSession(ctx, a, newHash(), t0.Add(3*time.Minute), 0); !errors.Is(err, jwtguard.ErrRefreshTokenReused) {
		t.Errorf("RotateSession(the spent token) after reopening = %v; want ErrRefreshTokenReused", err)
	}
	if r, _ := s.Revoked(ctx, sess.ID, "", t0.Add(3*time.Minute)); !r {
		t.Error("the reuse after reopening did not revoke the session")
	}
}

// schema is what sqlite_master holds, and the schema version.
func schema(t *testing.T, db *sql.DB) (string, int) {
	t.Helper()
	var sqlText string
	if err := db.QueryRow("SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), char(10)) FROM (SELECT * FROM sqlite_master ORDER BY name)").Scan(&sqlText); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRow("SELECT version FROM schema_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return sqlText, v
}

func TestMigration(t *testing.T) {
	ctx := t.Context()
	s, path := open(t)
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "alice", PasswordHash: testHash()}); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	before, v := schema(t, db)
	if v != 1 {
		t.Errorf("schema version of a new database = %d; want 1", v)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}

	t.Run("AlreadyMigrated", func(t *testing.T) {
		for range 2 {
			openPath(t, path).Close()
		}
		after, v := schema(t, db)
		if after != before || v != 1 {
			t.Errorf("opening a migrated database changed its schema:\nbefore (version 1):\n%s\nafter (version %d):\n%s", before, v, after)
		}
		if _, err := openPath(t, path).LookupUser(ctx, "alice"); err != nil {
			t.Errorf("LookupUser after reopening = %v", err)
		}
	})

	t.Run("NewerSchema", func(t *testing.T) {
		if _, err := db.Exec("UPDATE schema_version SET version = 99"); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path)
		if err == nil {
			s.Close()
			t.Fatal("Open(a database of schema version 99) = nil error; want ErrSchemaTooNew")
		}
		if !errors.Is(err, sqlite.ErrSchemaTooNew) {
			t.Errorf("Open(a database of schema version 99) = %v; want ErrSchemaTooNew", err)
		}
		t.Logf("the error: %v", err)
		if after, v := schema(t, db); v != 99 || after != before {
			t.Errorf("the refused Open changed the database: version %d", v)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := sqlite.Open(t.Context(), filepath.Join(dir, "missing", "data.db")); err == nil {
		t.Error("Open in a directory that does not exist = nil error")
	}
	if _, err := sqlite.Open(t.Context(), ""); err == nil {
		t.Error("Open(\"\") = nil error")
	}
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte("not a database, but long enough to have a header of a hundred bytes or so..........................."), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(t.Context(), notDB); err == nil {
		t.Error("Open(a text file) = nil error")
	}
	// A path with the characters a file: URI gives a meaning to.
	odd := filepath.Join(dir, "a?b#c%d.db")
	s := openPath(t, odd)
	if _, err := s.LookupUser(t.Context(), "x"); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("LookupUser on %s = %v", odd, err)
	}
	if _, err := os.Stat(odd); err != nil {
		t.Errorf("the database file is not at %s: %v", odd, err)
	}
}

// Two Stores on one file stand for two processes: of concurrent rotations
// of one token from both, exactly one rotates; the others are reuse, and
// the session is revoked.
func TestRotateAcrossStores(t *testing.T) {
	a, path := open(t)
	b := openPath(t, path)
	stores := []*sqlite.Store{a, b}
	const workers, rounds = 8, 32
	for round := range rounds {
		sess, h := login(t, a, "user-"+rand.Text(), t0)
		now := t0.Add(time.Minute)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range workers {
			wg.Go(func() {
				<-start
				_, errs[i] = stores[i%2].RotateSession(t.Context(), h, newHash(), now, 0)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, jwtguard.ErrRefreshTokenReused):
				t.Errorf("round %d: rotation %d = %v; want nil or ErrRefreshTokenReused", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d concurrent rotations on two Stores rotated; want exactly 1", round, won, workers)
		}
		for _, s := range stores {
			if r, err := s.Revoked(t.Context(), sess.ID, "", now); err != nil || !r {
				t.Errorf("round %d: Revoked after the reuse = %v, %v; want true from both Stores", round, r, err)
			}
		}
	}
}

// A write that waits for another process's write lock gives up when its
// context ends, before the busy timeout; so does a read with a context
// already done.
func TestContextHonoured(t *testing.T) {
	s, path := open(t, sqlite.WithBusyTimeout(time.Minute))
	sess, h := login(t, s, "u-1", t0)
	db := rawDB(t, path)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	if _, err := s.RotateSession(ctx, h, newHash(), t0.Add(time.Minute), 0); err == nil {
		t.Error("RotateSession while another process holds the write lock, ctx ending = nil error")
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("RotateSession returned %v after its context ended; want promptly", d)
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// Nothing changed: the token still rotates.
	rotate(t, s, h, t0.Add(2*time.Minute))

	done, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Revoked(done, sess.ID, "", t0); err == nil {
		t.Error("Revoked with a cancelled context = nil error")
	}
	if _, err := s.LookupUser(done, "alice"); err == nil || errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("LookupUser with a cancelled context = %v; want the context's error", err)
	}
	if err := s.RevokeSession(done, sess.ID, t0); err == nil {
		t.Error("RevokeSession with a cancelled context = nil error")
	}
}

// The bounds: a user's 101st session drops the oldest, and a session
// keeps the hashes of its 64 newest spent tokens.
func TestBounds(t *testing.T) {
	ctx := t.Context()
	s, path := open(t)
	db := rawDB(t, path)
	t.Run("SessionsPerUser", func(t *testing.T) {
		var first []jwtguard.TokenHash
		for i := range 101 {
			_, h := login(t, s, "busy-user", t0.Add(time.Duration(i)*time.Second))
			first = append(first, h)
		}
		if _, err := s.LookupSession(ctx, first[0]); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
			t.Errorf("LookupSession(the oldest of 101 sessions) = %v; want ErrRefreshTokenInvalid, dropped", err)
		}
		for _, i := range []int{1, 100} {
			if _, err := s.LookupSession(ctx, first[i]); err != nil {
				t.Errorf("LookupSession(session %d of 101) = %v; want it kept", i, err)
			}
		}
		var sessions, tokens int
		if err := db.QueryRow("SELECT (SELECT count(*) FROM sessions WHERE user_id = 'busy-user'), (SELECT count(*) FROM tokens)").Scan(&sessions, &tokens); err != nil {
			t.Fatal(err)
		}
		if sessions != 100 || tokens != 100 {
			t.Errorf("the user has %d sessions and the store %d token hashes; want 100 and 100", sessions, tokens)
		}
	})
	t.Run("SpentPerSession", func(t *testing.T) {
		_, h := login(t, s, "user-"+rand.Text(), t0)
		tokens := []jwtguard.TokenHash{h}
		for i := range 70 {
			h = rotate(t, s, h, t0.Add(time.Duration(i+1)*time.Second))
			tokens = append(tokens, h)
		}
		// 71 tokens: the current one, and the 65 spent before it kept.
		now := t0.Add(time.Hour)
		if _, err := s.RotateSession(ctx, tokens[4], newHash(), now, 0); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
			t.Errorf("RotateSession(a token spent 66 rotations ago) = %v; want ErrRefreshTokenInvalid, forgotten", err)
		}
		if _, err := s.RotateSession(ctx, tokens[5], newHash(), now, 0); !errors.Is(err, jwtguard.ErrRefreshTokenReused) {
			t.Errorf("RotateSession(a token spent 65 rotations ago) = %v; want ErrRefreshTokenReused, kept", err)
		}
	})
}

// A rotation sweeps: sessions a day past their end, spent denials and
// marks an hour old go, and a forgotten mark still refuses the logins it
// covered.
func TestSweep(t *testing.T) {
	ctx := t.Context()
	s, path := open(t)
	db := rawDB(t, path)
	count := func(table string) int {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	old, oh := login(t, s, "old-user", t0)
	if err := s.DenyAccessToken(ctx, "jti-1", t0.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := t0.Add(time.Hour)
	if err := s.RevokeUserSessions(ctx, "marked-user", r); err != nil {
		t.Fatal(err)
	}
	// A rotation an hour less a microsecond after the mark keeps it.
	_, h := login(t, s, "active-user", r) // ends an hour after old
	h = rotate(t, s, h, r.Add(time.Hour-time.Microsecond))
	if n := count("marks"); n != 1 {
		t.Errorf("%d marks after a sweep an hour less a microsecond after the mark; want 1", n)
	}
	if n := count("denials"); n != 0 {
		t.Errorf("%d denials after a sweep past their end; want 0", n)
	}
	// A day past old's end, a minute later than the last sweep.
	end := old.ExpiresAt.Add(24 * time.Hour)
	_, oth := login(t, s, "other-user", end.Add(-time.Hour))
	rotate(t, s, oth, end)
	if _, err := s.LookupSession(ctx, oh); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
		t.Errorf("LookupSession(a session a day past its end, swept) = %v; want ErrRefreshTokenInvalid", err)
	}
	if _, err := s.LookupSession(ctx, h); err != nil {
		t.Errorf("LookupSession(a session that ended 23 hours ago) = %v; want it kept until a day past its end", err)
	}
	if n := count("marks"); n != 0 {
		t.Errorf("%d marks after a sweep a week after the mark; want 0", n)
	}
	// The forgotten mark refuses every session created at or before it.
	for _, sess := range []jwtguard.Session{newSession("marked-user", r), newSession("another-user", r.Add(-time.Minute))} {
		if err := s.CreateSession(ctx, sess, newHash()); !errors.Is(err, jwtguard.ErrSessionRevoked) {
			t.Errorf("CreateSession(user %s, created at or before a forgotten mark) = %v; want ErrSessionRevoked", sess.UserID, err)
		}
	}
	login(t, s, "marked-user", r.Add(time.Microsecond))
	if n := count("tokens WHERE session_id NOT IN (SELECT id FROM sessions)"); n != 0 {
		t.Errorf("%d token hashes of swept sessions are left; want 0 (the foreign key's cascade)", n)
	}
}

package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/postgres"
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
func login(t testing.TB, s *postgres.Store, user string, now time.Time) (jwtguard.Session, jwtguard.TokenHash) {
	t.Helper()
	sess, h := newSession(user, now), newHash()
	if err := s.CreateSession(context.Background(), sess, h); err != nil {
		t.Fatalf("CreateSession = %v", err)
	}
	return sess, h
}

// rotate rotates h at now, failing t unless it rotates.
func rotate(t testing.TB, s *postgres.Store, h jwtguard.TokenHash, now time.Time) jwtguard.TokenHash {
	t.Helper()
	next := newHash()
	if _, err := s.RotateSession(context.Background(), h, next, now, 0); err != nil {
		t.Fatalf("RotateSession at %v = %v", now, err)
	}
	return next
}

// rawConn connects to the database at url with pgx alone, for what the
// tests look at beneath the Store.
func rawConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// count is the number of rows of query.
func count(t *testing.T, c *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := c.QueryRow(t.Context(), "SELECT count(*) FROM "+query, args...).Scan(&n); err != nil {
		t.Fatalf("SELECT count(*) FROM %s: %v", query, err)
	}
	return n
}

// A user, a session and a spent token outlive the Store: reopened, the
// schema still has the user, the session is live under its current token,
// and the spent token is reuse.
func TestPersistsAcrossReopen(t *testing.T) {
	ctx := t.Context()
	url := testserver.Postgres(t)
	s, schema := open(t, url)
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "Alice", PasswordHash: testHash(), Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	sess, a := login(t, s, "u-1", t0)
	b := rotate(t, s, a, t0.Add(time.Minute))
	if err := s.DenyAccessToken(ctx, "jti-1", t0.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openSchema(t, url, schema)
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

// schemaOf describes the tables, columns, indexes and constraints of
// schema, and its version row with the transaction that wrote it.
func schemaOf(t *testing.T, c *pgx.Conn, schema string) (desc string, version int, writtenBy string) {
	t.Helper()
	err := c.QueryRow(t.Context(), `SELECT
	(SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable, E'\n' ORDER BY table_name, ordinal_position)
		FROM information_schema.columns WHERE table_schema = $1) || E'\n' ||
	(SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = $1) || E'\n' ||
	(SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname)
		FROM pg_constraint WHERE connamespace = $1::regnamespace)`, schema).Scan(&desc)
	if err != nil {
		t.Fatal(err)
	}
	q := pgx.Identifier{schema}.Sanitize()
	if err := c.QueryRow(t.Context(), "SELECT version, xmin::text FROM "+q+".schema_version").Scan(&version, &writtenBy); err != nil {
		t.Fatal(err)
	}
	return desc, version, writtenBy
}

func TestMigration(t *testing.T) {
	ctx := t.Context()
	url := testserver.Postgres(t)
	s, schema := open(t, url)
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "alice", PasswordHash: testHash()}); err != nil {
		t.Fatal(err)
	}
	c := rawConn(t, url)
	before, v, xmin := schemaOf(t, c, schema)
	if v != 1 {
		t.Errorf("schema version of a new schema = %d; want 1", v)
	}
	for _, want := range []string{"users_name_key_key UNIQUE (name_key)", "tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES " + schema + ".sessions(id) ON DELETE CASCADE"} {
		if !strings.Contains(before, want) {
			t.Errorf("the schema lacks %q:\n%s", want, before)
		}
	}

	t.Run("AlreadyMigrated", func(t *testing.T) {
		for range 2 {
			openSchema(t, url, schema).Close()
		}
		after, v, xmin2 := schemaOf(t, c, schema)
		if after != before || v != 1 || xmin2 != xmin {
			t.Errorf("opening a migrated schema changed it (version %d, written by transaction %s, was %s):\nbefore:\n%s\nafter:\n%s", v, xmin2, xmin, before, after)
		}
		if _, err := openSchema(t, url, schema).LookupUser(ctx, "alice"); err != nil {
			t.Errorf("LookupUser after reopening = %v", err)
		}
	})

	t.Run("NewerSchema", func(t *testing.T) {
		if _, err := c.Exec(ctx, "UPDATE "+pgx.Identifier{schema}.Sanitize()+".schema_version SET version = 99"); err != nil {
			t.Fatal(err)
		}
		s, err := postgres.Open(ctx, url, postgres.WithSchema(schema))
		if err == nil {
			s.Close()
			t.Fatal("Open(a schema of version 99) = nil error; want ErrSchemaTooNew")
		}
		if !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Errorf("Open(a schema of version 99) = %v; want ErrSchemaTooNew", err)
		}
		t.Logf("the error: %v", err)
		if after, v, _ := schemaOf(t, c, schema); v != 99 || after != before {
			t.Errorf("the refused Open changed the schema: version %d", v)
		}
	})
}

// Replicas that start at once on a new database migrate one after
// another: every Open succeeds, and the schema is made once.
func TestConcurrentOpens(t *testing.T) {
	url := testserver.Postgres(t)
	c := rawConn(t, url)
	for round := range 4 {
		schema := fmt.Sprintf("fresh_%d_%s", round, strings.ToLower(rand.Text()[:6]))
		const n = 8
		stores := make([]*postgres.Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				stores[i], errs[i] = postgres.Open(t.Context(), url, postgres.WithSchema(schema), postgres.WithTimeout(30*time.Second))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: Open %d of %d concurrent Opens of a new schema = %v", round, i, n, err)
				continue
			}
			defer stores[i].Close()
		}
		if _, v, _ := schemaOf(t, c, schema); v != 1 {
			t.Errorf("round %d: schema version %d; want 1", round, v)
		}
		if n := count(t, c, "information_schema.tables WHERE table_schema = $1", schema); n != 7 {
			t.Errorf("round %d: %d tables in the schema; want 7", round, n)
		}
		// Each Store works on it.
		for i, s := range stores {
			if s == nil {
				continue
			}
			if err := s.CreateUser(t.Context(), jwtguard.User{ID: fmt.Sprint(i), Username: fmt.Sprint("user", i), PasswordHash: testHash()}); err != nil {
				t.Errorf("round %d: CreateUser on Store %d = %v", round, i, err)
			}
		}
	}
}

// A schema name is an identifier, quoted: letter case, spaces and quotes
// are part of it, and two names that differ in case are two schemas.
func TestSchemaNames(t *testing.T) {
	url := testserver.Postgres(t)
	ctx := t.Context()
	names := []string{`Mixed Case`, `mixed case`, `quote"and'semicolon;--`, "ünïcödé"}
	for i, name := range names {
		s := openSchema(t, url, name)
		if err := s.CreateUser(ctx, jwtguard.User{ID: fmt.Sprint(i), Username: "alice", PasswordHash: testHash()}); err != nil {
			t.Errorf("CreateUser in schema %q = %v", name, err)
		}
	}
	for i, name := range names {
		u, err := openSchema(t, url, name).LookupUser(ctx, "alice")
		if err != nil || u.ID != fmt.Sprint(i) {
			t.Errorf("LookupUser in schema %q = %+v, %v; want the user of ID %d (schemas kept apart)", name, u, err, i)
		}
	}
	c := rawConn(t, url)
	if n := count(t, c, "pg_namespace WHERE nspname = ANY($1)", names); n != len(names) {
		t.Errorf("%d of the %d schemas exist", n, len(names))
	}
}

// Two Stores (two pools) on one schema stand for two replicas: of
// concurrent rotations of one token from both, exactly one rotates; the
// others are reuse, and the session is revoked.
func TestRotateAcrossStores(t *testing.T) {
	url := testserver.Postgres(t)
	a, schema := open(t, url)
	b := openSchema(t, url, schema)
	stores := []*postgres.Store{a, b}
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

// A login racing a revocation of the user's sessions on another Store
// either is revoked by it or refused by its mark: no live session is
// left that was created at or before the mark.
func TestMarkRacesLoginAcrossStores(t *testing.T) {
	url := testserver.Postgres(t)
	a, schema := open(t, url)
	b := openSchema(t, url, schema)
	ctx := t.Context()
	for round := range 32 {
		user := "user-" + rand.Text()
		mark := t0.Add(time.Duration(round) * time.Minute)
		sess, h := newSession(user, mark.Add(-time.Second)), newHash()
		var createErr, revokeErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; createErr = a.CreateSession(ctx, sess, h) })
		wg.Go(func() { <-start; revokeErr = b.RevokeUserSessions(ctx, user, mark) })
		close(start)
		wg.Wait()
		if revokeErr != nil {
			t.Fatalf("RevokeUserSessions = %v", revokeErr)
		}
		switch {
		case errors.Is(createErr, jwtguard.ErrSessionRevoked):
		case createErr != nil:
			t.Fatalf("round %d: CreateSession = %v; want nil or ErrSessionRevoked", round, createErr)
		default:
			if r, err := a.Revoked(ctx, sess.ID, "", mark); err != nil || !r {
				t.Errorf("round %d: a session created before the mark, stored while it was set, is live (Revoked = %v, %v)", round, r, err)
			}
		}
	}
}

// The bounds: a user's 101st session drops the oldest, and a session
// keeps the hashes of its 64 newest spent tokens.
func TestBounds(t *testing.T) {
	ctx := t.Context()
	url := testserver.Postgres(t)
	s, schema := open(t, url)
	c := rawConn(t, url)
	q := pgx.Identifier{schema}.Sanitize()
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
		sessions := count(t, c, q+".sessions WHERE user_id = 'busy-user'")
		tokens := count(t, c, q+".tokens")
		if sessions != 100 || tokens != 100 {
			t.Errorf("the user has %d sessions and the store %d token hashes; want 100 and 100", sessions, tokens)
		}
	})
	t.Run("SpentPerSession", func(t *testing.T) {
		sess, h := login(t, s, "user-"+rand.Text(), t0)
		tokens := []jwtguard.TokenHash{h}
		for i := range 70 {
			h = rotate(t, s, h, t0.Add(time.Duration(i+1)*time.Second))
			tokens = append(tokens, h)
		}
		if n := count(t, c, q+".tokens WHERE session_id = $1", sess.ID); n != 66 {
			t.Errorf("the session has %d token hashes; want 66 (the current one, the one the latest rotation spent, 64 more)", n)
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
	url := testserver.Postgres(t)
	s, schema := open(t, url)
	c := rawConn(t, url)
	q := pgx.Identifier{schema}.Sanitize()
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
	if n := count(t, c, q+".marks"); n != 1 {
		t.Errorf("%d marks after a sweep an hour less a microsecond after the mark; want 1", n)
	}
	if n := count(t, c, q+".denials"); n != 0 {
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
	if n := count(t, c, q+".marks"); n != 0 {
		t.Errorf("%d marks after a sweep a week after the mark; want 0", n)
	}
	// The forgotten mark refuses every session created at or before it.
	for _, sess := range []jwtguard.Session{newSession("marked-user", r), newSession("another-user", r.Add(-time.Minute))} {
		if err := s.CreateSession(ctx, sess, newHash()); !errors.Is(err, jwtguard.ErrSessionRevoked) {
			t.Errorf("CreateSession(user %s, created at or before a forgotten mark) = %v; want ErrSessionRevoked", sess.UserID, err)
		}
	}
	login(t, s, "marked-user", r.Add(time.Microsecond))
	if n := count(t, c, q+".tokens WHERE session_id NOT IN (SELECT id FROM "+q+".sessions)"); n != 0 {
		t.Errorf("%d token hashes of swept sessions are left; want 0 (the foreign key's cascade)", n)
	}
}

// A sweep works off a backlog in batches: denials expiring faster than
// one batch a minute do not pile up.
func TestSweepKeepsUp(t *testing.T) {
	ctx := t.Context()
	url := testserver.Postgres(t)
	s, schema := open(t, url)
	now := t0
	_, h := login(t, s, "u", now)
	for minute := range 4 {
		for i := range 300 {
			if err := s.DenyAccessToken(ctx, fmt.Sprintf("jti-%d-%d", minute, i), now.Add(15*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Minute)
		h = rotate(t, s, h, now)
	}
	now = now.Add(20 * time.Minute)
	rotate(t, s, h, now)
	if n := count(t, rawConn(t, url), pgx.Identifier{schema}.Sanitize()+".denials WHERE until <= $1", now); n != 0 {
		t.Errorf("%d expired denials left after a sweep, want 0", n)
	}
}

// Times are kept to the microsecond, rounded toward the past, and an idle
// timeout that is not a whole number of microseconds is rounded down, so
// that no session refreshes after it went idle; a denial's end is
// rounded toward the future.
func TestTimeRounding(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t, testserver.Postgres(t))
	sess := newSession("u", t0.Add(900*time.Nanosecond))
	sess.IdleTimeout = time.Hour + 500*time.Nanosecond
	h := newHash()
	if err := s.CreateSession(ctx, sess, h); err != nil {
		t.Fatal(err)
	}
	got, err := s.LookupSession(ctx, h)
	if err != nil || !got.CreatedAt.Equal(t0) || got.IdleTimeout != sess.IdleTimeout {
		t.Errorf("LookupSession = %+v, %v; want CreatedAt t0 (900 ns rounded down), the IdleTimeout as given", got, err)
	}
	if _, err := s.RotateSession(ctx, h, newHash(), t0.Add(time.Hour+700*time.Nanosecond), 0); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
		t.Errorf("RotateSession 200 ns after the session went idle = %v; want ErrRefreshTokenInvalid", err)
	}
	if err := s.DenyAccessToken(ctx, "jti-1", t0.Add(100*time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Revoked(ctx, "", "jti-1", t0.Add(999*time.Nanosecond)); err != nil || !r {
		t.Errorf("Revoked(a jti denied until t0+100ns, at t0+999ns) = %v, %v; want true (the denial rounded up to t0+1µs)", r, err)
	}
}

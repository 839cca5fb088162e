package redis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/redis"
)

// t0 is the tests' clock where Redis's does not matter: fixed instants,
// never the time of day.
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
func login(t testing.TB, s *redis.Store, user string, now time.Time) (jwtguard.Session, jwtguard.TokenHash) {
	t.Helper()
	sess, h := newSession(user, now), newHash()
	if err := s.CreateSession(context.Background(), sess, h); err != nil {
		t.Fatalf("CreateSession = %v", err)
	}
	return sess, h
}

// rotate rotates h at now, failing t unless it rotates.
func rotate(t testing.TB, s *redis.Store, h jwtguard.TokenHash, now time.Time) jwtguard.TokenHash {
	t.Helper()
	next := newHash()
	if _, err := s.RotateSession(context.Background(), h, next, now, 0); err != nil {
		t.Fatalf("RotateSession at %v = %v", now, err)
	}
	return next
}

// raw is a plain client of the shared server, for what the tests look at
// beneath the Store.
func raw(t testing.TB) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(testserver.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// Two Stores, each its own client and connection pool, as two replicas
// have: of rotations of one token racing on both, exactly one wins, and
// the others are reuse, which revokes the session.
func TestRotationRaceTwoStores(t *testing.T) {
	a, p := open(t)
	b := openURL(t, testserver.Redis(t), redis.WithPrefix(p))
	stores := []*redis.Store{a, b}
	ctx := t.Context()
	for round := range 64 {
		sess, h := login(t, a, "u-1", t0)
		now := t0.Add(time.Minute)
		var won, reused atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				<-start
				_, err := stores[i%2].RotateSession(ctx, h, newHash(), now, 0)
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, jwtguard.ErrRefreshTokenReused):
					reused.Add(1)
				default:
					t.Errorf("round %d: RotateSession = %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || reused.Load() != 7 {
			t.Fatalf("round %d: %d rotations won and %d were reuse; want 1 and 7", round, won.Load(), reused.Load())
		}
		if r, err := b.Revoked(ctx, sess.ID, "", now); err != nil || !r {
			t.Fatalf("round %d: Revoked after the race's reuse = %v, %v; want true", round, r, err)
		}
	}
}

// A Store under one prefix sees nothing of another's.
func TestPrefixesApart(t *testing.T) {
	a, _ := open(t)
	b, _ := open(t)
	ctx := t.Context()
	sess, h := login(t, a, "u-1", t0)
	if r, err := b.Revoked(ctx, sess.ID, "", t0); err != nil || !r {
		t.Errorf("Revoked under another prefix = %v, %v; want true (an unknown session)", r, err)
	}
	if _, err := b.LookupSession(ctx, h); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
		t.Errorf("LookupSession under another prefix = %v; want ErrRefreshTokenInvalid", err)
	}
	l := jwtguard.Limit{Burst: 1, Every: time.Minute}
	if w, err := a.Take(ctx, "ukey", l, t0); err != nil || w != 0 {
		t.Fatalf("Take = %v, %v", w, err)
	}
	if w, err := b.Take(ctx, "ukey", l, t0); err != nil || w != 0 {
		t.Errorf("Take of the same key under another prefix = %v, %v; want a token", w, err)
	}
}

func TestOptionsRefused(t *testing.T) {
	url := testserver.Redis(t)
	for name, opt := range map[string]redis.Option{
		"brace in prefix": redis.WithPrefix("app{1}:"),
		"zero timeout":    redis.WithTimeout(0),
		"negative":        redis.WithTimeout(-time.Second),
	} {
		if s, err := redis.Open(t.Context(), url, opt); err == nil {
			s.Close()
			t.Errorf("Open with %s = nil error; want it refused", name)
		}
	}
}

// Open on a port where no server listens fails at once with an error that
// names the server but not the URL's password; so does a URL it cannot
// read.
func TestOpenUnreachable(t *testing.T) {
	port, err := testserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("redis://app:s3cret-pw@127.0.0.1:%d/0", port)
	start := time.Now()
	s, err := redis.Open(t.Context(), url, redis.WithTimeout(2*time.Second))
	if err == nil {
		s.Close()
		t.Fatal("Open on a closed port = nil error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Open on a closed port took %v; want it bounded by the timeout", d)
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cret-pw") {
		t.Errorf("Open's error shows the password: %s", msg)
	}
	if !strings.Contains(msg, "cannot reach") || !strings.Contains(msg, fmt.Sprint(port)) {
		t.Errorf("Open's error = %q; want it to say it cannot reach the server at port %d", msg, port)
	}
	for _, bad := range []string{"redis://app:s3cret-pw@[::1/0", "http://app:s3cret-pw@127.0.0.1/0", "redis://app:s3cret-pw@127.0.0.1:6379/x"} {
		s, err := redis.Open(t.Context(), bad)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("Open of a bad URL: the error shows the password: %s", err)
		}
	}
}

func TestDurabilityRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error
	}{
		{"AppendOnlyNo", []string{"--appendonly", "no"}, `appendonly is "no"`},
		{"AllKeysLRU", []string{"--maxmemory-policy", "allkeys-lru"}, `maxmemory-policy is "allkeys-lru"`},
		{"VolatileTTL", []string{"--maxmemory-policy", "volatile-ttl"}, `maxmemory-policy is "volatile-ttl"`},
		{"ConfigDisabledAppendOnlyNo", []string{"--appendonly", "no", "--rename-command", "CONFIG", ""}, `appendonly is "no"`},
		{"ConfigDisabledAllKeysLRU", []string{"--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", ""}, `maxmemory-policy is "allkeys-lru"`},
		{"Unreadable", []string{"--rename-command", "CONFIG", "", "--rename-command", "INFO", ""}, "cannot read its settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testserver.StartRedis(t, tc.args...)
			s, err := redis.Open(t.Context(), srv.URL)
			if err == nil {
				s.Close()
				t.Fatal("Open = nil error; want ErrNotDurable")
			}
			if !errors.Is(err, redis.ErrNotDurable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v; want ErrNotDurable saying %s", err, tc.want)
			}
			if !strings.Contains(err.Error(), "appendonly yes and maxmemory-policy noeviction") {
				t.Errorf("Open = %v; want it to say what to set", err)
			}

			// The opt-out opens it, with a warning.
			var logged bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logged, nil))
			s, err = redis.Open(t.Context(), srv.URL, redis.AcceptNonDurable(), redis.WithLogger(log))
			if err != nil {
				t.Fatalf("Open with AcceptNonDurable = %v", err)
			}
			defer s.Close()
			out := strings.ReplaceAll(logged.String(), `\"`, `"`) // the text handler quotes the error
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "may forget revocations") || !strings.Contains(out, tc.want) {
				t.Errorf("AcceptNonDurable's log = %q; want a warning saying %s", out, tc.want)
			}
			if _, h := login(t, s, "u-1", t0); h == (jwtguard.TokenHash{}) {
				t.Error("no token")
			}
		})
	}
}

// Where CONFIG is disabled, a durable server passes the check on INFO.
func TestDurabilityFromInfo(t *testing.T) {
	srv := testserver.StartRedis(t, "--rename-command", "CONFIG", "")
	var logged bytes.Buffer
	s := openURL(t, srv.URL, redis.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	login(t, s, "u-1", t0)
	if logged.Len() > 0 {
		t.Errorf("Open of a durable server logged %q", logged.String())
	}
}

// A server that stops answering fails every call within the timeout (and
// a killed one at once), and never hangs one.
func TestServerGone(t *testing.T) {
	srv := testserver.StartRedis(t)
	const limit = 300 * time.Millisecond
	s := openURL(t, srv.URL, redis.WithTimeout(limit))
	ctx := t.Context()
	sess, h := login(t, s, "u-1", t0)
	lim := jwtguard.Limit{Burst: 3, Every: time.Minute}
	calls := map[string]func() error{
		"Revoked": func() error { _, err := s.Revoked(ctx, sess.ID, "jti", t0); return err },
		"RotateSession": func() error {
			_, err := s.RotateSession(ctx, h, newHash(), t0.Add(time.Second), 0)
			return err
		},
		"CreateSession": func() error { return s.CreateSession(ctx, newSession("u-2", t0), newHash()) },
		"LookupSession": func() error { _, err := s.LookupSession(ctx, h); return err },
		"RevokeUser":    func() error { return s.RevokeUserSessions(ctx, "u-1", t0) },
		"Deny":          func() error { return s.DenyAccessToken(ctx, "jti", t0.Add(time.Hour)) },
		"Take":          func() error { _, err := s.Take(ctx, "ukey", lim, t0); return err },
		"Refund":        func() error { return s.Done(ctx, "ukey", lim, true, t0) },
		"LastLogin":     func() error { _, _, err := s.LastLogin(ctx, "ukey"); return err },
		"Remember":      func() error { return s.Remember(ctx, "ukey", "192.0.2.1", t0) },
		"AddProof":      func() error { return s.AddProof(ctx, newProofID(), t0.Add(time.Minute), t0) },
	}
	check := func(state string, bound time.Duration) {
		t.Helper()
		var wg sync.WaitGroup
		for name, call := range calls {
			wg.Go(func() {
				start := time.Now()
				err := call()
				d := time.Since(start)
				if err == nil {
					t.Errorf("%s on a %s server = nil error", name, state)
				}
				if d > bound {
					t.Errorf("%s on a %s server took %v; want at most %v (%v)", name, state, d, bound, err)
				}
			})
		}
		wg.Wait()
	}
	srv.Pause()
	check("paused", limit+time.Second)
	srv.Resume()
	srv.Kill()
	check("killed", limit+time.Second)
}

// A Limit that the login policy never passes (no burst, no interval, a
// span Lua's numbers cannot hold) is an error, not a bucket that lets
// every guess through.
func TestThrottleLimitRefused(t *testing.T) {
	s, _ := open(t)
	for _, l := range []jwtguard.Limit{{}, {Burst: 3}, {Every: time.Second}, {Burst: 1 << 40, Every: 1 << 40}} {
		if w, err := s.Take(t.Context(), "ukey", l, t0); err == nil {
			t.Errorf("Take(%+v) = %v, nil error; want an error", l, w)
		}
		if err := s.Done(t.Context(), "ukey", l, true, t0); err == nil {
			t.Errorf("Done(%+v, refund) = nil error; want an error", l)
		}
	}
}

// The refusals of the Store's own checks: a denial without a jti, a
// revocation check at the zero time, a last login it cannot read.
func TestRefusals(t *testing.T) {
	s, p := open(t)
	ctx := t.Context()
	if err := s.DenyAccessToken(ctx, "", t0); err == nil {
		t.Error("DenyAccessToken of an empty jti = nil error")
	}
	if _, err := s.Revoked(ctx, "sid", "jti", time.Time{}); err == nil {
		t.Error("Revoked at the zero time = nil error")
	}
	if r, err := s.Revoked(ctx, "", "", t0); err != nil || r {
		t.Errorf("Revoked of no sid and no jti = %v, %v; want false (nothing to check)", r, err)
	}
	if err := raw(t).Set(ctx, p+"l:ukey", "garbage", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if addr, _, err := s.LastLogin(ctx, "ukey"); err == nil || addr != "" {
		t.Errorf("LastLogin of an unreadable value = %q, %v; want an error", addr, err)
	}
}

// A Store of New runs on the caller's client, which Close leaves open,
// and Revoked, Verify's check on every request, is one command (one round
// trip).
func TestNewRevokedOneRoundTrip(t *testing.T) {
	o, err := goredis.ParseURL(testserver.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	defer c.Close()
	var commands atomic.Int32
	c.AddHook(countHook{&commands})
	s, err := redis.New(t.Context(), c, redis.WithPrefix(prefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := login(t, s, "u-1", t0)
	if err := s.DenyAccessToken(t.Context(), "jti-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, jti := range []string{"jti-1", "jti-2"} { // loads the script
		s.Revoked(t.Context(), sess.ID, jti, t0)
	}
	commands.Store(0)
	for i := range 10 {
		want := i%2 == 0
		jti := "jti-2"
		if want {
			jti = "jti-1"
		}
		if r, err := s.Revoked(t.Context(), sess.ID, jti, t0.Add(time.Minute)); err != nil || r != want {
			t.Fatalf("Revoked(%s) = %v, %v; want %v", jti, r, err, want)
		}
	}
	if n := commands.Load(); n != 10 {
		t.Errorf("10 Revoked calls sent %d commands; want 10", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Errorf("the caller's client after the Store's Close: %v; want it open", err)
	}
}

// countHook counts the commands a client sends.
type countHook struct{ n *atomic.Int32 }

func (h countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(int32(len(cmds)))
		return next(ctx, cmds)
	}
}

package redis_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/redis"
	"github.com/jwtguard/jwtguard/storetest"
)

func TestReplayCache(t *testing.T) {
	storetest.ReplayCache(t, func(t *testing.T) jwtguard.ReplayCache {
		s, _ := open(t)
		return s
	})
}

func newProofID() jwtguard.ProofID {
	var id jwtguard.ProofID
	rand.Read(id[:])
	return id
}

// rawAt is a plain client of the server at url, closed when t ends.
func rawAt(t testing.TB, url string) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func proofKey(p string, id jwtguard.ProofID) string { return p + "r:" + hex.EncodeToString(id[:]) }

// Two Stores on one server and prefix, each with its own client, as two
// replicas have: a proof recorded through either is a replay through the
// other, and of adds of one proof racing on both exactly one is accepted.
func TestReplayTwoStores(t *testing.T) {
	a, p := open(t)
	b := openURL(t, testserver.Redis(t), redis.WithPrefix(p))
	ctx := t.Context()
	exp := t0.Add(time.Minute)

	for _, tc := range []struct {
		name        string
		first, then *redis.Store
	}{{"a then b", a, b}, {"b then a", b, a}} {
		id := newProofID()
		if err := tc.first.AddProof(ctx, id, exp, t0); err != nil {
			t.Fatalf("%s: first AddProof = %v", tc.name, err)
		}
		if err := tc.then.AddProof(ctx, id, exp, t0.Add(time.Second)); !errors.Is(err, jwtguard.ErrProofReplayed) {
			t.Errorf("%s: AddProof of the proof the other Store recorded = %v; want ErrProofReplayed", tc.name, err)
		}
	}

	stores := []*redis.Store{a, b}
	for round := range 64 {
		id := newProofID()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			nils     int
			replayed int
		)
		start := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				<-start
				err := stores[i%2].AddProof(ctx, id, exp, t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					nils++
				case errors.Is(err, jwtguard.ErrProofReplayed):
					replayed++
				default:
					t.Errorf("round %d: AddProof = %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if nils != 1 || replayed != 7 {
			t.Fatalf("round %d: of 8 AddProofs on two Stores %d returned nil and %d ErrProofReplayed; want 1 and 7", round, nils, replayed)
		}
	}
}

// A proof's key is named by its hash alone, holds its expiry in Unix
// microseconds (rounded up), and lives as far ahead of Redis's clock as
// the expiry is of now, and a minute more; a refused replay with a later
// expiry changes neither.
func TestReplayKey(t *testing.T) {
	s, p := open(t)
	c := raw(t)
	ctx := t.Context()
	id := newProofID()
	window := 90 * time.Second
	exp := t0.Add(window).Add(500 * time.Nanosecond) // rounded up to the µs
	if err := s.AddProof(ctx, id, exp, t0); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, p+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != proofKey(p, id) {
		t.Fatalf("the Store's keys = %q; want only %q", keys, proofKey(p, id))
	}
	v, err := c.Get(ctx, proofKey(p, id)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatInt(t0.Add(window).UnixMicro()+1, 10); v != want {
		t.Errorf("the proof's value = %q; want %s, the expiry in µs rounded up", v, want)
	}
	const slack = 5 * time.Second
	most := window + time.Minute + time.Millisecond
	d := c.PTTL(ctx, proofKey(p, id)).Val()
	within(t, d, "proof", most-slack, most)

	if err := s.AddProof(ctx, id, exp.Add(time.Hour), t0.Add(time.Second)); !errors.Is(err, jwtguard.ErrProofReplayed) {
		t.Fatalf("replay = %v; want ErrProofReplayed", err)
	}
	if v2 := c.Get(ctx, proofKey(p, id)).Val(); v2 != v {
		t.Errorf("after a refused replay with a later expiry, the value = %q; want %q unchanged", v2, v)
	}
	within(t, c.PTTL(ctx, proofKey(p, id)).Val(), "proof after a refused replay", most-slack, d)

	// An expiry between two microseconds holds until the later one (closed:
	// never a replay accepted before its record's end).
	if err := s.AddProof(ctx, id, exp.Add(time.Hour), exp); !errors.Is(err, jwtguard.ErrProofReplayed) {
		t.Errorf("AddProof at the expiry's instant, within its microsecond = %v; want ErrProofReplayed", err)
	}
	// A record expired at now is made anew, with the new expiry's time to
	// live.
	end := t0.Add(window).Add(time.Microsecond)
	later := end.Add(10 * time.Minute)
	if err := s.AddProof(ctx, id, later, end); err != nil {
		t.Fatalf("AddProof at the first record's expiry = %v", err)
	}
	most = 10*time.Minute + time.Minute + time.Millisecond
	within(t, c.PTTL(ctx, proofKey(p, id)).Val(), "proof recorded again", most-slack, most)
}

// The Store's own refusals: the zero time, an expiry not after now, times
// beyond what Lua's numbers hold exactly, and a record it cannot read,
// which fails the call rather than accept the proof.
func TestReplayRefusals(t *testing.T) {
	s, p := open(t)
	ctx := t.Context()
	id := newProofID()
	for name, tc := range map[string]struct{ expires, now time.Time }{
		"zero now":          {t0.Add(time.Minute), time.Time{}},
		"zero expiry":       {time.Time{}, t0},
		"expiry at now":     {t0, t0},
		"expiry before now": {t0.Add(-time.Second), t0},
		"expiry past 2255":  {time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), t0},
	} {
		if err := s.AddProof(ctx, id, tc.expires, tc.now); err == nil || errors.Is(err, jwtguard.ErrProofReplayed) {
			t.Errorf("AddProof with %s = %v; want an error of the Store's own", name, err)
		}
	}
	// None of them recorded it.
	if err := s.AddProof(ctx, id, t0.Add(time.Minute), t0); err != nil {
		t.Errorf("AddProof after the refusals = %v; want nil", err)
	}

	bad := newProofID()
	if err := raw(t).Set(ctx, proofKey(p, bad), "garbage", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	err := s.AddProof(ctx, bad, t0.Add(time.Minute), t0)
	if err == nil || errors.Is(err, jwtguard.ErrProofReplayed) || errors.Is(err, jwtguard.ErrReplayCacheFull) {
		t.Errorf("AddProof over an unreadable record = %v; want a failure of the cache", err)
	}
}

// A server whose memory is full (maxmemory, noeviction) refuses new
// proofs with ErrReplayCacheFull, still refuses recorded ones as
// replays, and never accepts either; with room again it records. The
// server is filled by the proofs themselves; near its limit it may free
// some memory of its own (buffers) and take a few more, so the exact
// answers are then checked with maxmemory below what it uses.
func TestReplayCacheFull(t *testing.T) {
	srv := testserver.StartRedis(t)
	s := openURL(t, srv.URL)
	admin := rawAt(t, srv.URL)
	ctx := t.Context()
	info := admin.Info(ctx, "memory").Val()
	used := -1
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			used, _ = strconv.Atoi(v)
		}
	}
	if used <= 0 {
		t.Fatalf("no used_memory in INFO memory:\n%s", info)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", strconv.Itoa(used+256<<10)).Err(); err != nil {
		t.Fatal(err)
	}

	exp := t0.Add(time.Minute)
	var recorded []jwtguard.ProofID
	var full error
	for range 100_000 {
		id := newProofID()
		err := s.AddProof(ctx, id, exp, t0)
		if err == nil {
			recorded = append(recorded, id)
			continue
		}
		if !errors.Is(err, jwtguard.ErrReplayCacheFull) {
			t.Fatalf("AddProof after %d proofs = %v; want nil or ErrReplayCacheFull", len(recorded), err)
		}
		full = err
		break
	}
	if full == nil {
		t.Fatalf("%d proofs recorded within maxmemory of 256 KiB over the %d bytes used; want ErrReplayCacheFull", len(recorded), used)
	}
	if len(recorded) == 0 {
		t.Fatal("no proof was recorded before the server was full")
	}
	if errors.Is(full, jwtguard.ErrProofReplayed) || !strings.Contains(full.Error(), "OOM") {
		t.Errorf("the full answer = %v; want ErrReplayCacheFull alone, saying what Redis said", full)
	}
	t.Logf("full after %d proofs: %v", len(recorded), full)

	for range 100 {
		id := newProofID()
		switch err := s.AddProof(ctx, id, exp, t0); {
		case err == nil:
			recorded = append(recorded, id)
		case !errors.Is(err, jwtguard.ErrReplayCacheFull):
			t.Fatalf("AddProof of a new proof at the limit = %v; want nil or ErrReplayCacheFull", err)
		}
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	for i, id := range recorded {
		if err := s.AddProof(ctx, id, exp, t0.Add(time.Second)); !errors.Is(err, jwtguard.ErrProofReplayed) {
			t.Fatalf("AddProof of recorded proof %d of %d on the full server = %v; want ErrProofReplayed", i+1, len(recorded), err)
		}
	}
	for range 10 {
		if err := s.AddProof(ctx, newProofID(), exp, t0.Add(time.Second)); !errors.Is(err, jwtguard.ErrReplayCacheFull) {
			t.Fatalf("AddProof of a new proof on the full server = %v; want ErrReplayCacheFull", err)
		}
	}
	// A record expired at now is made anew only when there is room: on
	// the full server it is not accepted.
	if err := s.AddProof(ctx, recorded[0], exp.Add(time.Minute), exp); !errors.Is(err, jwtguard.ErrReplayCacheFull) {
		t.Errorf("AddProof of an expired record on the full server = %v; want ErrReplayCacheFull", err)
	}

	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.AddProof(ctx, newProofID(), exp, t0.Add(time.Second)); err != nil {
		t.Errorf("AddProof with room again = %v; want nil", err)
	}
	if err := s.AddProof(ctx, recorded[len(recorded)-1], exp, t0.Add(time.Second)); !errors.Is(err, jwtguard.ErrProofReplayed) {
		t.Errorf("AddProof of a recorded proof with room again = %v; want ErrProofReplayed", err)
	}
}

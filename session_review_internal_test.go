package jwtguard

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Review of the memory session store's growth and sweep (issue 14).

func reviewHash(parts ...uint64) TokenHash {
	b := make([]byte, 8*len(parts))
	for i, p := range parts {
		binary.BigEndian.PutUint64(b[8*i:], p)
	}
	return sha256.Sum256(b)
}

// TestReviewSpentHashesUnbounded (a finding, fixed; as the review found it): every rotation appends the new hash to
// the session and to the token map, and nothing is dropped until a day
// after the session's ExpiresAt (7 days by default). A client holding one
// refresh token can refresh in a loop (the refresh endpoint does no
// bcrypt) and grow the store by one entry per request for 8 days; with
// 100 000 rotations one session holds 100 001 hashes.
func TestReviewSpentHashesUnbounded(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	s := NewMemorySessionStore().(*memorySessions)
	cur := reviewHash(0)
	if err := s.CreateSession(ctx, Session{ID: "loop", UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}, cur); err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	for i := 1; i <= n; i++ {
		next := reviewHash(uint64(i))
		if _, err := s.RotateSession(ctx, cur, next, t0.Add(time.Duration(i)*time.Second), 0); err != nil {
			t.Fatal(err)
		}
		cur = next
	}
	const limit = 1000
	if got := len(s.tokens); got > limit {
		t.Errorf("one session rotated %d times holds %d token hashes (and %d in its list); want at most %d: memory a single client drives without bound",
			n, got, len(s.sessions["loop"].hashes), limit)
	}
}

// TestReviewSessionsPerUserUnbounded (a finding, fixed; as the review found it): a user may hold any number of live
// sessions, each kept for ExpiresAt + 1 day; one account with a known
// password (the attacker's own) logs in again and again.
func TestReviewSessionsPerUserUnbounded(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	s := NewMemorySessionStore().(*memorySessions)
	const n = 20_000
	for i := range n {
		id := "s-" + strconv.Itoa(i)
		if err := s.CreateSession(ctx, Session{ID: id, UserID: "mallory", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}, reviewHash(1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	const limit = 1000
	if got := len(s.users["mallory"]); got > limit {
		t.Errorf("one user holds %d live sessions; want at most %d (a per-user cap, oldest evicted or revoked)", got, limit)
	}
}

// TestReviewSweepTrustsCreatedAt (a finding, fixed; as the review found it): CreateSession sweeps at s.CreatedAt, a
// field of the session rather than a clock reading; one session with a
// CreatedAt a month ahead (a clock step, an imported session) drops every
// live session now (all their access tokens refused, every user logged
// out, every spent token forgotten, so a later replay is no longer
// reuse) and stops sweeping until the clock catches up.
func TestReviewSweepTrustsCreatedAt(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	s := NewMemorySessionStore().(*memorySessions)
	first := reviewHash(2, 0)
	if err := s.CreateSession(ctx, Session{ID: "live", UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}, first); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateSession(ctx, first, reviewHash(2, 1), t0.Add(time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	ahead := t0.Add(30 * 24 * time.Hour)
	if err := s.CreateSession(ctx, Session{ID: "ahead", UserID: "v", CreatedAt: ahead, ExpiresAt: ahead.Add(time.Hour)}, reviewHash(3, 0)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(2 * time.Minute)
	if r, _ := s.Revoked(ctx, "live", "", now); r {
		t.Error("a live session (expires in 7 days) was dropped by a CreateSession whose CreatedAt is a month ahead")
	}
	if _, err := s.RotateSession(ctx, first, reviewHash(2, 2), now, 0); !errors.Is(err, ErrRefreshTokenReused) {
		t.Errorf("replay of the live session's spent token: %v; want ErrRefreshTokenReused", err)
	}
}

// TestReviewMemoryStoreRace: every method at once, with the clock moving
// past the sweep's minute and the sessions' ends, under -race (held).
func TestReviewMemoryStoreRace(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	s := NewMemorySessionStore()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 300 {
				now := t0.Add(time.Duration(i) * 10 * time.Minute)
				id := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				user := "u" + strconv.Itoa(i%3)
				first := reviewHash(9, uint64(w), uint64(i))
				// Another worker may have revoked the user's sessions at
				// this now already: a session created then is refused.
				if err := s.CreateSession(ctx, Session{ID: id, UserID: user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, first); err != nil && !errors.Is(err, ErrSessionRevoked) {
					t.Error(err)
					return
				}
				s.RotateSession(ctx, first, reviewHash(10, uint64(w), uint64(i)), now, time.Second)
				s.RotateSession(ctx, first, reviewHash(11, uint64(w), uint64(i)), now, time.Second)
				s.LookupSession(ctx, first)
				s.Revoked(ctx, id, "j"+id, now)
				s.DenyAccessToken(ctx, "j"+id, now.Add(time.Minute))
				if i%7 == 0 {
					s.RevokeUserSessions(ctx, user, now)
				}
				s.RevokeSession(ctx, strconv.Itoa((w+1)%8)+"-"+strconv.Itoa(i), now)
			}
		})
	}
	wg.Wait()
}

// TestReviewGraceRetryUnboundsHashes (a finding of the lifecycle review,
// fixed): the bound on a session's hashes stopped at the first superseded
// one, so one retry in a grace window made every later rotation's hash
// stay, and retries in a window each added one.
func TestReviewGraceRetryUnboundsHashes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	const grace = 10 * time.Second
	s := NewMemorySessionStore().(*memorySessions)
	first := reviewHash(0)
	if err := s.CreateSession(ctx, Session{ID: "loop", UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}, first); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Second)
	if _, err := s.RotateSession(ctx, first, reviewHash(1), now, grace); err != nil {
		t.Fatal(err)
	}
	// Retries of the first token in its window, each superseding the last.
	for i := 2; i < 2000; i++ {
		if _, err := s.RotateSession(ctx, first, reviewHash(uint64(i)), now, grace); err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
	}
	cur := reviewHash(1999)
	for i := 2000; i < 4000; i++ {
		now = now.Add(time.Second)
		next := reviewHash(uint64(i))
		if _, err := s.RotateSession(ctx, cur, next, now, grace); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		cur = next
	}
	if n := len(s.tokens); n > maxSpentPerSession+2 {
		t.Errorf("%d hashes kept for one session, want at most %d", n, maxSpentPerSession+2)
	}
	if _, err := s.RotateSession(ctx, cur, reviewHash(5000), now.Add(time.Second), grace); err != nil {
		t.Errorf("the current token after the trimming: %v", err)
	}
}

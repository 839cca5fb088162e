package jwtguard

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestReviewRevocationMarksBounded: the memory session store keeps the
// marks of RevokeUserSessions (which refuse a login that read the user
// before a password change) for an hour, one per user, and then drops
// them, refusing from then on every session created at or before the
// newest mark it dropped, so that forgetting lets no such login through.
// A finding of the registration review (the fix's mark must not grow
// without bound), fixed.
func TestReviewRevocationMarksBounded(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	s := NewMemorySessionStore().(*memorySessions)
	if err := s.CreateSession(ctx, Session{ID: "other", UserID: "v", CreatedAt: t0.Add(-time.Minute), ExpiresAt: t0.Add(7 * 24 * time.Hour)}, reviewHash(1)); err != nil {
		t.Fatal(err)
	}
	const users = 1000
	for i := range users {
		for range 3 { // one mark per user, however often revoked
			if err := s.RevokeUserSessions(ctx, "u"+strconv.Itoa(i), t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(s.marks) != users {
		t.Fatalf("%d marks for %d users", len(s.marks), users)
	}
	create := func(id, user string, created time.Time) error {
		return s.CreateSession(ctx, Session{ID: id, UserID: user, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}, reviewHash(2, uint64(len(id)), uint64(created.UnixNano())))
	}
	cur, next := reviewHash(1), reviewHash(3)
	rotate := func(now time.Time) {
		t.Helper()
		if _, err := s.RotateSession(ctx, cur, next, now, 0); err != nil {
			t.Fatal(err)
		}
		cur, next = next, reviewHash(4, uint64(now.UnixNano()))
	}
	rotate(t0.Add(time.Hour - time.Minute)) // sweeps: the marks are kept
	if len(s.marks) != users {
		t.Fatalf("%d marks left before the hour, want %d", len(s.marks), users)
	}
	rotate(t0.Add(time.Hour)) // sweeps: the marks are an hour old
	if len(s.marks) != 0 || !s.forgotten.Equal(t0) {
		t.Fatalf("%d marks left an hour on (forgotten %v); want none, forgotten at t0", len(s.marks), s.forgotten)
	}
	for _, user := range []string{"u5", "someone-else"} {
		if err := create("old-"+user, user, t0.Add(-time.Second)); !errors.Is(err, ErrSessionRevoked) {
			t.Errorf("a session of %s created before a forgotten mark: %v, want ErrSessionRevoked", user, err)
		}
		if err := create("at-"+user, user, t0); !errors.Is(err, ErrSessionRevoked) {
			t.Errorf("a session of %s created at a forgotten mark: %v, want ErrSessionRevoked", user, err)
		}
	}
	if err := create("new-u5", "u5", t0.Add(time.Microsecond)); err != nil {
		t.Errorf("a session created after the forgotten mark: %v", err)
	}
}

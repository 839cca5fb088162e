package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// TestReviewFileModes (a finding of the SQLite store's review, fixed): the
// database file, which holds every bcrypt hash, and its -wal and -shm
// files were created with the umask's mode (0644 on most systems).
func TestReviewFileModes(t *testing.T) {
	s, path := open(t)
	if err := s.CreateUser(context.Background(), jwtguard.User{ID: "u", Username: "alice", PasswordHash: testHash()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
}

// TestReviewSweepKeepsUp (a finding of the SQLite store's review, fixed):
// a sweep deleted at most 256 rows of each kind a minute, so denials
// expiring faster than that piled up for good. A sweep now works off its
// backlog in batches.
func TestReviewSweepKeepsUp(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	_, h := login(t, s, "u", now)
	for minute := range 10 {
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
	var left int
	if err := rawDB(t, path).QueryRow("SELECT count(*) FROM denials WHERE until <= ?", now.UnixMicro()).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d expired denials left after a sweep, want 0", left)
	}
}

// TestReviewIdleTimeoutRounding (a finding of the SQLite store's review,
// fixed): an idle timeout that is not a whole number of microseconds let
// a session refresh up to a microsecond after it went idle; the timeout is
// now rounded down, as the store's times are.
func TestReviewIdleTimeoutRounding(t *testing.T) {
	s, _ := open(t)
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	sess := newSession("u", t0)
	sess.IdleTimeout = time.Hour + 500*time.Nanosecond
	h := newHash()
	if err := s.CreateSession(context.Background(), sess, h); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateSession(context.Background(), h, newHash(), t0.Add(time.Hour+700*time.Nanosecond), 0); err == nil {
		t.Error("a session refreshed 200 ns after it went idle")
	}
}

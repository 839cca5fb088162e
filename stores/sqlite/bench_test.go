package sqlite_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// BenchmarkRevoked is Verify's revocation check of a live session's
// access token: one SELECT of two index probes.
func BenchmarkRevoked(b *testing.B) {
	s, _ := open(b)
	sess, _ := login(b, s, "u-1", t0)
	ctx, jti, now := context.Background(), "jti-"+rand.Text(), t0.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.Revoked(ctx, sess.ID, jti, now); err != nil || r {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkRevokedParallel is BenchmarkRevoked from GOMAXPROCS goroutines
// at once (-cpu sets how many), as a busy server asks.
func BenchmarkRevokedParallel(b *testing.B) {
	s, _ := open(b)
	sess, _ := login(b, s, "u-1", t0)
	jti, now := "jti-"+rand.Text(), t0.Add(time.Minute)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, err := s.Revoked(context.Background(), sess.ID, jti, now); err != nil || r {
				b.Error(r, err)
				return
			}
		}
	})
}

// BenchmarkRotateSession is a refresh's rotation: one BEGIN IMMEDIATE
// transaction committed with synchronous=FULL (an fsync of the WAL on a
// disk; the figure depends on the file system of the temporary
// directory).
func BenchmarkRotateSession(b *testing.B) {
	s, _ := open(b)
	_, h := login(b, s, "u-1", t0)
	ctx, now := context.Background(), t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		next := newHash()
		if _, err := s.RotateSession(ctx, h, next, now, 0); err != nil {
			b.Fatal(err)
		}
		h = next
	}
}

// BenchmarkLookupUser is the login's lookup by username, in a store of
// 10,000 users, in another letter case than the one stored.
func BenchmarkLookupUser(b *testing.B) {
	s, _ := open(b)
	ctx := context.Background()
	for i := range 10_000 {
		if err := s.CreateUser(ctx, jwtguard.User{ID: fmt.Sprint(i), Username: fmt.Sprintf("user%d", i), PasswordHash: testHash(), Roles: []string{"user"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.LookupUser(ctx, "USER4242"); err != nil {
			b.Fatal(err)
		}
	}
}

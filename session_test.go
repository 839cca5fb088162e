package jwtguard_test

import (
	"context"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

// BenchmarkMemorySessionStoreRevoked: the check Verify will make on every
// request when a session store is configured (issue 14's target: at most
// 100 ns added to Verify), against a store of 10 000 live sessions and as
// many denied tokens, from parallel goroutines.
func BenchmarkMemorySessionStoreRevoked(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	s := jwtguard.NewMemorySessionStore()
	for i := range 10_000 {
		id := "session-" + strconv.Itoa(i)
		err := s.CreateSession(ctx, jwtguard.Session{ID: id, UserID: "user-" + strconv.Itoa(i), CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}, sha256.Sum256([]byte(id)))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.DenyAccessToken(ctx, "denied-"+strconv.Itoa(i), now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			revoked, err := s.Revoked(ctx, "session-4242", "jti-of-a-live-token", now)
			if err != nil || revoked {
				b.Fatalf("Revoked = %v, %v", revoked, err)
			}
		}
	})
}

// BenchmarkMemoryStores measures the memory stores' hot paths as every
// backend's are measured (storetest.Benchmark), for comparison.
func BenchmarkMemoryStores(b *testing.B) {
	storetest.Benchmark(b,
		func(*testing.B) jwtguard.SessionStore { return jwtguard.NewMemorySessionStore() },
		func(b *testing.B) jwtguard.UserWriter {
			s, err := jwtguard.NewMemoryStore()
			if err != nil {
				b.Fatal(err)
			}
			return s
		})
}

// BenchmarkMemoryThrottle measures the login policy's in-memory throttle
// as every backend's is measured (storetest.BenchmarkThrottle).
func BenchmarkMemoryThrottle(b *testing.B) {
	storetest.BenchmarkThrottle(b, func(*testing.B) jwtguard.Throttle { return jwtguard.NewMemoryThrottle(65536) })
}

// TestMemorySessionStore: the memory store passes the conformance suite.
func TestMemorySessionStore(t *testing.T) {
	storetest.Sessions(t, func(*testing.T) jwtguard.SessionStore { return jwtguard.NewMemorySessionStore() })
}

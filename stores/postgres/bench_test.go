package postgres_test

import (
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/storetest"
)

// BenchmarkStore measures Revoked (one SELECT, one round trip),
// RotateSession (a transaction of four round trips) and LookupUser, from
// GOMAXPROCS goroutines at once, with their p50 and p99 latencies, on
// the throwaway server: on loopback, with fsync off, so the figures are
// the Store's and the server's work, not a disk's or a network's.
func BenchmarkStore(b *testing.B) {
	url := testserver.Postgres(b)
	storetest.Benchmark(b,
		func(b *testing.B) jwtguard.SessionStore { s, _ := open(b, url); return s },
		func(b *testing.B) jwtguard.UserWriter { s, _ := open(b, url); return s })
}

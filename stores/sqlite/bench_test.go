package sqlite_test

import (
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

// BenchmarkStore measures Revoked (one SELECT of two index probes),
// RotateSession (one BEGIN IMMEDIATE transaction committed with
// synchronous=FULL: an fsync of the WAL, so the figure depends on the
// file system of the temporary directory) and LookupUser, from
// GOMAXPROCS goroutines at once, with their p50 and p99 latencies.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b,
		func(b *testing.B) jwtguard.SessionStore { s, _ := open(b); return s },
		func(b *testing.B) jwtguard.UserWriter { s, _ := open(b); return s })
}

package redis_test

import (
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

// BenchmarkStore measures the Store's session hot paths (Revoked,
// RotateSession), as every backend's are measured: one script, one round
// trip each, to a server on loopback.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) jwtguard.SessionStore {
		s, _ := open(b)
		return s
	}, nil)
}

// BenchmarkThrottle measures the Store as the login policy's Throttle: a
// Take and a refunding Done, two scripts.
func BenchmarkThrottle(b *testing.B) {
	storetest.BenchmarkThrottle(b, func(b *testing.B) jwtguard.Throttle {
		s, _ := open(b)
		return s
	})
}

package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Benchmark measures a store's hot paths, the same way for every backend,
// as sub-benchmarks of b:
//
//   - Revoked: Verify's revocation check of a live session's access
//     token, among 1,000 sessions;
//   - RotateSession: a refresh, each goroutine rotating a session of its
//     own;
//   - LookupUser: the login's lookup by username, in a store of 10,000
//     users, in another letter case than the one stored.
//
// Each runs under b.RunParallel (GOMAXPROCS goroutines; -cpu sets how
// many) and reports, beside ns/op (the throughput of all goroutines
// together) and the allocations, the latency of one call as its median
// (p50-ns) and 99th percentile (p99-ns) over the calls of the final run,
// to within 3%. sessions and users make the stores, once each for all
// the sub-benchmarks of their kind (and may register their removal with
// b.Cleanup); either may be nil, and its sub-benchmarks are then left
// out. Run it from a benchmark of the backend:
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Benchmark(b,
//			func(b *testing.B) jwtguard.SessionStore { return open(b) },
//			func(b *testing.B) jwtguard.UserWriter { return open(b) })
//	}
func Benchmark(b *testing.B, sessions func(b *testing.B) jwtguard.SessionStore, users func(b *testing.B) jwtguard.UserWriter) {
	ctx := context.Background()
	if sessions != nil {
		s := sessions(b)
		const live = 1000
		sids := make([]string, live)
		for i := range sids {
			sess := benchSession(fmt.Sprintf("bench-user-%d", i))
			if err := s.CreateSession(ctx, sess, benchHash()); err != nil {
				b.Fatalf("CreateSession = %v", err)
			}
			sids[i] = sess.ID
		}
		now := t0.Add(time.Minute)
		b.Run("Revoked", func(b *testing.B) {
			var next atomic.Uint64
			parallel(b, func() func() error {
				i := next.Add(7919) // goroutines start apart
				jti := "jti-" + rand.Text()
				return func() error {
					i++
					revoked, err := s.Revoked(ctx, sids[i%live], jti, now)
					if err == nil && revoked {
						err = fmt.Errorf("Revoked(a live session) = true")
					}
					return err
				}
			})
		})
		b.Run("RotateSession", func(b *testing.B) {
			var users atomic.Uint64
			parallel(b, func() func() error {
				sess := benchSession(fmt.Sprintf("rotating-user-%d", users.Add(1)))
				h := benchHash()
				if err := s.CreateSession(ctx, sess, h); err != nil {
					return func() error { return fmt.Errorf("CreateSession = %w", err) }
				}
				now := sess.CreatedAt
				return func() error {
					// 10 ms apart: a week's session lasts 60 million
					// rotations, and a sweep comes every 6,000.
					now = now.Add(10 * time.Millisecond)
					next := benchHash()
					if _, err := s.RotateSession(ctx, h, next, now, 0); err != nil {
						return fmt.Errorf("RotateSession = %w", err)
					}
					h = next
					return nil
				}
			})
		})
	}
	if users != nil {
		s := users(b)
		const n = 10_000
		hash := hashA()
		for i := range n {
			if err := s.CreateUser(ctx, jwtguard.User{ID: fmt.Sprint("bench-", i), Username: fmt.Sprint("user", i), PasswordHash: hash, Roles: []string{"user"}}); err != nil {
				b.Fatalf("CreateUser = %v", err)
			}
		}
		b.Run("LookupUser", func(b *testing.B) {
			var next atomic.Uint64
			parallel(b, func() func() error {
				i := next.Add(7919)
				return func() error {
					i++
					name := strings.ToUpper(fmt.Sprint("user", i%n))
					if _, err := s.LookupUser(ctx, name); err != nil {
						return fmt.Errorf("LookupUser(%q) = %w", name, err)
					}
					return nil
				}
			})
		})
	}
}

// BenchmarkThrottle measures a Throttle's hot path as the login policy
// uses it, the same way for every backend, as sub-benchmarks of b (see
// [Benchmark] for what each reports):
//
//   - TakeRefund: a login that was not a guess (a Take, then a Done that
//     refunds it), each goroutine an account of its own;
//   - TakeRefundOneKey: the same, every goroutine on one account's bucket.
//
// newThrottle makes the throttle, once for all the sub-benchmarks.
func BenchmarkThrottle(b *testing.B, newThrottle func(b *testing.B) jwtguard.Throttle) {
	ctx := context.Background()
	t := newThrottle(b)
	takeRefund := func(key string, l jwtguard.Limit) error {
		wait, err := t.Take(ctx, key, l, t0)
		switch {
		case err != nil:
			return fmt.Errorf("throttle Take = %w", err)
		case wait != 0:
			return fmt.Errorf("throttle Take = wait %v; want a token", wait)
		}
		if err := t.Done(ctx, key, l, true, t0); err != nil {
			return fmt.Errorf("throttle Done = %w", err)
		}
		return nil
	}
	b.Run("TakeRefund", func(b *testing.B) {
		l := jwtguard.Limit{Burst: 10, Every: 30 * time.Second}
		var next atomic.Uint64
		parallel(b, func() func() error {
			key := fmt.Sprintf("bench-account-%d-%s", next.Add(1), rand.Text())
			return func() error { return takeRefund(key, l) }
		})
	})
	b.Run("TakeRefundOneKey", func(b *testing.B) {
		// A burst above the goroutines' number: each holds one token at
		// most, so none waits.
		l := jwtguard.Limit{Burst: 1000, Every: 30 * time.Second}
		key := "bench-account-" + rand.Text()
		parallel(b, func() func() error {
			return func() error { return takeRefund(key, l) }
		})
	})
}

func benchSession(user string) jwtguard.Session {
	return jwtguard.Session{ID: "sid-" + rand.Text(), UserID: user, CreatedAt: t0, ExpiresAt: t0.Add(lifetime), LastUsedAt: t0}
}

func benchHash() jwtguard.TokenHash {
	var h jwtguard.TokenHash
	rand.Read(h[:])
	return h
}

// parallel runs the calls that each goroutine of b.RunParallel gets from
// setup, times each one into a histogram of the goroutine's own, and
// reports the merged histogram's median and 99th percentile.
func parallel(b *testing.B, setup func() func() error) {
	var mu sync.Mutex
	var all histogram
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		call := setup()
		h := new(histogram)
		for pb.Next() {
			began := time.Now()
			if err := call(); err != nil {
				b.Error(err)
				return
			}
			h.add(time.Since(began))
		}
		mu.Lock()
		all.merge(h)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(all.quantile(0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(all.quantile(0.99).Nanoseconds()), "p99-ns")
}

// A histogram counts durations in buckets 1/32 of a power of two wide
// (exact below 64 ns), so that a quantile is known to within 3% with no
// allocation per call.
type histogram struct {
	counts [histBuckets]uint64
	total  uint64
}

const (
	histSub     = 32 // buckets per power of two
	histBuckets = (64 - 5 + 1) * histSub
)

// bucket is d's bucket: d itself below 64; else, with d's top six bits m
// (32 ≤ m < 64) and the bits below them shift, shift*32 + m.
func bucket(d time.Duration) int {
	n := uint64(max(d, 0))
	if n < 2*histSub {
		return int(n)
	}
	shift := bits.Len64(n) - 6
	return shift*histSub + int(n>>shift)
}

// midpoint is the middle of bucket i's durations.
func midpoint(i int) time.Duration {
	if i < 2*histSub {
		return time.Duration(i)
	}
	shift := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return time.Duration(m<<shift + (1<<shift)/2)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucket(d)]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// quantile is the duration that a fraction q of the calls took at most
// (the midpoint of its bucket); 0 with no calls.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return midpoint(i)
		}
	}
	return midpoint(histBuckets - 1)
}

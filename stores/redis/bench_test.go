package redis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/stores/redis"
)

// take takes a token from key's bucket at t0, an error if it cannot.
func take(s *redis.Store, key string, l jwtguard.Limit) error {
	wait, err := s.Take(context.Background(), key, l, t0)
	if err == nil && wait != 0 {
		err = fmt.Errorf("Take = wait %v", wait)
	}
	return err
}

// latencies gathers the durations of a benchmark's operations from its
// goroutines and reports their median and 99th percentile.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d...)
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	at := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// parallel runs op from GOMAXPROCS goroutines (-cpu sets how many), each
// with the state that setup gives it, timing every call.
func parallel[S any](b *testing.B, setup func() S, op func(S) error) {
	var lat latencies
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		st := setup()
		var local []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := op(st); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(start))
		}
		lat.add(local)
	})
	b.StopTimer()
	lat.report(b)
}

// BenchmarkRevoked is Verify's revocation check of a live session's
// access token: one script, one round trip to a server on loopback.
func BenchmarkRevoked(b *testing.B) {
	s, _ := open(b)
	sess, _ := login(b, s, "u-1", t0)
	jti, now := "jti-"+rand.Text(), t0.Add(time.Minute)
	ctx := context.Background()
	parallel(b, func() struct{} { return struct{}{} }, func(struct{}) error {
		r, err := s.Revoked(ctx, sess.ID, jti, now)
		if err == nil && r {
			err = errors.New("a live session's token revoked")
		}
		return err
	})
}

// rotation is one goroutine's session in BenchmarkRotateSession.
type rotation struct {
	h   jwtguard.TokenHash
	now time.Time
}

// BenchmarkRotateSession is a refresh's rotation, each goroutine rotating
// a session of its own.
func BenchmarkRotateSession(b *testing.B) {
	s, _ := open(b)
	ctx := context.Background()
	parallel(b, func() *rotation {
		_, h := login(b, s, "u-"+rand.Text(), t0)
		return &rotation{h: h, now: t0}
	}, func(r *rotation) error {
		r.now = r.now.Add(time.Second)
		next := newHash()
		if _, err := s.RotateSession(ctx, r.h, next, r.now, 0); err != nil {
			return err
		}
		r.h = next
		return nil
	})
}

// BenchmarkThrottleTakeDone is a login that was not a guess, as the login
// policy makes it on the Store: a Take from the account's bucket, then a
// Done that refunds it (two scripts), each goroutine an account of its
// own.
func BenchmarkThrottleTakeDone(b *testing.B) {
	s, _ := open(b)
	ctx := context.Background()
	l := jwtguard.Limit{Burst: 10, Every: 30 * time.Second}
	parallel(b, func() string { return "u" + rand.Text() }, func(key string) error {
		if err := take(s, key, l); err != nil {
			return err
		}
		return s.Done(ctx, key, l, true, t0)
	})
}

// BenchmarkThrottleTakeDoneOneKey is BenchmarkThrottleTakeDone with every
// goroutine on one account's bucket.
func BenchmarkThrottleTakeDoneOneKey(b *testing.B) {
	s, _ := open(b)
	ctx := context.Background()
	l := jwtguard.Limit{Burst: 1000, Every: 30 * time.Second}
	key := "u" + rand.Text()
	parallel(b, func() struct{} { return struct{}{} }, func(struct{}) error {
		if err := take(s, key, l); err != nil {
			return err
		}
		return s.Done(ctx, key, l, true, t0)
	})
}

package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
)

// returningTTL is how long a Store remembers an account's last successful
// login: the 30 days for which the login policy counts a login from that
// address as the returning owner's.
const returningTTL = 30 * 24 * time.Hour

// The throttle's buckets are the generic cell rate algorithm (GCRA), as
// the in-memory throttle's are: a bucket is one number, the instant at
// which it is full again (Unix microseconds, by the times the calls give),
// kept under <prefix>t:<key> until then and forgotten after (a full bucket
// is as good as none). It holds Burst − (full − now)/Every tokens; Take
// takes one when full − now ≤ (Burst−1)·Every, moving full on by Every,
// and otherwise answers the wait (full − now) − (Burst−1)·Every; a refund
// moves full back by Every.
//
// This is a script of the package's own rather than
// github.com/go-redis/redis_rate/v10's GCRA, which was the first choice,
// because redis_rate cannot keep two of the in-memory throttle's rules.
// It reads the time from Redis (TIME) and cannot be given the login's
// now, so that the Auth's clock (WithClock; the tests' frozen instants)
// would not drive the buckets. And a refund, which would be AllowN with
// n = -1, is lost when it makes the bucket full: its script stores the
// new state only while the bucket is not yet full, so the old state, one
// token spent, stays. Measured with v10.0.1 against redis-server 7.0, on
// a fresh bucket of burst 3: a take, then a refund (which answered
// "remaining 3"), then only two takes were allowed, the third refused
// for 30 s.

// takeScript: KEYS bucket; ARGV now, every, window ((burst−1)·every), all
// µs. Returns 0 when it took a token, else the wait in µs.
var takeScript = goredis.NewScript(`
local now, every, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local full = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if full < now then full = now end
local wait = full - now - window
if wait > 0 then return wait end
full = full + every
redis.call('SET', KEYS[1], string.format('%d', full), 'PX', string.format('%d', math.ceil((full - now) / 1000)))
return 0
`)

// refundScript: KEYS bucket; ARGV now, every (µs). Gives a token back: a
// bucket full again is forgotten.
var refundScript = goredis.NewScript(`
local now, every = tonumber(ARGV[1]), tonumber(ARGV[2])
local full = tonumber(redis.call('GET', KEYS[1]))
if not full then return 0 end
full = full - every
if full <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], string.format('%d', full), 'PX', string.format('%d', math.ceil((full - now) / 1000)))
return 0
`)

// limitMicros is l's interval and window in microseconds (the interval
// rounded up, so that a bucket never refills faster than l says).
func limitMicros(l jwtguard.Limit) (every, window int64, err error) {
	if l.Burst <= 0 || l.Every <= 0 {
		return 0, 0, fmt.Errorf("jwtguard/redis: throttle: a limit of burst %d every %v", l.Burst, l.Every)
	}
	every = (int64(l.Every) + 999) / 1000
	window = int64(l.Burst-1) * every
	// A bucket's full time is at most now + window + every, which Lua's
	// numbers (doubles) hold exactly while it is below 2^53 µs (the year
	// 2255): so window + every at most 200 years, twice the login
	// policy's bound on either.
	const span = 200 * 365 * 24 * int64(time.Hour/time.Microsecond)
	if l.Burst > 1 && window/int64(l.Burst-1) != every || window > span-every {
		return 0, 0, fmt.Errorf("jwtguard/redis: throttle: a limit of burst %d every %v spans too long", l.Burst, l.Every)
	}
	return every, window, nil
}

func (s *Store) bucketKey(key string) string    { return s.prefix + "t:" + key }
func (s *Store) loginKey(account string) string { return s.prefix + "l:" + account }

// Take takes a token from key's bucket of limit at now, as
// [jwtguard.Throttle] says, in one script: concurrent Takes, from any
// number of Stores, never take more than the bucket holds. It returns 0
// when it took one, and otherwise how long until the bucket has one
// (rounded to the microsecond), taking nothing.
func (s *Store) Take(ctx context.Context, key string, limit jwtguard.Limit, now time.Time) (time.Duration, error) {
	every, window, err := limitMicros(limit)
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	wait, err := takeScript.Run(ctx, s.c, []string{s.bucketKey(key)}, micros(now), every, window).Int64()
	if err != nil {
		return 0, fmt.Errorf("jwtguard/redis: throttle take: %w", err)
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// Done ends a login's hold on the token Take took for key: refund gives it
// back (one script); without refund the token stays spent and Done does
// not call Redis.
func (s *Store) Done(ctx context.Context, key string, limit jwtguard.Limit, refund bool, now time.Time) error {
	if !refund {
		return nil
	}
	every, _, err := limitMicros(limit)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := refundScript.Run(ctx, s.c, []string{s.bucketKey(key)}, micros(now), every).Err(); err != nil {
		return fmt.Errorf("jwtguard/redis: throttle refund: %w", err)
	}
	return nil
}

// Remember records addr as account's last successful login at now (to the
// microsecond), kept 30 days by Redis's clock.
func (s *Store) Remember(ctx context.Context, account, addr string, now time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v := strconv.FormatInt(micros(now), 10) + " " + addr
	if err := s.c.Set(ctx, s.loginKey(account), v, returningTTL).Err(); err != nil {
		return fmt.Errorf("jwtguard/redis: remember login: %w", err)
	}
	return nil
}

// LastLogin returns account's last successful login that Remember
// recorded within 30 days; addr is "" when there is none.
func (s *Store) LastLogin(ctx context.Context, account string) (addr string, at time.Time, err error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.c.Get(ctx, s.loginKey(account)).Result()
	switch {
	case err == goredis.Nil:
		return "", time.Time{}, nil
	case err != nil:
		return "", time.Time{}, fmt.Errorf("jwtguard/redis: last login: %w", err)
	}
	ts, addr, ok := strings.Cut(v, " ")
	m, perr := strconv.ParseInt(ts, 10, 64)
	if !ok || perr != nil {
		return "", time.Time{}, fmt.Errorf("jwtguard/redis: last login of %q: a value of %d bytes that is not a time and an address", account, len(v))
	}
	return addr, fromMicros(m), nil
}

package jwtguard

import (
	"context"
	"time"

	"github.com/jwtguard/jwtguard/internal/guard"
)

// SetPasswordCompare replaces the bcrypt comparison of a's login handlers, so
// that tests can hold a comparison in progress or count comparisons. Call it
// before a serves any request.
func SetPasswordCompare(a *Auth, compare func(hash, password []byte) error) {
	a.guard.SetCompare(compare)
}

// HasDummyHash reports whether a's login handlers have made their dummy hash
// of that cost.
func HasDummyHash(a *Auth, cost int) bool { return a.guard.HasDummy(cost) }

// ParseLifetime is how FromEnv reads JWT_EXPIRES_IN.
var ParseLifetime = parseLifetime

// EditLoginPolicy is an Option that edits the login policy in place, so that
// tests can set one field at a time; WithLoginPolicy sets the whole policy.
func EditLoginPolicy(edit func(*LoginPolicy)) Option {
	return func(c *config) { edit(&c.login) }
}

// SetMemoryStoreLimit sets the most users a store of NewMemoryStore holds
// (100,000 otherwise), so that tests can fill one.
func SetMemoryStoreLimit(users UserWriter, n int) {
	s := users.(*memoryStore)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = n
}

// MaxMemoryUsers is the most users NewMemoryStore's store holds.
const MaxMemoryUsers = maxMemoryUsers

// NewMemoryThrottle is the in-memory throttle of the login policy (the
// default when LoginPolicy.Throttle is nil) as a Throttle, for the
// conformance suite storetest.Throttle.
func NewMemoryThrottle(capacity int) Throttle {
	return memoryThrottle{guard.NewMemory(capacity)}
}

type memoryThrottle struct{ m *guard.Memory }

func (t memoryThrottle) Take(ctx context.Context, key string, l Limit, now time.Time) (time.Duration, error) {
	return t.m.Take(ctx, key, guard.Limit{Burst: l.Burst, Every: l.Every}, now)
}

func (t memoryThrottle) Done(ctx context.Context, key string, l Limit, refund bool, now time.Time) error {
	return t.m.Done(ctx, key, guard.Limit{Burst: l.Burst, Every: l.Every}, refund, now)
}

func (t memoryThrottle) Remember(ctx context.Context, account, addr string, now time.Time) error {
	return t.m.Remember(ctx, account, addr, now)
}

func (t memoryThrottle) LastLogin(ctx context.Context, account string) (string, time.Time, error) {
	return t.m.LastLogin(ctx, account)
}

package guard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const (
	// returningShare is the part of the budget kept for returning users:
	// logins for an account from the client address that last logged in to
	// it successfully.
	returningShare = 0.2
	// budgetWarnEvery spaces the operator's warnings while the budget is
	// exhausted.
	budgetWarnEvery = 10 * time.Second
)

// ErrOverloaded: no budget or comparison slot within the login wait, or too
// many logins waiting already.
var ErrOverloaded = errors.New("no password-hashing budget or slot within the login wait")

// passwordChecker runs the bcrypt comparisons of one Auth within two bounds:
// a CPU budget (comparisons started per second, with a small burst) and a
// concurrency bound. A login that finds neither budget nor slot free waits,
// up to the login wait, and is then refused: a tarpit, so that an attacker's
// refused guesses come back slowly rather than as a flood of instant 503s.
// Waiting costs no CPU; at most maxWaiting logins wait at once, and past that
// they are refused at once. Unknown users are compared against a dummy hash
// at the highest cost seen in a real hash, so that they take as long.
type passwordChecker struct {
	slots      chan struct{}
	wait       time.Duration
	retryAfter string // Retry-After for a refusal
	maxWaiting int64
	budget     *passwordBudget // nil: no budget
	compare    func(hash, password []byte) error
	log        *slog.Logger

	cost    int          // Config.DummyCost
	maxSeen atomic.Int32 // the highest cost of a real hash seen; 0: none yet
	dummies sync.Map     // cost (int) → *dummyHash

	admitted, held, refused atomic.Uint64
	waiting                 atomic.Int64
	lastWarn                atomic.Int64 // unix nanoseconds
}

type dummyHash struct {
	once sync.Once
	hash []byte
}

func newPasswordChecker(c *Config) *passwordChecker {
	pc := &passwordChecker{
		slots:      make(chan struct{}, c.Concurrency),
		wait:       c.Wait,
		retryAfter: RetryAfter(c.Wait),
		maxWaiting: int64(c.MaxWaiting),
		compare:    bcrypt.CompareHashAndPassword,
		log:        c.Log,
		cost:       c.DummyCost,
	}
	switch {
	case c.NoBudget:
	case c.BudgetRate > 0:
		pc.budget = newPasswordBudget(c.BudgetRate, c.BudgetBurst, 0)
	default:
		share := c.CPUShare * float64(c.Procs)
		pc.budget = newPasswordBudget(share/estimatedSeconds(c.DummyCost), 0, share)
	}
	return pc
}

// check compares password with hash (with a dummy hash when !found), once
// the budget and a slot allow it, and reports whether it ran a comparison.
// When alt is not empty and password does not match, alt is compared too,
// within the same admission (a second candidate for the same secret: the
// password as sent when password is its NFKC form); an unknown user's
// dummy is then compared twice, so that a login takes as long whether or
// not its user exists, and the budget observes both comparisons.
// Its error is nil on a match,
// bcrypt.ErrMismatchedHashAndPassword on a mismatch, ErrOverloaded when
// neither freed up within the wait, and ctx's error when the request went
// away while waiting. returning tells whether the login may draw on the
// share kept for returning users. A found user whose stored hash is not a
// whole bcrypt hash (CheckBcryptHash) is compared against the dummy, like
// an unknown user, and reported with an error wrapping ErrUnusableHash
// after the comparison.
func (pc *passwordChecker) check(ctx context.Context, hash []byte, found bool, password, alt string, returning bool) (compared bool, err error) {
	var unusable error
	cost := 0
	if found {
		if cost, unusable = CheckBcryptHash(hash); unusable == nil {
			pc.seeCost(cost)
		}
	}
	deadline := time.Now().Add(pc.wait)
	if err := pc.admit(ctx, returning, deadline); err != nil {
		if errors.Is(err, ErrOverloaded) {
			pc.refused.Add(1)
			pc.warn(ctx)
		}
		return false, err
	}
	defer func() { <-pc.slots }()
	pc.admitted.Add(1)
	if !found || unusable != nil {
		cost = pc.dummyCost()
		hash = pc.dummy(cost)
	}
	err = pc.compareOnce(hash, password, cost)
	if alt != "" && errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		// A second comparison spends a second budget token, without
		// waiting for it: the budget goes into debt, which the next
		// logins wait out, so that guesses whose NFKC form differs get no
		// more bcrypt CPU than the budget allows.
		if pc.budget != nil {
			pc.budget.take(returning)
		}
		err = pc.compareOnce(hash, alt, cost)
	}
	if unusable != nil {
		return true, fmt.Errorf("%w: %w", ErrUnusableHash, unusable)
	}
	return true, err
}

// compareOnce runs one bcrypt comparison and feeds its time to the budget.
func (pc *passwordChecker) compareOnce(hash []byte, password string, cost int) error {
	start := time.Now()
	err := pc.compare(hash, []byte(password))
	if pc.budget != nil && (err == nil || errors.Is(err, bcrypt.ErrMismatchedHashAndPassword)) {
		// Only comparisons that ran bcrypt say what one costs.
		pc.budget.observe(time.Since(start), cost)
	}
	return err
}

// hash hashes password at cost once the budget and a slot allow it, and
// records cost as the cost of a real hash (seeCost), so that unknown users
// are compared at least as slowly as the users it makes.
func (pc *passwordChecker) hash(ctx context.Context, password string, cost int) ([]byte, error) {
	if err := pc.admit(ctx, false, time.Now().Add(pc.wait)); err != nil {
		if errors.Is(err, ErrOverloaded) {
			pc.refused.Add(1)
			pc.warn(ctx)
		}
		return nil, err
	}
	defer func() { <-pc.slots }()
	pc.admitted.Add(1)
	start := time.Now()
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, err
	}
	// A hash made here is a stored user's: unknown users are compared at
	// its cost from now on, as if a login had seen it.
	pc.seeCost(cost)
	if pc.budget != nil {
		pc.budget.observe(time.Since(start), cost)
	}
	return h, nil
}

// ErrUnusableHash: the store's hash for a found user is not a bcrypt hash
// that can be compared with.
var ErrUnusableHash = errors.New("the stored password hash is not a usable bcrypt hash")

// seeCost records the cost of a real stored hash.
func (pc *passwordChecker) seeCost(c int) {
	for {
		old := pc.maxSeen.Load()
		if int32(c) <= old || pc.maxSeen.CompareAndSwap(old, int32(c)) {
			return
		}
	}
}

// dummyCost is the cost unknown users are compared at: the highest cost of
// the real hashes seen, so that they take at least as long as known users
// (Config.DummyCost until one is seen).
func (pc *passwordChecker) dummyCost() int {
	if c := pc.maxSeen.Load(); c > 0 {
		return int(c)
	}
	return pc.cost
}

// admit waits for budget and then for a slot, until deadline. It returns
// ErrOverloaded when either does not come in time; budget it took for a
// login that is then refused goes back to its pool.
func (pc *passwordChecker) admit(ctx context.Context, returning bool, deadline time.Time) (err error) {
	held := false
	defer func() {
		if held {
			pc.held.Add(1)
		}
	}()
	var pool *bucket
	if pc.budget != nil {
		var delay time.Duration
		pool, delay = pc.budget.take(returning)
		if start := time.Now().Add(delay); delay > 0 {
			if !start.Before(deadline) {
				// Not within the wait: give the budget back and hold the
				// request until the wait is over (the tarpit).
				pool.give()
				return timedOut(pc.hold(ctx, deadline, nil, &held))
			}
			if err := pc.hold(ctx, start, nil, &held); !errors.Is(err, errTimedOut) {
				pool.give()
				return err
			}
		}
	}
	select {
	case pc.slots <- struct{}{}:
		return nil
	default:
	}
	if err = pc.hold(ctx, deadline, pc.slots, &held); err != nil && pool != nil {
		pool.give()
	}
	return timedOut(err)
}

// errTimedOut: hold reached its deadline.
var errTimedOut = errors.New("timed out")

// timedOut turns hold's deadline into the refusal.
func timedOut(err error) error {
	if errors.Is(err, errTimedOut) {
		return ErrOverloaded
	}
	return err
}

// hold waits until deadline (errTimedOut) or, when slots is not nil, until
// it takes a free slot (nil). It returns ctx's error when the client went
// away, and ErrOverloaded at once when maxWaiting logins already wait; it
// sets *waited when it did wait. Waiting costs no CPU.
func (pc *passwordChecker) hold(ctx context.Context, deadline time.Time, slots chan struct{}, waited *bool) error {
	if n := pc.waiting.Add(1); n > pc.maxWaiting {
		pc.waiting.Add(-1)
		return fmt.Errorf("%w: %d logins already waiting", ErrOverloaded, n-1)
	}
	defer pc.waiting.Add(-1)
	d := time.Until(deadline)
	if d <= 0 {
		return errTimedOut
	}
	*waited = true
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case slots <- struct{}{}: // never chosen when slots is nil
		return nil
	case <-t.C:
		return errTimedOut
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// warn tells the operator, at most every budgetWarnEvery, that logins are
// being refused for want of budget or slots.
func (pc *passwordChecker) warn(ctx context.Context) {
	now := time.Now().UnixNano()
	last := pc.lastWarn.Load()
	if now-last < int64(budgetWarnEvery) || !pc.lastWarn.CompareAndSwap(last, now) {
		return
	}
	attrs := []slog.Attr{
		slog.Uint64("refused_total", pc.refused.Load()),
		slog.Int64("waiting", pc.waiting.Load()),
	}
	if pc.budget != nil {
		attrs = append(attrs, slog.Float64("budget_per_second", pc.budget.perSecond()))
	}
	pc.log.LogAttrs(ctx, slog.LevelWarn, "jwtguard: password hashing at capacity; logins are held and refused with 503 (a password-guessing flood?)", attrs...)
}

// dummy returns a bcrypt hash of a random password at cost, made once per
// cost. A wrong guess can never match it.
func (pc *passwordChecker) dummy(cost int) []byte {
	v, _ := pc.dummies.LoadOrStore(cost, new(dummyHash))
	d := v.(*dummyHash)
	d.once.Do(func() {
		var pw [32]byte
		rand.Read(pw[:])
		h, err := bcrypt.GenerateFromPassword(pw[:], cost)
		if err != nil {
			panic(fmt.Sprintf("jwtguard: making the dummy hash: %v", err)) // cost was validated
		}
		d.hash = h
	})
	return d.hash
}

// passwordBudget is the rate of bcrypt comparisons: returningShare of it is
// kept for returning users, the rest is for everyone (returning users fall
// back on it too). When share is set, the rate follows the measured time of
// a comparison: share (in cores) divided by seconds per comparison.
type passwordBudget struct {
	general, returning bucket
	share              float64 // cores; 0: the rate is fixed
	fixedBurst         int     // 0: derived from the rate

	mu      sync.Mutex
	seconds float64 // EWMA of seconds per comparison, normalised to cost 10
}

func newPasswordBudget(perSecond float64, burst int, share float64) *passwordBudget {
	b := &passwordBudget{share: share, fixedBurst: burst}
	b.setRate(perSecond)
	now := time.Now()
	b.general.fill(now)
	b.returning.fill(now)
	return b
}

// setRate splits perSecond between the two pools. Each pool's burst is one
// second of its rate, at least 4 for everyone and 2 for returning users;
// a fixed burst is split the same way, at least 1 each.
func (b *passwordBudget) setRate(perSecond float64) {
	g, r := perSecond*(1-returningShare), perSecond*returningShare
	gb, rb := max(4, math.Ceil(g)), max(2, math.Ceil(r))
	if b.fixedBurst > 0 {
		gb = max(1, math.Round(float64(b.fixedBurst)*(1-returningShare)))
		rb = max(1, math.Round(float64(b.fixedBurst)*returningShare))
	}
	now := time.Now()
	b.general.set(now, g, gb)
	b.returning.set(now, r, rb)
}

func (b *passwordBudget) perSecond() float64 { return b.general.perSecond() + b.returning.perSecond() }

// take takes one comparison from the budget: for a returning user from
// whichever pool covers it first, for others from the general pool. It
// returns the pool to give it back to and how long until it may start.
func (b *passwordBudget) take(returning bool) (*bucket, time.Duration) {
	now := time.Now()
	gd := b.general.take(now)
	if !returning || gd == 0 {
		return &b.general, gd
	}
	rd := b.returning.take(now)
	if rd < gd {
		b.general.give()
		return &b.returning, rd
	}
	b.returning.give()
	return &b.general, gd
}

// observe feeds the measured time of one bcrypt comparison of a hash of
// cost into the derived rate. The estimate is never taken below a quarter
// of the default, so that no run of fast comparisons can open the budget
// wide.
func (b *passwordBudget) observe(d time.Duration, cost int) {
	if b.share == 0 {
		return
	}
	s := max(d.Seconds()/math.Exp2(float64(cost-10)), estimatedSeconds(10)/4)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seconds == 0 {
		b.seconds = s
	} else {
		b.seconds += 0.2 * (s - b.seconds)
	}
	target := b.share / (b.seconds * math.Exp2(float64(cost-10)))
	if current := b.perSecond(); math.Abs(target-current) > 0.1*current {
		b.setRate(target)
	}
}

// estimatedSeconds is the time of one bcrypt comparison at cost before any
// has been measured: 60 ms at cost 10, doubling with each step.
func estimatedSeconds(cost int) float64 {
	return 0.060 * math.Exp2(float64(cost-10))
}

// bucket is a token bucket from which a token may be taken ahead of time
// (the balance goes below zero and the taker waits until time has paid it
// back) and given back. x/time/rate cannot give a token back once its
// reservation's time has passed, which a login that took budget and then
// found no slot must do.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens a second
	burst  float64
	tokens float64
	last   time.Time
}

func (b *bucket) advance(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// take takes a token and returns how long until the balance covers it.
func (b *bucket) take(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	if b.rate <= 0 {
		return math.MaxInt64
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// give returns a token taken and not used.
func (b *bucket) give() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(time.Now())
	b.tokens = min(b.burst, b.tokens+1)
}

func (b *bucket) set(now time.Time, rate, burst float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.rate, b.burst = rate, burst
	b.tokens = min(b.tokens, burst)
}

func (b *bucket) fill(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens, b.last = b.burst, now
}

func (b *bucket) perSecond() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate
}

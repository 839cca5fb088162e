package jwtguard

import (
	"container/list"
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
	"golang.org/x/time/rate"
)

// Password-hashing budget defaults. See WithPasswordCPUShare.
const (
	// DefaultPasswordCPUShare is the share of the machine (of GOMAXPROCS
	// cores) that bcrypt comparisons may use, on average, by default.
	DefaultPasswordCPUShare = 0.10
	// DefaultMaxWaitingLogins bounds how many logins wait for budget or a
	// comparison slot at once; past it they are refused at once.
	DefaultMaxWaitingLogins = 1024
	// returningShare is the part of the budget kept for returning users:
	// logins for an account from the client address that last logged in to
	// it successfully.
	returningShare = 0.2
	// budgetWarnEvery spaces the operator's warnings while the budget is
	// exhausted.
	budgetWarnEvery = 10 * time.Second
	// returningTTL is how long a successful login makes its account and
	// address a returning pair.
	returningTTL = 30 * 24 * time.Hour
)

// LoginStats counts what the login handlers of one Auth did with password
// comparisons since New. Export them to your metrics system; jwtguard has
// no metrics dependency.
type LoginStats struct {
	Admitted  uint64 // logins whose password comparison started
	Held      uint64 // logins that had to wait for budget or a slot, admitted or not
	Refused   uint64 // logins answered 503: no budget or slot within the wait, or too many waiting
	Throttled uint64 // logins answered 429 by the account or address throttle
	Waiting   int64  // logins waiting now

	// BudgetPerSecond is the comparisons per second the budget allows now
	// (its derived value follows the measured cost of a comparison); 0 when
	// there is no budget.
	BudgetPerSecond float64
}

// LoginStats returns the current counters. It is safe for concurrent use.
func (a *Auth) LoginStats() LoginStats {
	pc := a.passwords
	st := LoginStats{
		Admitted:  pc.admitted.Load(),
		Held:      pc.held.Load(),
		Refused:   pc.refused.Load(),
		Throttled: pc.throttled.Load(),
		Waiting:   pc.waiting.Load(),
	}
	if b := pc.budget; b != nil {
		st.BudgetPerSecond = float64(b.general.Limit() + b.returning.Limit())
	}
	return st
}

// errOverloaded: no budget or comparison slot within the login wait.
var errOverloaded = errors.New("no password-hashing budget or slot within the login wait")

// passwordChecker runs the bcrypt comparisons of one Auth within two bounds:
// a CPU budget (comparisons started per second, with a small burst) and a
// concurrency bound. A login that finds neither budget nor slot free waits,
// up to the login wait, and is then refused: a tarpit, so that an attacker's
// refused guesses come back slowly rather than as a flood of instant 503s.
// Waiting costs no CPU; at most maxWaiting logins wait at once, and past that
// they are refused at once. Unknown users are compared against a dummy hash
// of the cost last seen in a real hash, so that they take the same time.
type passwordChecker struct {
	slots      chan struct{}
	wait       time.Duration
	retryAfter string // Retry-After for a refusal
	maxWaiting int64
	budget     *passwordBudget // nil: no budget
	compare    func(hash, password []byte) error
	log        *slog.Logger

	cost    atomic.Int32 // cost of the last real hash seen
	dummies sync.Map     // cost (int) → *dummyHash

	admitted, held, refused, throttled atomic.Uint64
	waiting                            atomic.Int64
	lastWarn                           atomic.Int64 // unix nanoseconds
}

type dummyHash struct {
	once sync.Once
	hash []byte
}

func newPasswordChecker(c *config, log *slog.Logger) *passwordChecker {
	pc := &passwordChecker{
		slots:      make(chan struct{}, c.loginConcurrency),
		wait:       c.loginWait,
		retryAfter: retryAfter(c.loginWait),
		maxWaiting: int64(c.maxWaitingLogins),
		compare:    bcrypt.CompareHashAndPassword,
		log:        log,
	}
	pc.cost.Store(int32(c.bcryptCost))
	switch {
	case c.budgetOff:
	case c.budgetPerSecond > 0:
		pc.budget = newPasswordBudget(c.budgetPerSecond, c.budgetBurst, 0, c.throttleCapacity)
	default:
		share := c.cpuShare * float64(c.procs)
		pc.budget = newPasswordBudget(share/estimatedSeconds(c.bcryptCost), 0, share, c.throttleCapacity)
	}
	return pc
}

// check compares password with hash (with a dummy hash when !found), once
// the budget and a slot allow it. It returns nil on a match,
// bcrypt.ErrMismatchedHashAndPassword on a mismatch, errOverloaded when
// neither freed up within the wait, and ctx's error when the request went
// away while waiting. returning tells whether the login comes from the
// address that last logged in to this account.
func (pc *passwordChecker) check(ctx context.Context, hash []byte, found bool, password string, returning bool) error {
	if found {
		if c, err := bcrypt.Cost(hash); err == nil {
			pc.cost.Store(int32(c))
		}
	}
	deadline := time.Now().Add(pc.wait)
	if err := pc.admit(ctx, returning, deadline); err != nil {
		if errors.Is(err, errOverloaded) {
			pc.refused.Add(1)
			pc.warn(ctx)
		}
		return err
	}
	defer func() { <-pc.slots }()
	pc.admitted.Add(1)
	cost := int(pc.cost.Load())
	if !found {
		hash = pc.dummy(cost)
	}
	start := time.Now()
	err := pc.compare(hash, []byte(password))
	if pc.budget != nil {
		pc.budget.observe(time.Since(start), cost)
	}
	return err
}

// admit waits for budget and then for a slot, until deadline. It returns
// errOverloaded when either does not come in time.
func (pc *passwordChecker) admit(ctx context.Context, returning bool, deadline time.Time) (err error) {
	held := false
	defer func() {
		if held {
			pc.held.Add(1)
		}
	}()
	var res *rate.Reservation
	if pc.budget != nil {
		var delay time.Duration
		res, delay = pc.budget.reserve(returning)
		if start := time.Now().Add(delay); delay > 0 {
			held = true
			if !start.Before(deadline) {
				// Not within the wait: give the budget back and hold the
				// request until the wait is over (the tarpit).
				res.Cancel()
				return timedOut(pc.hold(ctx, deadline, nil))
			}
			if err := pc.hold(ctx, start, nil); !errors.Is(err, errTimedOut) {
				res.Cancel()
				return err
			}
		}
	}
	select {
	case pc.slots <- struct{}{}:
		return nil
	default:
	}
	held = true
	if err = pc.hold(ctx, deadline, pc.slots); err != nil && res != nil {
		res.Cancel() // gives back only what is still to come
	}
	return timedOut(err)
}

// errTimedOut: hold reached its deadline.
var errTimedOut = errors.New("timed out")

// timedOut turns hold's deadline into the refusal.
func timedOut(err error) error {
	if errors.Is(err, errTimedOut) {
		return errOverloaded
	}
	return err
}

// hold waits until deadline (errTimedOut) or, when slots is not nil, until
// it takes a free slot (nil). It returns ctx's error when the client went
// away, and errOverloaded at once when maxWaiting logins already wait.
// Waiting costs no CPU.
func (pc *passwordChecker) hold(ctx context.Context, deadline time.Time, slots chan struct{}) error {
	if n := pc.waiting.Add(1); n > pc.maxWaiting {
		pc.waiting.Add(-1)
		return fmt.Errorf("%w: %d logins already waiting", errOverloaded, n-1)
	}
	defer pc.waiting.Add(-1)
	d := time.Until(deadline)
	if d <= 0 {
		return errTimedOut
	}
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
		attrs = append(attrs, slog.Float64("budget_per_second", float64(pc.budget.general.Limit()+pc.budget.returning.Limit())))
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
	general, returning *rate.Limiter
	share              float64 // cores; 0: the rate is fixed
	fixedBurst         int     // 0: derived from the rate

	mu      sync.Mutex
	seconds float64 // EWMA of seconds per comparison, normalised to cost 10
	known   recentPairs
}

func newPasswordBudget(perSecond float64, burst int, share float64, capacity int) *passwordBudget {
	b := &passwordBudget{
		general:    rate.NewLimiter(0, 1),
		returning:  rate.NewLimiter(0, 1),
		share:      share,
		fixedBurst: burst,
		known:      recentPairs{max: capacity},
	}
	b.setRate(perSecond)
	return b
}

// setRate splits perSecond between the two limiters. The burst is one
// second's worth, at least 2 for returning users and 4 for everyone, unless
// fixed.
func (b *passwordBudget) setRate(perSecond float64) {
	g, r := perSecond*(1-returningShare), perSecond*returningShare
	gb, rb := max(4, int(math.Ceil(g))), max(2, int(math.Ceil(r)))
	if b.fixedBurst > 0 {
		gb = b.fixedBurst
		rb = max(1, int(math.Ceil(float64(b.fixedBurst)*returningShare)))
	}
	b.general.SetLimit(rate.Limit(g))
	b.general.SetBurst(gb)
	b.returning.SetLimit(rate.Limit(r))
	b.returning.SetBurst(rb)
}

// reserve takes one comparison from the budget: for a returning user from
// whichever pool frees up first, for others from the general pool. It
// returns the reservation and how long until it may start.
func (b *passwordBudget) reserve(returning bool) (*rate.Reservation, time.Duration) {
	now := time.Now()
	g := b.general.ReserveN(now, 1)
	gd := g.DelayFrom(now)
	if !returning || gd == 0 {
		return g, gd
	}
	r := b.returning.ReserveN(now, 1)
	if rd := r.DelayFrom(now); rd < gd {
		g.CancelAt(now)
		return r, rd
	}
	r.CancelAt(now)
	return g, gd
}

// observe feeds the measured time of one comparison at cost into the
// derived rate.
func (b *passwordBudget) observe(d time.Duration, cost int) {
	if b.share == 0 {
		return
	}
	s := d.Seconds() / math.Exp2(float64(cost-10))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seconds == 0 {
		b.seconds = s
	} else {
		b.seconds += 0.2 * (s - b.seconds)
	}
	target := b.share / (b.seconds * math.Exp2(float64(cost-10)))
	current := float64(b.general.Limit() + b.returning.Limit())
	if math.Abs(target-current) > 0.1*current {
		b.setRate(target)
	}
}

// estimatedSeconds is the time of one bcrypt comparison at cost before any
// has been measured: 60 ms at cost 10, doubling with each step.
func estimatedSeconds(cost int) float64 {
	return 0.060 * math.Exp2(float64(cost-10))
}

// recentPairs remembers which account last logged in from which client
// address (at most max accounts, least recently used forgotten first).
type recentPairs struct {
	max  int
	keys map[string]*list.Element // username → *recentPair
	lru  list.List
}

type recentPair struct {
	username, addr string
	at             time.Time
}

func (b *passwordBudget) remember(username, addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := &b.known
	if k.keys == nil {
		k.keys = make(map[string]*list.Element)
	}
	if el, ok := k.keys[username]; ok {
		p := el.Value.(*recentPair)
		p.addr, p.at = addr, time.Now()
		k.lru.MoveToFront(el)
		return
	}
	if len(k.keys) >= k.max {
		el := k.lru.Back()
		delete(k.keys, el.Value.(*recentPair).username)
		k.lru.Remove(el)
	}
	k.keys[username] = k.lru.PushFront(&recentPair{username, addr, time.Now()})
}

func (b *passwordBudget) isReturning(username, addr string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	el, ok := b.known.keys[username]
	if !ok {
		return false
	}
	p := el.Value.(*recentPair)
	return p.addr == addr && time.Since(p.at) < returningTTL
}

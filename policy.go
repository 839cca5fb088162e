package jwtguard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard/internal/guard"
)

// LoginPolicy is how [Auth.LoginHandler] defends logins against password guessing
// and floods. Give it to [New] with [WithLoginPolicy]; the zero [LoginPolicy] is
// the default policy, and the zero value of each field means the default
// that its comment states. Turning a defence off takes a field that says
// so (Account.Off, NoBudget, NoWait). [New] validates the policy once.
//
// Two clocks drive the defences: the throttles and the memory of returning
// owners run on the [Auth]'s clock (WithClock), the password budget and the
// login wait on the runtime clock, so that a test's frozen clock cannot
// freeze the budget's refills (testing/synctest fakes the runtime clock).
type LoginPolicy struct {
	// Account limits failed logins per account: per username, as
	// strings.EqualFold compares them, and, once the UserStore has found
	// the user, per User.ID too, so that spellings the store maps to one
	// user share a bucket however it folds them. A login over the limit is
	// refused with 429 and Retry-After before any password is compared.
	// Only a login refused after its password was compared costs a token.
	// Zero: a burst of 10, then one more every 30 seconds.
	//
	// Logins from the client address of the account's last successful
	// login (within 30 days) count against a bucket of their own, so that
	// an attacker guessing from elsewhere cannot keep the account's owner
	// out. That bucket needs distinct client addresses: behind a reverse
	// proxy, name it in TrustedProxies, or every client has the proxy's
	// address and the attacker shares the owner's bucket. A login whose
	// address cannot be read is never the owner's; an attacker at the
	// owner's own address (the same NAT, the same IPv6 /64) shares it
	// whatever is configured.
	Account Limit
	// Address limits failed logins per client address (IPv6: per /64), as
	// Account does per account. Zero: off, because behind a reverse proxy
	// every client shares the proxy's address until TrustedProxies names
	// it; a Burst or an Every turns it on, the other field then defaulting
	// as in Account.
	Address Limit
	// Throttle keeps the throttles' buckets and each account's last
	// successful login. Nil: this process's memory, Capacity keys of each
	// limit and Capacity accounts, the least useful forgotten first (see
	// SECURITY.md). A shared Throttle lets replicas share one budget of
	// guesses per account.
	Throttle Throttle
	// Capacity bounds what the in-memory Throttle, and the password
	// budget's memory of returning owners, remember: keys per limit and
	// accounts. Each costs a few hundred bytes. Zero: 65 536.
	Capacity int
	// TrustedProxies names the reverse proxies (addresses such as
	// "10.0.0.5" or prefixes such as "10.0.0.0/8") whose ForwardedHeader
	// tells the client address. Requests from any other peer are keyed by
	// RemoteAddr and their forwarding headers ignored. Zero: none.
	TrustedProxies []string
	// ForwardedHeader is the one header a trusted proxy's client address is
	// read from: "X-Forwarded-For" (nginx, HAProxy, the cloud load
	// balancers) or "Forwarded" (RFC 7239). Only that header is read: a
	// proxy that sets one usually passes the other through from the client,
	// and reading it would let clients choose their address. Zero:
	// "X-Forwarded-For".
	ForwardedHeader string

	// CPUShare is the share of the machine that bcrypt comparisons may take
	// on average: comparisons start at most at CPUShare × GOMAXPROCS
	// divided by the measured time of one comparison, per second (at cost
	// 10 about 55 ms a core, so 10% of 2 cores is about 3.6 logins a
	// second), with a burst of a second's worth (at least 4). A fifth of
	// it is kept for returning owners, each at most once a minute. Logins
	// beyond it wait (Wait) and are then refused with 503 and Retry-After,
	// so that a guessing flood cannot take the CPU from the rest of the
	// service. The budget protects this process's CPU and is never shared.
	// For a login-heavy service: CPUShare = peak logins a second × seconds
	// a comparison ÷ cores, with headroom. Zero: 0.10; at most 1.
	CPUShare float64
	// BudgetRate fixes the budget at this many comparisons a second, split
	// four to one like the derived one, instead of deriving it from
	// CPUShare; BudgetBurst is its burst. Zero: derived; a zero BudgetBurst
	// is a second's worth, at least 4.
	BudgetRate  float64
	BudgetBurst int
	// NoBudget turns the budget off, leaving only Concurrency: a flood can
	// then keep that many cores busy.
	NoBudget bool
	// Concurrency bounds the bcrypt comparisons running at once. Zero:
	// GOMAXPROCS when New runs.
	Concurrency int
	// Wait is how long a login waits for budget and a free comparison slot
	// before it is refused with 503 and Retry-After. A login that cannot
	// get budget within the wait is held for all of it (a tarpit: a flood's
	// refused guesses come back slowly and cost no CPU while they wait).
	// Zero: 1 second. NoWait refuses at once instead.
	Wait   time.Duration
	NoWait bool
	// MaxWaiting bounds the logins waiting at once, each holding a
	// goroutine and its request; past it a login is refused with 503 at
	// once, which gives up the tarpit: keep it above the connections an
	// attacker can hold open. Zero: 1024.
	MaxWaiting int
	// MaxBodySize bounds a login body in bytes; a larger one is refused
	// with 413. Zero: 4096; at least 64.
	MaxBodySize int64
	// DummyHashCost is the bcrypt cost of the dummy hash that unknown users
	// (and users whose stored hash cannot be used) are compared against,
	// so that they take as long as known users, until a real hash has been
	// seen (compared by a login, or made by RegisterHandler or
	// SetPassword); from then on the highest cost seen. Set it to the cost
	// of the store's hashes. It is also the cost RegisterHandler and
	// SetPassword hash at, unless RegisterPolicy.BcryptCost says
	// otherwise. It does not change HashPassword. Zero: 10; 4 to 31.
	DummyHashCost int
	// TokenField makes a successful login also carry the access token as
	// "token", the member the tutorials' clients read, beside the RFC 6749
	// "access_token". Zero: only "access_token".
	TokenField bool
}

// Limit is a throttle's token bucket: Burst failed logins at once, then one
// more every Every. Off turns the throttle off; otherwise a zero Burst is
// 10 and a zero Every 30 seconds (LoginPolicy says when a zero [Limit] is off
// instead).
type Limit struct {
	Burst int
	Every time.Duration
	Off   bool
}

// Throttle keeps the state of [LoginPolicy]'s throttles, so that a shared
// backend (Redis, a database) can replace the in-memory default and let
// replicas share it. Keys and accounts are opaque strings of printable
// ASCII (no space, no control character) of at most 80 bytes, fit for a
// text column; Take and Done are called with the same limit for a key. An
// error fails the login closed: Take's and LastLogin's with 503 and an
// Error log, Done's and Remember's with an Error log (the login was already
// decided); an error after the login's context is done (the client went
// away) is logged at Debug. Take must take nothing when it fails.
// Implementations must be safe for concurrent use.
type Throttle interface {
	// Take takes a token from key's bucket, which holds at most
	// limit.Burst tokens and gains one every limit.Every, at now, and holds
	// it for the login until Done. It returns 0 when it took one, and
	// otherwise how long until the bucket has one (taking nothing).
	Take(ctx context.Context, key string, limit Limit, now time.Time) (wait time.Duration, err error)
	// Done ends the login's hold on the token that Take took for key.
	// refund gives the token back: the login was not a guess. A bucket
	// that no login holds and that is full again may be forgotten.
	Done(ctx context.Context, key string, limit Limit, refund bool, now time.Time) error
	// Remember records addr as the client address of account's last
	// successful login, at now.
	Remember(ctx context.Context, account, addr string, now time.Time) error
	// LastLogin returns the client address and time of account's last
	// successful login; addr is "" when none is remembered.
	LastLogin(ctx context.Context, account string) (addr string, at time.Time, err error)
}

// Login-policy defaults, stated in LoginPolicy's comments.
const (
	defaultLimitBurst  = 10
	defaultLimitEvery  = 30 * time.Second
	defaultCapacity    = 65536
	defaultCPUShare    = 0.10
	defaultLoginWait   = time.Second
	defaultMaxWaiting  = 1024
	defaultMaxBodySize = 4096
	defaultDummyCost   = 10
)

// maxLimitSpan bounds (Burst−1)·Every, the time a full bucket takes to
// drain for good, so that the buckets' arithmetic cannot overflow (which
// would let every guess through).
const maxLimitSpan = 100 * 365 * 24 * time.Hour

// resolve resolves a login Limit: Burst 0 when off.
func (l Limit) resolve(zeroIsOff bool) (guard.Limit, error) {
	return l.resolveWith(zeroIsOff, defaultLimitBurst, defaultLimitEvery)
}

// resolveWith resolves a Limit whose zero Burst is burst and zero Every is
// every, each field on its own: Burst 0 when off.
func (l Limit) resolveWith(zeroIsOff bool, burst int, every time.Duration) (guard.Limit, error) {
	switch {
	case l.Burst < 0 || l.Every < 0:
		return guard.Limit{}, errors.New("a negative burst or interval")
	case l.Off && (l.Burst != 0 || l.Every != 0):
		return guard.Limit{}, errors.New("a Limit with Off set has a burst or an interval too")
	case l.Off, zeroIsOff && l.Burst == 0 && l.Every == 0:
		return guard.Limit{}, nil
	}
	if l.Burst == 0 {
		l.Burst = burst
	}
	if l.Every == 0 {
		l.Every = every
	}
	if l.Every > maxLimitSpan || l.Burst > 1 && l.Every > maxLimitSpan/time.Duration(l.Burst-1) {
		return guard.Limit{}, errors.New("(burst - 1) × interval over 100 years")
	}
	return guard.Limit{Burst: l.Burst, Every: l.Every}, nil
}

// guardConfig resolves the policy's defaults and validates it.
func (p *LoginPolicy) guardConfig(now func() time.Time, log *slog.Logger) (guard.Config, error) {
	fail := func(format string, args ...any) (guard.Config, error) {
		return guard.Config{}, fmt.Errorf("jwtguard: login policy: "+format, args...)
	}
	c := guard.Config{Now: now, Log: log, Procs: runtime.GOMAXPROCS(0)}
	var err error
	if c.Account, err = p.Account.resolve(false); err != nil {
		return fail("Account: %v", err)
	}
	if c.Address, err = p.Address.resolve(true); err != nil {
		return fail("Address: %v", err)
	}
	c.Capacity = cmp.Or(p.Capacity, defaultCapacity)
	for _, s := range p.TrustedProxies {
		pfx, err := guard.ParsePrefix(s)
		if err != nil {
			return fail("trusted proxy %q: %v", s, err)
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}
	c.ForwardedHeader = http.CanonicalHeaderKey(cmp.Or(p.ForwardedHeader, "X-Forwarded-For"))
	c.CPUShare = cmp.Or(p.CPUShare, defaultCPUShare)
	c.BudgetRate, c.BudgetBurst, c.NoBudget = p.BudgetRate, p.BudgetBurst, p.NoBudget
	c.Concurrency = cmp.Or(p.Concurrency, c.Procs)
	c.Wait = cmp.Or(p.Wait, defaultLoginWait)
	if p.NoWait {
		c.Wait = 0
	}
	c.MaxWaiting = cmp.Or(p.MaxWaiting, defaultMaxWaiting)
	c.DummyCost = cmp.Or(p.DummyHashCost, defaultDummyCost)
	switch {
	case p.NoBudget && (p.CPUShare != 0 || p.BudgetRate != 0 || p.BudgetBurst != 0):
		return fail("NoBudget together with CPUShare, BudgetRate or BudgetBurst")
	case p.BudgetBurst != 0 && p.BudgetRate == 0:
		return fail("BudgetBurst without BudgetRate (a derived budget's burst is a second's worth)")
	case p.NoWait && p.Wait != 0:
		return fail("NoWait together with Wait")
	case p.Capacity < 0:
		return fail("Capacity %d is negative", p.Capacity)
	case c.ForwardedHeader != "X-Forwarded-For" && c.ForwardedHeader != "Forwarded":
		return fail("ForwardedHeader %q is neither X-Forwarded-For nor Forwarded", p.ForwardedHeader)
	case !(c.CPUShare > 0 && c.CPUShare <= 1):
		return fail("CPUShare %v is not above 0 and at most 1", p.CPUShare)
	case p.BudgetRate < 0 || math.IsInf(p.BudgetRate, 0) || math.IsNaN(p.BudgetRate) || p.BudgetBurst < 0:
		return fail("BudgetRate and BudgetBurst must be finite and not negative")
	case p.Concurrency < 0:
		return fail("Concurrency %d is negative", p.Concurrency)
	case p.Wait < 0:
		return fail("Wait %v is negative", p.Wait)
	case p.MaxWaiting < 0:
		return fail("MaxWaiting %d is negative", p.MaxWaiting)
	case p.MaxBodySize < 0 || p.MaxBodySize > 0 && p.MaxBodySize < 64:
		return fail("MaxBodySize %d is below 64 bytes", p.MaxBodySize)
	case c.DummyCost < bcrypt.MinCost || c.DummyCost > bcrypt.MaxCost:
		return fail("DummyHashCost %d is outside %d..%d", p.DummyHashCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if p.Throttle != nil {
		c.Store = throttleStore{p.Throttle}
	} else {
		c.Store = guard.NewMemory(c.Capacity)
	}
	return c, nil
}

// throttleStore adapts a Throttle to the guard's Store.
type throttleStore struct{ t Throttle }

func (s throttleStore) Take(ctx context.Context, key string, l guard.Limit, now time.Time) (time.Duration, error) {
	return s.t.Take(ctx, key, Limit{Burst: l.Burst, Every: l.Every}, now)
}

func (s throttleStore) Done(ctx context.Context, key string, l guard.Limit, refund bool, now time.Time) error {
	return s.t.Done(ctx, key, Limit{Burst: l.Burst, Every: l.Every}, refund, now)
}

func (s throttleStore) Remember(ctx context.Context, account, addr string, now time.Time) error {
	return s.t.Remember(ctx, account, addr, now)
}

func (s throttleStore) LastLogin(ctx context.Context, account string) (string, time.Time, error) {
	return s.t.LastLogin(ctx, account)
}

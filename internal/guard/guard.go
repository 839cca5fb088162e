// Package guard holds jwtguard's login defences: the throttle of failed
// logins per account and per client address, the memory of each account's
// last successful login (its returning owner), the password-hashing budget
// and tarpit, and the parsing of client addresses. The root package turns
// a LoginPolicy into a Config and answers the errors of this package with
// its own sentinels.
//
// Two clocks drive it. The throttle and the returning owners' memory run on
// Config.Now, the clock that jwtguard.WithClock injects, so that tests can
// move them; the password budget, the tarpit's waits and the operator's
// warnings run on the runtime clock (time.Now, which testing/synctest
// fakes), so that a frozen test clock cannot freeze the budget's refills.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// Limit is a token bucket's shape: Burst failures at once, then one more
// every Every. A zero Burst is no limit.
type Limit struct {
	Burst int
	Every time.Duration
}

// Store keeps the throttle's state: a token bucket per key, and per account
// the client address of its last successful login. Memory is the default;
// the root package adapts a jwtguard.Throttle to it. An error fails the
// login closed.
type Store interface {
	// Take takes a token from key's bucket of limit at now and holds it
	// for the login until Done. It returns 0 when it took one; otherwise
	// how long until the bucket has one, and it took and holds nothing.
	Take(ctx context.Context, key string, limit Limit, now time.Time) (time.Duration, error)
	// Done ends the login's hold on the token Take took; refund gives it
	// back.
	Done(ctx context.Context, key string, limit Limit, refund bool, now time.Time) error
	// Remember records addr as account's last successful login at now.
	Remember(ctx context.Context, account, addr string, now time.Time) error
	// LastLogin returns account's last successful login: its client
	// address and time, "" when none is remembered.
	LastLogin(ctx context.Context, account string) (addr string, at time.Time, err error)
}

// Config configures a Guard; the root package fills every field.
type Config struct {
	Now              func() time.Time // the injected clock, for the throttle
	Log              *slog.Logger
	Store            Store
	Account, Address Limit // Burst 0: not throttled
	Capacity         int   // accounts whose budget draws are remembered
	TrustedProxies   []netip.Prefix
	ForwardedHeader  string // "X-Forwarded-For" or "Forwarded"

	Concurrency int           // bcrypt comparisons at once
	Wait        time.Duration // for budget and a slot; 0 refuses at once
	MaxWaiting  int
	Procs       int     // GOMAXPROCS when the Auth was made
	CPUShare    float64 // of Procs, for the derived budget
	BudgetRate  float64 // > 0: a fixed budget, comparisons a second
	BudgetBurst int     // of a fixed budget; 0: a second's worth
	NoBudget    bool
	DummyCost   int // bcrypt cost of the dummy hash until a real one is seen
}

// ReturningTTL is how long a successful login makes its account and client
// address a returning pair.
const ReturningTTL = 30 * 24 * time.Hour

// Guard runs the login defences of one Auth. It is safe for concurrent use.
type Guard struct {
	now              func() time.Time
	log              *slog.Logger
	store            Store
	account, address Limit
	trusted          []netip.Prefix
	forwarded        string
	passwords        *passwordChecker
	draws            *drawTable
	throttled        atomic.Uint64
}

// New returns a Guard for c.
func New(c Config) *Guard {
	return &Guard{
		now:       c.Now,
		log:       c.Log,
		store:     c.Store,
		account:   c.Account,
		address:   c.Address,
		trusted:   c.TrustedProxies,
		forwarded: c.ForwardedHeader,
		passwords: newPasswordChecker(&c),
		draws:     newDrawTable(c.Capacity),
	}
}

// ThrottledError is a login refused by the throttle: it is to be answered
// 429 with a Retry-After of Wait. The address, username and user ID buckets
// all refuse with it, so that their answers are the same.
type ThrottledError struct {
	Limit string // for the operator: which bucket
	Wait  time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s limit, next attempt in %v", e.Limit, e.Wait.Round(time.Millisecond))
}

// ErrStore wraps an error of the Store: the login fails closed.
var ErrStore = errors.New("login throttle store failed")

// ErrCancelled wraps an error of the Store after the client went away: the
// login is refused, but nothing failed.
var ErrCancelled = errors.New("request cancelled during the login throttle's work")

// storeError wraps a Store's error: ErrCancelled when the login's context
// is done (a Store that honours ctx reports the client's going away),
// ErrStore otherwise. Take must take nothing when it fails.
func storeError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %s: %w", ErrCancelled, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrStore, what, err)
}

// Attempt is one login's passage through the defences: the tokens it took
// from the buckets of its client address, its username and, once the store
// found the user, its user ID. End keeps them if the login was a guess (a
// password was compared and the login refused) and gives them back
// otherwise, so that requests that cost no comparison cannot fill the
// throttle's memory and push out the bucket of an account under attack.
type Attempt struct {
	g         *Guard
	known     bool   // the client address is the client's own (ClientAddr)
	addr      string // the client address key
	account   string // the username's key
	returning bool   // the address of the account's last successful login
	mayDraw   bool   // may draw on the budget's returning share
	held      [3]heldToken
	n         int
	guessed   bool
}

type heldToken struct {
	key   string
	limit Limit
}

// Begin starts a login of username from r's client address: it takes a
// token from the address's bucket and one from the username's (a returning
// owner's from a bucket of its own, keyed by the address too, so that
// guesses from elsewhere cannot keep the owner out). A *ThrottledError
// refuses the login; an error wrapping ErrStore fails it closed. The caller
// must call End once, deferred, whatever happens after.
func (g *Guard) Begin(ctx context.Context, r *http.Request, username string) (*Attempt, error) {
	at := &Attempt{g: g, account: AccountKey(username)}
	ip, known := ClientAddr(r, g.trusted, g.forwarded)
	at.addr, at.known = AddressKey(ip), known
	if err := at.checkReturning(ctx); err != nil {
		return at, err
	}
	if err := at.take(ctx, g.address, "a"+at.addr, "client address"); err != nil {
		return at, err
	}
	return at, at.take(ctx, g.account, at.accountKey("u", at.account), "account")
}

// checkReturning looks up whether the login comes from the address of the
// account's last successful login, within ReturningTTL. A login whose
// address is not known to be the client's own (ClientAddr) is never a
// returning owner's: every such client would share it, the account's
// attacker too. A store error fails the login closed rather than give the
// login the owner's bucket.
func (at *Attempt) checkReturning(ctx context.Context) error {
	if !at.known || at.g.account.Burst == 0 && at.g.passwords.budget == nil {
		return nil
	}
	addr, last, err := at.g.store.LastLogin(ctx, at.account)
	if err != nil {
		return storeError(ctx, "last login", err)
	}
	if addr == "" || addr != at.addr || at.g.now().Sub(last) >= ReturningTTL {
		return nil
	}
	at.returning = true
	at.mayDraw = at.g.draws.draw(at.account, time.Now())
	return nil
}

// TakeUser takes a token from the bucket of the user the store found, keyed
// by its ID (a returning owner's by ID and address, like its username
// bucket), so that spellings which the store maps to one user and the
// username's fold does not (a collation of its own, dots stripped from
// e-mail addresses) share one bucket. Call it after the store lookup and
// before Compare, with the ID of the user found, or "" when the store
// found none: then it takes from a bucket of the username's in the same
// namespace, so that a login for an unknown user makes the same calls on
// the Store as one for a known user, and a Store that takes time to answer
// does not tell the two apart.
//
// What this reveals: the refusal is the same 429, body and Retry-After
// rounding as the username bucket's, but only a username that the store
// found can meet it. A client sees it for a spelling whose own username
// bucket still has tokens only after spending the user's burst through
// other spellings that the store maps to the same user, so it learns that
// those spellings name one account, which its guesses had already told it
// by being throttled; and the refusal comes after the store lookup, so it
// takes as long as the lookup rather than returning at once.
func (at *Attempt) TakeUser(ctx context.Context, id string) error {
	k := "?" + at.account // never a digest's first byte: apart from every ID
	if id != "" {
		k = digest(id)
	}
	return at.take(ctx, at.g.account, at.accountKey("i", k), "account (user ID)")
}

// accountKey is the throttle key of an account key k (a digest) in the
// namespace ns ("u": username, "i": user ID), per address for a returning
// owner.
func (at *Attempt) accountKey(ns, k string) string {
	if at.returning {
		return ns + k + "|" + at.addr
	}
	return ns + k
}

func (at *Attempt) take(ctx context.Context, limit Limit, key, name string) error {
	if limit.Burst == 0 {
		return nil
	}
	wait, err := at.g.store.Take(ctx, key, limit, at.g.now())
	switch {
	case err != nil:
		return storeError(ctx, name+" limit", err)
	case wait > 0:
		at.g.throttled.Add(1)
		return &ThrottledError{Limit: name, Wait: wait}
	}
	at.held[at.n] = heldToken{key, limit}
	at.n++
	return nil
}

// BeginRegistration starts a registration from r's client address: it
// takes a token from the address's registration bucket of limit (keys in
// a namespace of their own), refusing with a *ThrottledError. The caller
// marks the attempt with Guess once the registration reached the user
// store (created, or found the name taken), so that End keeps the token,
// and must call End once, deferred.
func (g *Guard) BeginRegistration(ctx context.Context, r *http.Request, limit Limit) (*Attempt, error) {
	at := &Attempt{g: g}
	ip, known := ClientAddr(r, g.trusted, g.forwarded)
	at.addr, at.known = AddressKey(ip), known
	return at, at.take(ctx, limit, "r"+at.addr, "registrations per client address")
}

// Hash hashes password with bcrypt at cost within the password budget and
// the bound on work at once that comparisons share, so that a flood of
// registrations cannot take the CPU either. The cost counts as a real
// hash's from then on: unknown users are compared against a dummy hash of
// at least that cost, as they are once a login has seen a hash of it. Its
// error is ErrOverloaded, or ctx's, as for Compare, or bcrypt's.
func (g *Guard) Hash(ctx context.Context, password string, cost int) ([]byte, error) {
	return g.passwords.hash(ctx, password, cost)
}

// Compare compares password with hash (a dummy hash when !found), within
// the password budget and the bound on comparisons at once, and reports
// whether it ran a comparison. When alt is not empty and password does not
// match, it compares alt too, in the same slot (the dummy twice for an
// unknown user, so that both take as long). Its error is nil on a match,
// bcrypt.ErrMismatchedHashAndPassword on a mismatch, one wrapping
// ErrUnusableHash for a found user whose hash cannot be compared with (it
// was compared against the dummy, taking as long), ErrOverloaded when no
// budget or slot freed up within the wait, and ctx's error when the client
// went away while waiting.
func (at *Attempt) Compare(ctx context.Context, hash []byte, found bool, password, alt string) (compared bool, err error) {
	return at.g.passwords.check(ctx, hash, found, password, alt, at.mayDraw)
}

// Guess marks the attempt as a guess: a password was compared and the login
// is refused, so End keeps its tokens.
func (at *Attempt) Guess() { at.guessed = true }

// End keeps the attempt's tokens if it was a guess and gives them back
// otherwise. Call it once, deferred, so that a panic gives them back too.
func (at *Attempt) End(ctx context.Context) {
	now := at.g.now()
	for _, h := range at.held[:at.n] {
		if err := at.g.store.Done(context.WithoutCancel(ctx), h.key, h.limit, !at.guessed, now); err != nil {
			at.g.log.LogAttrs(ctx, slog.LevelError, "jwtguard: the login throttle's store failed to end a login", slog.String("error", err.Error()))
		}
	}
	at.n = 0
}

// Succeeded records the login's client address as the account's last
// successful login; an address not known to be the client's own is not
// remembered.
func (at *Attempt) Succeeded(ctx context.Context) {
	if !at.known {
		return
	}
	if err := at.g.store.Remember(context.WithoutCancel(ctx), at.account, at.addr, at.g.now()); err != nil {
		at.g.log.LogAttrs(ctx, slog.LevelError, "jwtguard: the login throttle's store failed to remember a login", slog.String("error", err.Error()))
	}
}

// PrepareDummy makes the dummy hash at the configured cost now, so that
// the first login for an unknown user does not take twice as long.
func (g *Guard) PrepareDummy() { g.passwords.dummy(g.passwords.cost) }

// RetryAfter is the Retry-After of a login refused for want of budget.
func (g *Guard) RetryAfter() string { return g.passwords.retryAfter }

// Counters are what the defences did since New.
type Counters struct {
	Admitted, Held, Refused, Throttled uint64
	Waiting                            int64
	BudgetPerSecond                    float64
}

// Counters returns the current counters.
func (g *Guard) Counters() Counters {
	pc := g.passwords
	c := Counters{
		Admitted:  pc.admitted.Load(),
		Held:      pc.held.Load(),
		Refused:   pc.refused.Load(),
		Throttled: g.throttled.Load(),
		Waiting:   pc.waiting.Load(),
	}
	if pc.budget != nil {
		c.BudgetPerSecond = pc.budget.perSecond()
	}
	return c
}

// SetCompare replaces the bcrypt comparison, for tests.
func (g *Guard) SetCompare(compare func(hash, password []byte) error) { g.passwords.compare = compare }

// HasDummy reports whether the dummy hash of cost was made, for tests.
func (g *Guard) HasDummy(cost int) bool {
	v, ok := g.passwords.dummies.Load(cost)
	return ok && v.(*dummyHash).hash != nil
}

// RetryAfter is a Retry-After value: d in whole seconds, rounded up, at
// least 1.
func RetryAfter(d time.Duration) string {
	d = min(d, 100*365*24*time.Hour) // no overflow below
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

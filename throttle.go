package jwtguard

import (
	"container/heap"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Throttle defaults. Each option's doc comment says how to change them.
const (
	// DefaultAccountBurst failed logins per account are allowed at once...
	DefaultAccountBurst = 10
	// ...and then one more every DefaultAccountEvery.
	DefaultAccountEvery = 30 * time.Second
	// DefaultThrottleCapacity bounds how many accounts, and how many client
	// addresses, the login throttle tracks at once.
	DefaultThrottleCapacity = 65536
)

// loginThrottle slows password guessing with token buckets per account and
// per client address. Only a login whose password was compared (a guess)
// keeps the tokens it took: a login that succeeds, or is refused before any
// comparison (a password over 72 bytes, no password-hashing budget, a store
// failure, a panic, a client that went away), gives them back, and a key
// that it alone brought into a table leaves it again. So requests that cost
// the server no bcrypt comparison cannot fill the tables and push out the
// bucket of an account under attack. A key that is out of tokens is refused
// with 429 and a Retry-After of when its next token arrives: throttling
// slows guessing, it never locks an account for good.
//
// An account is throttled twice: by its username's case fold (accountKey),
// before the store is asked, and, once the store has found the user, by its
// User.ID, so that spellings which the store maps to one user and the fold
// does not (a collation of its own, dots stripped from e-mail addresses)
// share one bucket too.
type loginThrottle struct {
	now      func() time.Time
	accounts *limiterTable // nil: not throttled by account
	addrs    *limiterTable // nil: not throttled by address
}

func newLoginThrottle(c *config) *loginThrottle {
	t := &loginThrottle{now: c.now}
	if c.accountBurst > 0 {
		t.accounts = newLimiterTable(c.accountBurst, c.accountEvery, c.throttleCapacity)
	}
	if c.addressBurst > 0 {
		t.addrs = newLimiterTable(c.addressBurst, c.addressEvery, c.throttleCapacity)
	}
	if t.accounts == nil && t.addrs == nil {
		return nil
	}
	return t
}

// throttledError is a login refused by the throttle: 429 with a Retry-After
// of wait. The username bucket (before the store lookup) and the user ID
// bucket (after it) refuse through this one type, so their answers are the
// same.
type throttledError struct {
	limit string // for the operator: which bucket
	wait  time.Duration
}

func (e *throttledError) Error() string {
	return fmt.Sprintf("%v: %s limit, next attempt in %v", ErrTooManyRequests, e.limit, e.wait.Round(time.Millisecond))
}

func (e *throttledError) Unwrap() error { return ErrTooManyRequests }

// attempt is one login's tokens, taken from the buckets of its client
// address, its username and, once the store found the user, its user ID.
// end keeps them if the login was a guess and gives them back otherwise.
// A nil *attempt (no throttle) does nothing.
type attempt struct {
	t         *loginThrottle
	returning bool   // the login is a returning user's: its account keys carry addr
	addr      string // the client address key
	held      [3]heldToken
	n         int
	guessed   bool
}

type heldToken struct {
	tab *limiterTable
	e   *tableEntry
}

// begin takes a token for the client address (its addressKey) and one for
// the account (its accountKey). A returning user (the address of the
// account's last successful login) takes from a bucket of its own, so that
// guesses from elsewhere cannot keep the account's owner out. When either
// is out of tokens it takes neither and returns a *throttledError; the
// login must then be refused. On a nil throttle it returns a nil attempt.
func (t *loginThrottle) begin(addr, account string, returning bool) (*attempt, error) {
	if t == nil {
		return nil, nil
	}
	at := &attempt{t: t, returning: returning, addr: addr}
	if err := at.take(t.addrs, addr, "client address"); err != nil {
		return nil, err
	}
	if err := at.take(t.accounts, at.accountKey("u", account), "account"); err != nil {
		at.end()
		return nil, err
	}
	return at, nil
}

// takeUser takes a token from the bucket of the user the store found, keyed
// by its ID (a returning user's by ID and address, like its username
// bucket). It must be called after the store lookup and before the password
// comparison. On a *throttledError the login must be refused; the caller's
// end gives the other tokens back.
//
// What this reveals: the refusal is the same 429, body and Retry-After
// rounding as the username bucket's, but only a username that the store
// found can meet it. A client sees it for a spelling whose own username
// bucket still has tokens only after spending the user's burst through
// other spellings that the store maps to the same user, so it learns that
// those spellings name one account, which its guesses had already told it
// by being throttled; and the refusal comes after the store lookup, so it
// takes as long as the lookup rather than returning at once.
func (at *attempt) takeUser(id string) error {
	if at == nil {
		return nil
	}
	sum := sha256.Sum256([]byte(id))
	return at.take(at.t.accounts, at.accountKey("i", string(sum[:16])), "account (user ID)")
}

// accountKey is the throttle key of an account key k (a digest) in the
// namespace ns ("u": username, "i": user ID), per address for a returning
// user.
func (at *attempt) accountKey(ns, k string) string {
	if at.returning {
		return ns + k + "\x00" + at.addr
	}
	return ns + k
}

func (at *attempt) take(tab *limiterTable, key, limit string) error {
	if tab == nil {
		return nil
	}
	e, wait := tab.take(key, at.t.now())
	if e == nil {
		return &throttledError{limit: limit, wait: wait}
	}
	at.held[at.n] = heldToken{tab, e}
	at.n++
	return nil
}

// guess marks the attempt as a guess: a password comparison ran and the
// login is refused, so end keeps the tokens.
func (at *attempt) guess() {
	if at != nil {
		at.guessed = true
	}
}

// end keeps the attempt's tokens if it was a guess and gives them back
// otherwise. Call it once, deferred, so that a panic gives them back too.
func (at *attempt) end() {
	if at == nil {
		return
	}
	now := at.t.now()
	for _, h := range at.held[:at.n] {
		h.tab.release(h.e, !at.guessed, now)
	}
	at.n = 0
}

// limiterTable holds a token bucket per key, all with the same rate and
// burst, for at most max keys (see below for logins in flight).
//
// Each bucket is one time, when it is full again (the generic cell rate
// algorithm): it holds burst − (full − now)/every tokens, at most burst.
// Since every bucket of a table fills at the same rate, the fullest bucket
// is the one full soonest, so a min-heap by that time finds it in O(log n):
// when the table is full, it forgets the fullest bucket (of equally full
// ones, the least recently used), never a drained one in preference to a
// fuller one, and forgetting a bucket that is full loses nothing, since a
// new bucket starts full. (Sampling a few entries
// instead would let a drained bucket go whenever the sample held none
// fuller; the heap is exact and costs one log n sift per update, without
// any scan of the table.) To push out the bucket of an account under
// attack, an attacker must first drain as many buckets, each token with a
// bcrypt comparison.
//
// A key's entry is pinned while a login holds a token from it, and is not
// in the heap then: no login in flight loses its token to eviction. So the
// table may hold more than max keys by the number of logins in flight
// (each of which holds a goroutine and a request anyway); it falls back to
// max as they end. A login that ends without a guess gives its token back,
// and an entry whose bucket is then full and that no login holds leaves
// the table: only guesses keep keys in it.
type limiterTable struct {
	burst  int
	every  time.Duration
	window time.Duration // (burst-1)·every: how far ahead full may be and a token still be taken
	max    int

	mu   sync.Mutex
	keys map[string]*tableEntry
	idle entryHeap // entries no login holds, the fullest (soonest full) first
	seq  uint64    // counts takes, for least-recent use
}

type tableEntry struct {
	key     string
	full    time.Time // when the bucket holds burst tokens again
	holders int       // logins in flight holding a token from it
	used    uint64    // the table's seq at the last take, refused or not
	index   int       // in idle; -1 while held
}

func newLimiterTable(burst int, every time.Duration, max int) *limiterTable {
	window := time.Duration(burst-1) * every
	if burst > 1 && window/time.Duration(burst-1) != every {
		window = 1<<63 - 1 // overflow: never refuse within the burst
	}
	return &limiterTable{burst: burst, every: every, window: window, max: max, keys: make(map[string]*tableEntry)}
}

// take takes a token from key's bucket and returns its entry, to release
// when the login ends; or, when the bucket is empty, nil and the time until
// its next token.
func (t *limiterTable) take(key string, now time.Time) (*tableEntry, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.keys[key]
	if !ok {
		t.makeRoom(now)
		e = &tableEntry{key: key, full: now, index: -1}
		t.keys[key] = e
	}
	t.seq++
	e.used = t.seq
	full := e.full
	if full.Before(now) {
		full = now
	}
	if wait := full.Sub(now) - t.window; wait > 0 {
		// Only a known key can be empty. If no login holds it, its place
		// in the heap follows its use.
		if e.index >= 0 {
			heap.Fix(&t.idle, e.index)
		}
		return nil, wait
	}
	if e.holders == 0 && e.index >= 0 {
		heap.Remove(&t.idle, e.index)
	}
	e.holders++
	e.full = full.Add(t.every)
	return e, 0
}

// release ends a login's hold on e; refund gives its token back. An entry
// that no login holds any more goes back to the heap, or, if its bucket is
// full, leaves the table.
func (t *limiterTable) release(e *tableEntry, refund bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if refund {
		e.full = e.full.Add(-t.every)
	}
	if e.holders--; e.holders > 0 {
		return
	}
	if !e.full.After(now) {
		delete(t.keys, e.key)
		return
	}
	heap.Push(&t.idle, e)
}

// makeRoom drops up to two entries whose buckets are full again, and then,
// while the table holds max keys or more, the fullest entries no login
// holds.
func (t *limiterTable) makeRoom(now time.Time) {
	for n := 0; n < 2 && t.idle.Len() > 0 && !t.idle[0].full.After(now); n++ {
		delete(t.keys, heap.Pop(&t.idle).(*tableEntry).key)
	}
	for len(t.keys) >= t.max && t.idle.Len() > 0 {
		delete(t.keys, heap.Pop(&t.idle).(*tableEntry).key)
	}
}

// len reports how many keys the table tracks.
func (t *limiterTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// tokens reports how many tokens key's bucket holds at now (burst when the
// table does not track key), for tests.
func (t *limiterTable) tokens(key string, now time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.keys[key]
	if !ok || !e.full.After(now) {
		return float64(t.burst)
	}
	return float64(t.burst) - float64(e.full.Sub(now))/float64(t.every)
}

// entryHeap is a container/heap of entries by full time, soonest first,
// and among equally full ones the least recently used first.
type entryHeap []*tableEntry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].full.Equal(h[j].full) {
		return h[i].full.Before(h[j].full)
	}
	return h[i].used < h[j].used
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*tableEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// clientAddr returns the address of the client that sent r: RemoteAddr,
// unless RemoteAddr is a trusted proxy, in which case the nearest address in
// the chain of header (X-Forwarded-For, or Forwarded as RFC 7239 writes it)
// that is not itself a trusted proxy. Headers from untrusted peers, and the
// other forwarding header, are ignored, so that a client cannot choose its
// own address through a proxy that appends to one header and passes the
// other through.
func clientAddr(r *http.Request, trusted []netip.Prefix, header string) netip.Addr {
	addr := remoteAddr(r.RemoteAddr)
	if !addr.IsValid() || !isTrusted(addr, trusted) {
		return addr
	}
	var chain []string
	if header == "Forwarded" {
		chain = forwardedFor(r.Header.Values("Forwarded"))
	} else {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			chain = append(chain, strings.Split(v, ",")...)
		}
	}
	// Walk from the nearest hop outwards.
	for i := len(chain) - 1; i >= 0; i-- {
		hop := remoteAddr(strings.TrimSpace(chain[i]))
		if !hop.IsValid() {
			// A hop we cannot read: trust nothing beyond it.
			return addr
		}
		addr = hop
		if !isTrusted(hop, trusted) {
			return hop
		}
	}
	return addr
}

// remoteAddr parses "ip", "ip:port", "[ipv6]:port" or "[ipv6]".
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the for= values of Forwarded header fields, in order
// (RFC 7239 §4; quotes removed, obfuscated identifiers kept as they are and
// later found unreadable).
func forwardedFor(fields []string) []string {
	var out []string
	for _, f := range fields {
		for _, elem := range strings.Split(f, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					out = append(out, strings.Trim(v, `"`))
				}
			}
		}
	}
	return out
}

// addressKey is the throttle key of a client address: the address itself for
// IPv4, its /64 network for IPv6, since one client commonly holds a whole
// /64.
func addressKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

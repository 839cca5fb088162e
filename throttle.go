package jwtguard

import (
	"container/list"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
// per client address. Only failed logins spend a token: a login that
// succeeds, or is refused for a reason that is not a wrong guess, gives its
// token back. A key that is out of tokens is refused with 429 and a
// Retry-After of when its next token arrives: throttling slows guessing, it
// never locks an account for good.
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

// attempt is one login's spent tokens.
type attempt struct {
	res [2]*rate.Reservation
	now time.Time
}

// refund gives the attempt's tokens back: the login was not a wrong guess.
func (at *attempt) refund() {
	for _, r := range at.res {
		if r != nil {
			r.CancelAt(at.now)
		}
	}
}

// begin spends a token for the client address (its addressKey) and one for
// the account (its accountKey). A returning user (the address of the
// account's last successful login) spends from a bucket of its own, so that
// guesses from elsewhere cannot keep the account's owner out. When either is
// out of tokens it spends neither and returns how long until the next one
// and which limit it hit; the login must then be refused.
func (t *loginThrottle) begin(addr, account string, returning bool) (at *attempt, wait time.Duration, limit string) {
	at = &attempt{now: t.now()}
	if t.addrs != nil {
		at.res[0], wait = t.addrs.reserve(addr, at.now)
		limit = "client address"
	}
	if wait == 0 && t.accounts != nil {
		key := account
		if returning {
			key += "\x00" + addr
		}
		at.res[1], wait = t.accounts.reserve(key, at.now)
		limit = "account"
	}
	if wait > 0 {
		at.refund()
		return nil, wait, limit
	}
	return at, 0, ""
}

// limiterTable holds a token bucket per key, at most max keys. Past max it
// forgets the least recently used key; a key whose bucket has refilled is
// forgotten first, which loses nothing since a new bucket starts full.
type limiterTable struct {
	limit rate.Limit
	burst int
	max   int

	mu   sync.Mutex
	keys map[string]*list.Element // of *tableEntry
	lru  list.List                // front: most recently used
}

type tableEntry struct {
	key string
	lim *rate.Limiter
}

func newLimiterTable(burst int, every time.Duration, max int) *limiterTable {
	return &limiterTable{limit: rate.Every(every), burst: burst, max: max, keys: make(map[string]*list.Element)}
}

// reserve takes a token from key's bucket. It returns the reservation to
// cancel for a refund, or, when the bucket is empty, nil and the time until
// the next token.
func (t *limiterTable) reserve(key string, now time.Time) (*rate.Reservation, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lim *rate.Limiter
	if el, ok := t.keys[key]; ok {
		t.lru.MoveToFront(el)
		lim = el.Value.(*tableEntry).lim
	} else {
		t.forgetRefilled(now, 2)
		if len(t.keys) >= t.max {
			t.forget(t.lru.Back())
		}
		lim = rate.NewLimiter(t.limit, t.burst)
		t.keys[key] = t.lru.PushFront(&tableEntry{key, lim})
	}
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return nil, d
	}
	return res, 0
}

// forgetRefilled drops up to n of the least recently used keys whose buckets
// are full again.
func (t *limiterTable) forgetRefilled(now time.Time, n int) {
	for el := t.lru.Back(); el != nil && n > 0; n-- {
		prev := el.Prev()
		if el.Value.(*tableEntry).lim.TokensAt(now) < float64(t.burst) {
			return
		}
		t.forget(el)
		el = prev
	}
}

func (t *limiterTable) forget(el *list.Element) {
	delete(t.keys, el.Value.(*tableEntry).key)
	t.lru.Remove(el)
}

// len reports how many keys the table tracks.
func (t *limiterTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
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

package jwtguard

import (
	"container/list"
	"crypto/sha256"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// returningTTL is how long a successful login makes its account and
	// client address a returning pair.
	returningTTL = 30 * 24 * time.Hour
	// returningDrawEvery spaces an account's draws on the password budget's
	// returning share, so that one account logging in again and again
	// cannot spend the share kept for everyone else's returning users.
	returningDrawEvery = time.Minute
)

// returningUsers remembers, per account, the client address of its last
// successful login: at most max accounts, the least recently used forgotten
// first. A login from that address is a returning user's: it has its own
// account throttle bucket, which guesses from elsewhere cannot empty, and it
// may draw on the share of the password budget kept for returning users.
//
// That is worth only as much as the client addresses are distinct. A login
// whose address could not be read (RemoteAddr unparseable) is never a
// returning user's and is never remembered. Behind a reverse proxy not
// named in WithTrustedProxies every client has the proxy's address, so an
// attacker shares the owner's bucket; and an attacker at the owner's own
// address (the same NAT, the same IPv6 /64) always does.
type returningUsers struct {
	max int

	mu   sync.Mutex
	keys map[string]*list.Element // account key → *returningEntry
	lru  list.List                // front: most recently used
}

type returningEntry struct {
	account, addr string
	at, drew      time.Time // last successful login; last draw on the share
}

// remember records a successful login for account from the client address
// ip. An address that could not be read is not remembered: every such
// client would share it, the account's attacker too.
func (u *returningUsers) remember(account string, ip netip.Addr, now time.Time) {
	if !ip.IsValid() {
		return
	}
	addr := addressKey(ip)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.keys == nil {
		u.keys = make(map[string]*list.Element)
	}
	if el, ok := u.keys[account]; ok {
		e := el.Value.(*returningEntry)
		e.addr, e.at = addr, now
		u.lru.MoveToFront(el)
		return
	}
	if len(u.keys) >= u.max {
		el := u.lru.Back()
		delete(u.keys, el.Value.(*returningEntry).account)
		u.lru.Remove(el)
	}
	u.keys[account] = u.lru.PushFront(&returningEntry{account: account, addr: addr, at: now})
}

// check reports whether a login for account from the client address ip is
// a returning user's, and whether it may draw on the budget's returning
// share now (at most once every returningDrawEvery per account; a true
// answer counts as the draw). A login whose address could not be read is
// never a returning user's.
func (u *returningUsers) check(account string, ip netip.Addr, now time.Time) (returning, mayDraw bool) {
	if !ip.IsValid() {
		return false, false
	}
	addr := addressKey(ip)
	u.mu.Lock()
	defer u.mu.Unlock()
	el, ok := u.keys[account]
	if !ok {
		return false, false
	}
	e := el.Value.(*returningEntry)
	if e.addr != addr || now.Sub(e.at) >= returningTTL {
		return false, false
	}
	if now.Sub(e.drew) < returningDrawEvery {
		return true, false
	}
	e.drew = now
	return true, true
}

// accountKey is the key of a username in the throttle and the returning
// users' table: a SHA-256 prefix of its case fold (foldKey), so that a store
// that matches usernames as strings.EqualFold does, or with a
// case-insensitive collation, does not give each spelling (alice, ALICE;
// ſam and sam; the Kelvin sign and K) its own bucket; the digest keeps
// every key 16 bytes, however long the username. A store that folds further
// still is covered by the bucket of the user's ID (attempt.takeUser).
func accountKey(username string) string {
	sum := sha256.Sum256([]byte(foldKey(username)))
	return string(sum[:16])
}

// foldKey maps each rune of s to the smallest rune of its case-folding
// orbit (the runes that unicode.SimpleFold cycles through), and each byte
// that is not valid UTF-8 to U+FFFD, as strings.EqualFold reads them. So
// foldKey(s) == foldKey(t) exactly when strings.EqualFold(s, t).
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune is the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		// An ASCII letter's orbit is its two cases (and, for K and S, the
		// Kelvin sign and long s, which are larger): the upper case is the
		// smallest.
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

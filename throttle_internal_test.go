package jwtguard

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// guess takes a token from key's bucket and keeps it, as a login whose
// password was compared does; it reports whether a token was there.
func guess(tab *limiterTable, key string, now time.Time) bool {
	e, _ := tab.take(key, now)
	if e != nil {
		tab.release(e, false, now)
	}
	return e != nil
}

// free takes a token from key's bucket and gives it back, as a login
// refused before any comparison does.
func free(tab *limiterTable, key string, now time.Time) bool {
	e, _ := tab.take(key, now)
	if e != nil {
		tab.release(e, true, now)
	}
	return e != nil
}

// However many keys an attacker sprays, the table holds at most its
// capacity, and the bucket of a key being throttled outlives fuller ones.
func TestLimiterTableIsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newLimiterTable(1, time.Minute, 100)
	if !guess(tab, "victim", now) {
		t.Fatal("victim's first attempt throttled")
	}
	for i := range 10_000 {
		guess(tab, fmt.Sprintf("spray-%d", i), now)
		if i%50 == 0 {
			guess(tab, "victim", now) // the victim is being attacked too
		}
	}
	if n := tab.len(); n > 100 {
		t.Fatalf("table holds %d keys, want at most 100", n)
	}
	if guess(tab, "victim", now) {
		t.Error("the victim's bucket was forgotten while in use")
	}
	// An hour later every bucket is full again; new keys replace them
	// without growing the table.
	later := now.Add(time.Hour)
	for i := range 200 {
		guess(tab, fmt.Sprintf("late-%d", i), later)
	}
	if n := tab.len(); n > 100 {
		t.Fatalf("table holds %d keys, want at most 100", n)
	}
}

// The table-level form of the reviewed attack: drain a victim's bucket,
// then send many logins under fresh keys. Logins that never reach a
// comparison (a password over 72 bytes, no budget) leave no key behind;
// logins that do (guesses) fill the table with buckets one token short of
// full, and a full table forgets those before the drained victim.
func TestLimiterTableSprayDoesNotRefillAVictim(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		spray func(tab *limiterTable, key string, now time.Time) bool
		keys  int // keys left in the table after the spray, besides the victim
	}{
		{"refused before a comparison", free, 0},
		{"guesses", guess, 63},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := newLimiterTable(3, time.Hour, 64)
			for range 3 {
				guess(tab, "victim", now)
			}
			if guess(tab, "victim", now) {
				t.Fatal("the drained victim got a guess")
			}
			for i := range 10_000 {
				at := now.Add(time.Duration(i) * time.Millisecond)
				if !tc.spray(tab, fmt.Sprintf("spray-%d", i), at) {
					t.Fatalf("spray %d throttled", i)
				}
			}
			end := now.Add(10 * time.Second)
			if got := tab.tokens("victim", end); got >= 1 {
				t.Errorf("the victim holds %.2f tokens after the spray, want under 1", got)
			}
			if guess(tab, "victim", end) {
				t.Error("the spray bought the victim a fresh guess")
			}
			if n := tab.len() - 1; n != tc.keys {
				t.Errorf("the spray left %d keys, want %d", n, tc.keys)
			}
		})
	}
}

// A full table forgets the fullest bucket, whatever the order of use.
func TestLimiterTableEvictsTheFullest(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newLimiterTable(4, time.Minute, 3)
	spend := func(key string, n int) {
		for range n {
			if !guess(tab, key, now) {
				t.Fatalf("%s throttled", key)
			}
		}
	}
	spend("two-left", 2)
	spend("one-left", 3)
	spend("three-left", 1) // the most recently used, and the fullest
	spend("new", 1)
	if tab.tokens("three-left", now) != 4 || tab.tokens("two-left", now) != 2 || tab.tokens("one-left", now) != 1 {
		t.Errorf("tokens: three-left %v (want forgotten: 4), two-left %v, one-left %v",
			tab.tokens("three-left", now), tab.tokens("two-left", now), tab.tokens("one-left", now))
	}
	if n := tab.len(); n != 3 {
		t.Errorf("table holds %d keys, want 3", n)
	}
}

// A key that a login in flight holds a token from is never forgotten, so
// no login's guess is lost to eviction; the table grows past its capacity
// by the logins in flight and shrinks back when they end.
func TestLimiterTableKeepsKeysInFlight(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newLimiterTable(2, time.Hour, 4)
	var held []*tableEntry
	for i := range 10 {
		e, _ := tab.take(fmt.Sprintf("k%d", i), now)
		if e == nil {
			t.Fatalf("k%d throttled", i)
		}
		held = append(held, e)
	}
	if n := tab.len(); n != 10 {
		t.Fatalf("%d keys while 10 logins hold one each, want 10", n)
	}
	for _, e := range held {
		tab.release(e, false, now) // each was a guess
	}
	for i := range 10 {
		if got := tab.tokens(fmt.Sprintf("k%d", i), now); got != 1 {
			t.Errorf("k%d holds %v tokens, want 1", i, got)
		}
	}
	guess(tab, "next", now)
	if n := tab.len(); n != 4 {
		t.Errorf("%d keys once the logins ended, want the capacity 4", n)
	}
	// Two logins hold the same new key: the first refund leaves it, the
	// second's guess keeps it.
	a, _ := tab.take("shared", now)
	b, _ := tab.take("shared", now)
	tab.release(a, true, now)
	if got := tab.tokens("shared", now); got != 1 {
		t.Errorf("shared holds %v tokens after one refund, want 1", got)
	}
	if e, _ := tab.take("shared", now); e == nil {
		t.Error("the refunded token is not there")
	} else {
		tab.release(e, true, now)
	}
	tab.release(b, false, now)
	if got := tab.tokens("shared", now); got != 1 {
		t.Errorf("shared holds %v tokens after the guess, want 1", got)
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		remote  string
		headers map[string]string
		want    string
	}{
		{"192.0.2.1:1234", nil, "192.0.2.1"},
		{"192.0.2.1:1234", map[string]string{"X-Forwarded-For": "203.0.113.9"}, "192.0.2.1"},
		{"10.0.0.1:1", map[string]string{"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"},
		{"10.0.0.1:1", map[string]string{"X-Forwarded-For": " 198.18.0.1 ,203.0.113.9 , 10.0.0.2"}, "203.0.113.9"},
		{"[::1]:1", map[string]string{"Forwarded": `for="[2001:db8::7]:80", for=10.0.0.3`}, "2001:db8::7"},
		// Only the configured header is read: a proxy that appends to one
		// passes the other through from the client.
		{"10.0.0.1:1", map[string]string{"Forwarded": "for=203.0.113.66", "X-Forwarded-For": "203.0.113.9"}, "203.0.113.9"},
		{"[::1]:1", map[string]string{"Forwarded": "for=203.0.113.66", "X-Forwarded-For": "203.0.113.9"}, "203.0.113.66"},
		{"10.0.0.1:1", map[string]string{"Forwarded": "for=203.0.113.66"}, "10.0.0.1"},
		{"[::ffff:192.0.2.3]:1", nil, "192.0.2.3"},
		{"10.0.0.1:1", map[string]string{"X-Forwarded-For": "10.0.0.2, 10.0.0.3"}, "10.0.0.2"},
		{"10.0.0.1:1", map[string]string{"Forwarded": "for=_hidden"}, "10.0.0.1"},
		{"not-an-address", nil, "invalid IP"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tc.remote
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		// The rows from ::1 exercise the Forwarded header, the others
		// X-Forwarded-For.
		header := "X-Forwarded-For"
		if strings.HasPrefix(tc.remote, "[::1]") {
			header = "Forwarded"
		}
		if got := clientAddr(r, trusted, header).String(); got != tc.want {
			t.Errorf("clientAddr(%s, %v) = %s, want %s", tc.remote, tc.headers, got, tc.want)
		}
	}
	if k := addressKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key = %s", k)
	}
	if k := addressKey(netip.Addr{}); k != "unknown" {
		t.Errorf("invalid key = %s", k)
	}
}

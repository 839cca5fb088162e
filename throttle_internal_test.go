package jwtguard

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// However many keys an attacker sprays, the table holds at most its
// capacity, and a key whose bucket has refilled is forgotten before one
// that is still being throttled.
func TestLimiterTableIsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newLimiterTable(1, time.Minute, 100)
	if _, wait := tab.reserve("victim", now); wait != 0 {
		t.Fatal("victim's first attempt throttled")
	}
	for i := range 10_000 {
		tab.reserve(fmt.Sprintf("spray-%d", i), now)
		if i%50 == 0 {
			tab.reserve("victim", now) // the victim is being attacked too
		}
	}
	if n := tab.len(); n > 100 {
		t.Fatalf("table holds %d keys, want at most 100", n)
	}
	if _, wait := tab.reserve("victim", now); wait == 0 {
		t.Error("the victim's bucket was forgotten while in use")
	}
	// An hour later every bucket is full again; new keys replace them
	// without growing the table.
	later := now.Add(time.Hour)
	for i := range 200 {
		tab.reserve(fmt.Sprintf("late-%d", i), later)
	}
	if n := tab.len(); n > 100 {
		t.Fatalf("table holds %d keys, want at most 100", n)
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

package guard

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		remote  string
		headers map[string]string
		want    string
		known   bool
	}{
		{"192.0.2.1:1234", nil, "192.0.2.1", true},
		{"192.0.2.1:1234", map[string]string{"X-Forwarded-For": "203.0.113.9"}, "192.0.2.1", true},
		{"10.0.0.1:1", map[string]string{"X-Forwarded-For": "203.0.113.9"}, "203.0.113.9", true},
		{"10.0.0.1:1", map[string]string{"X-Forwarded-For": " 198.18.0.1 ,203.0.113.9 , 10.0.0.2"}, "203.0.113.9", true},
		{"[::1]:1", map[string]string{"Forwarded": `for="[2001:db8::7]:80", for=10.0.0.3`}, "2001:db8::7", true},
		// Only the configured header is read: a proxy that appends to one
		// passes the other through from the client.
		{"10.0.0.1:1", map[string]string{"Forwarded": "for=203.0.113.66", "X-Forwarded-For": "203.0.113.9"}, "203.0.113.9", true},
		{"[::1]:1", map[string]string{"Forwarded": "for=203.0.113.66", "X-Forwarded-For": "203.0.113.9"}, "203.0.113.66", true},
		// A trusted proxy that names no client, or one that cannot be
		// read: the proxy's (or the nearest readable) address keys the
		// address throttle, but it is not the client's own.
		{"10.0.0.1:1", map[string]string{"Forwarded": "for=203.0.113.66"}, "10.0.0.1", false},
		{"10.0.0.1:1", map[string]string{"X-Forwarded-For": "unknown"}, "10.0.0.1", false},
		{"[::1]:1", map[string]string{"Forwarded": "for=unknown"}, "::1", false},
		{"[::1]:1", map[string]string{"Forwarded": "for=_hidden, for=10.0.0.3"}, "10.0.0.3", false},
		{"[::ffff:192.0.2.3]:1", nil, "192.0.2.3", true},
		{"10.0.0.1:1", map[string]string{"X-Forwarded-For": "10.0.0.2, 10.0.0.3"}, "10.0.0.2", false},
		{"not-an-address", nil, "invalid IP", false},
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
		if got, known := ClientAddr(r, trusted, header); got.String() != tc.want || known != tc.known {
			t.Errorf("ClientAddr(%s, %v) = %s, %v; want %s, %v", tc.remote, tc.headers, got, known, tc.want, tc.known)
		}
	}
	if k := AddressKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key = %s", k)
	}
	if k := AddressKey(netip.Addr{}); k != "unknown" {
		t.Errorf("invalid key = %s", k)
	}
}

// FuzzClientAddr: whatever the headers say, the client address is
// RemoteAddr's unless RemoteAddr is a trusted proxy, and otherwise one of
// the hops the configured header names, Unmapped; and reading it never
// panics.
func FuzzClientAddr(f *testing.F) {
	for _, s := range [][3]string{
		{"10.0.0.1:1", "X-Forwarded-For", "203.0.113.9, 10.0.0.2"},
		{"10.0.0.1:1", "Forwarded", `for="[2001:db8::7]:80";proto=https, for=10.0.0.3`},
		{"192.0.2.1:1234", "X-Forwarded-For", "203.0.113.9"},
		{"[::1]:1", "Forwarded", "for=_hidden, for=unknown"},
		{"10.0.0.1:1", "X-Forwarded-For", ",,, ,"},
		{"10.0.0.1:1", "Forwarded", `for="`},
		{"[::ffff:10.0.0.1]:1", "X-Forwarded-For", "::ffff:198.51.100.1"},
		{"not-an-address", "X-Forwarded-For", "203.0.113.9"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, header, value string) {
		if header != "Forwarded" {
			header = "X-Forwarded-For"
		}
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = remote
		r.Header[header] = []string{value}
		got, known := ClientAddr(r, trusted, header)
		peer := remoteAddr(remote)
		if !peer.IsValid() || !isTrusted(peer, trusted) {
			if got != peer || known != peer.IsValid() {
				t.Fatalf("untrusted peer %q: client %v, %v; want the peer %v", remote, got, known, peer)
			}
			return
		}
		if known && isTrusted(got, trusted) {
			t.Fatalf("a trusted proxy %v is known as the client", got)
		}
		if got.Is4In6() {
			t.Fatalf("client %v is not unmapped", got)
		}
		if got != peer {
			found := false
			for _, hop := range append(strings.Split(value, ","), forwardedFor([]string{value})...) {
				found = found || remoteAddr(strings.TrimSpace(hop)) == got
			}
			if !found {
				t.Fatalf("client %v is neither the peer nor a hop of %q", got, value)
			}
		}
		if got2, _ := ClientAddr(r, trusted, header); got2 != got {
			t.Fatalf("not deterministic: %v then %v", got, got2)
		}
	})
}

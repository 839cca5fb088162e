package guard

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr returns the address of the client that sent r: RemoteAddr,
// unless RemoteAddr is a trusted proxy, in which case the nearest address in
// the chain of header (X-Forwarded-For, or Forwarded as RFC 7239 writes it)
// that is not itself a trusted proxy. Headers from untrusted peers, and the
// other forwarding header, are ignored, so that a client cannot choose its
// own address through a proxy that appends to one header and passes the
// other through.
//
// known reports whether the address is the client's own: false when
// RemoteAddr cannot be read, and behind a trusted proxy when a hop cannot
// be read (RFC 7239's "unknown" or an obfuscated name; the nearest
// readable address is returned then, to key the address throttle by) or no
// hop outside the trusted proxies is named. Every client of an unknown
// address may share it, so it must never be taken for an account owner's.
func ClientAddr(r *http.Request, trusted []netip.Prefix, header string) (addr netip.Addr, known bool) {
	addr = remoteAddr(r.RemoteAddr)
	if !addr.IsValid() || !isTrusted(addr, trusted) {
		return addr, addr.IsValid()
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
			return addr, false
		}
		addr = hop
		if !isTrusted(hop, trusted) {
			return hop, true
		}
	}
	return addr, false
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

// AddressKey is the throttle key of a client address: the address itself for
// IPv4, its /64 network for IPv6, since one client commonly holds a whole
// /64.
func AddressKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ParsePrefix parses a trusted proxy: an address ("10.0.0.5", "::1") or a
// prefix ("10.0.0.0/8"), masked.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Package dpop reads the parts of a DPoP proof (RFC 9449) that are not a
// key: its header's members, its claims, and the URIs its htu claim is
// compared by.
package dpop

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// NormalizeURI returns the http or https URI s without its query and
// fragment, normalised as RFC 9449 §4.3 asks (syntax- and scheme-based
// normalisation, RFC 3986 §6.2.2 and §6.2.3): scheme and host in lower
// case, the scheme's default port and an empty port dropped, an empty path
// made "/", percent-escapes of unreserved characters decoded and the
// others' hex digits in upper case, and dot segments removed.
//
// It is a reader of its own, not net/url's, because it is stricter and
// its normal form is the comparison: userinfo, a percent-escape or a
// character outside RFC 3986's in the host, a port out of range, a byte
// outside RFC 3986's characters in the path (a space, a backslash, a
// non-ASCII byte), and a malformed percent-escape anywhere before the
// query are refused, so that two URIs compare equal only when every
// reader takes them for one resource.
func NormalizeURI(s string) (string, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", errors.New("not an absolute http or https URI")
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("scheme %q is neither http nor https", scheme)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, err := NormalizeHost(scheme, rest[:end])
	if err != nil {
		return "", err
	}
	path := rest[end:]
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path, err = NormalizePath(path)
	if err != nil {
		return "", err
	}
	return scheme + "://" + host + path, nil
}

// NormalizeHost returns the authority host[:port] of a URI of scheme
// (http or https), normalised: the host in lower case (an IPv6 literal in
// its RFC 5952 form), the port without leading zeros, and dropped when it
// is the scheme's default or empty. Userinfo and percent-escapes are
// refused.
func NormalizeHost(scheme, authority string) (string, error) {
	if authority == "" {
		return "", errors.New("no host")
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return "", errors.New("userinfo in the authority")
	}
	host, port := authority, ""
	if authority[0] == '[' {
		i := strings.IndexByte(authority, ']')
		if i < 0 {
			return "", errors.New("an IPv6 literal without its ']'")
		}
		host, port = authority[:i+1], authority[i+1:]
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("host %q is not an IPv6 literal", host)
		}
		host = "[" + a.String() + "]"
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port = authority[:i], authority[i:]
	}
	if host == "" {
		return "", errors.New("no host")
	}
	if host[0] != '[' {
		for i := 0; i < len(host); i++ {
			if !isRegName(host[i]) {
				return "", fmt.Errorf("host has byte %q, which is not allowed there", host[i])
			}
		}
		host = strings.ToLower(host)
	}
	switch {
	case port == "" || port == ":":
		port = ""
	case port[0] != ':':
		return "", errors.New("bytes after the IPv6 literal that are not a port")
	default:
		digits := port[1:]
		if len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
			return "", fmt.Errorf("port %q is not a number", digits)
		}
		n, _ := strconv.Atoi(digits)
		switch {
		case n < 1 || n > 65535:
			return "", fmt.Errorf("port %q is out of range", digits)
		case scheme == "http" && n == 80, scheme == "https" && n == 443:
			port = ""
		default:
			port = ":" + strconv.Itoa(n)
		}
	}
	return host + port, nil
}

// isRegName reports whether c may be in a reg-name host (RFC 3986 §3.2.2)
// but for percent-escapes: unreserved and sub-delims.
func isRegName(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("!$&'()*+,;=", c) >= 0
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// NormalizePath returns the absolute path p (empty, or starting with '/';
// no query or fragment) normalised: "/" for empty, percent-escapes of
// unreserved characters decoded and the others' hex digits in upper case,
// dot segments removed (RFC 3986 §5.2.4). A byte that is not a pchar or
// '/', and a malformed escape, are refused.
func NormalizePath(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if p[0] != '/' {
		return "", errors.New("the path is not absolute")
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", errors.New("a malformed percent-escape in the path")
			}
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperHex[v>>4])
				b.WriteByte(upperHex[v&15])
			}
			i += 2
		case c == '/' || isRegName(c) || c == ':' || c == '@':
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("the path has byte %q, which is not allowed there", c)
		}
	}
	return removeDotSegments(b.String()), nil
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// removeDotSegments is RFC 3986 §5.2.4's algorithm for an absolute path,
// segment by segment: "." is dropped, ".." drops the segment before it
// (none above the root), and a path that ended in either ends in '/'.
func removeDotSegments(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

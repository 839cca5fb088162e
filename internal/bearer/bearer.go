// Package bearer parses the credentials of an HTTP Authorization header that
// uses the Bearer scheme (RFC 6750 §2.1), finds a token in a URL query
// (RFC 6750 §2.3), counts cookies as sent, and checks token syntax.
package bearer

import (
	"errors"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/jwtguard/jwtguard/internal/charset"
)

var (
	// ErrOtherScheme reports an Authorization header whose scheme is not
	// Bearer (Basic, Digest, …): it carries no bearer token.
	ErrOtherScheme = errors.New("authorization scheme is not Bearer")
	// ErrMalformed reports a Bearer header whose credentials are missing or
	// are not exactly one b64token.
	ErrMalformed = errors.New("malformed Bearer credentials")
	// ErrTooLong reports a token longer than the caller's bound.
	ErrTooLong = errors.New("token longer than the configured bound")
)

// Parse returns the token of an Authorization header value of the form
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme is the value's leading run of RFC 9110 token characters,
// matched against "Bearer" case-insensitively (RFC 9110 §11.1). Another
// scheme name ("Basic", "Bearerx") is ErrOtherScheme: the header carries no
// bearer token. A value that begins with the Bearer scheme name and is not
// then exactly one SP-separated b64token is ErrMalformed, never another
// scheme: "Bearer\t…", "Bearer,…", "Bearer" followed by a no-break space, a
// second token, trailing space or control characters are all malformed, so
// that a forged header cannot be passed over in favour of a cookie. A value
// that does not start with a scheme name at all (leading white space, a
// non-ASCII byte) is malformed too. An empty value is ErrOtherScheme.
//
// A token longer than maxLen bytes is refused with ErrTooLong before its
// characters are read; maxLen <= 0 means no bound. Parse does not allocate:
// the token is a substring of value.
func Parse(value string, maxLen int) (string, error) {
	tok, err := Credentials(value, maxLen)
	if err != nil {
		return "", err
	}
	return Token(tok, maxLen)
}

// Credentials is Parse but for the check of the token's characters: it
// returns what follows the scheme and its spaces, non-empty and no longer
// than maxLen, and refuses what Parse refuses but a token of other
// characters. It is for a caller that reads the token by a stricter
// alphabet of its own at once (Verify's verifier, whose alphabet is a
// subset of b64token's) and asks Token only when that one refuses it, so
// that an accepted token is not read twice; Parse(v) is Token(Credentials(v)).
func Credentials(value string, maxLen int) (string, error) {
	tok, dpop, err := SchemeCredentials(value, maxLen)
	if dpop {
		return "", ErrOtherScheme
	}
	return tok, err
}

// SchemeCredentials is Credentials for the Bearer and the DPoP scheme
// (RFC 9449 §7.1, whose credentials have Bearer's syntax): dpop reports
// which one the value has. A value that begins with either name and is
// not then one SP-separated run of characters is ErrMalformed, as for
// Bearer; other schemes are ErrOtherScheme.
func SchemeCredentials(value string, maxLen int) (tok string, dpop bool, err error) {
	if value == "" {
		return "", false, ErrOtherScheme
	}
	n := 0
	for n < len(value) && isSchemeChar(value[n]) {
		n++
	}
	switch {
	case n == 0:
		return "", false, ErrMalformed
	case n == len("bearer") && equalFoldASCII(value[:n], "bearer"):
	case n == len("dpop") && equalFoldASCII(value[:n], "dpop"):
		dpop = true
	default:
		return "", false, ErrOtherScheme
	}
	rest := value[n:]
	if rest == "" || rest[0] != ' ' {
		return "", dpop, ErrMalformed
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	tok = rest[i:]
	switch {
	case tok == "":
		return "", dpop, ErrMalformed
	case maxLen > 0 && len(tok) > maxLen:
		return "", dpop, ErrTooLong
	}
	return tok, dpop, nil
}

// isSchemeChar reports whether c is an RFC 9110 tchar, of which an
// authentication scheme name is made.
func isSchemeChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Token checks that tok is a single b64token no longer than maxLen bytes
// (maxLen <= 0: no bound) and returns it. It is the check Parse applies after
// the scheme, for tokens that arrive without one (a cookie, a form field).
func Token(tok string, maxLen int) (string, error) {
	if tok == "" {
		return "", ErrMalformed
	}
	if maxLen > 0 && len(tok) > maxLen {
		return "", ErrTooLong
	}
	// The characters, then the '=' padding: the padding is stripped from
	// the end and what is before it must be all characters, which is read
	// by table (charset) rather than byte by byte.
	end := len(tok)
	for end > 0 && tok[end-1] == '=' {
		end--
	}
	if end == 0 || !tokenChars.All(tok[:end]) {
		return "", ErrMalformed
	}
	return tok, nil
}

// tokenChars are the characters of a b64token, before its padding.
var tokenChars = charset.Of(func(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
})

// equalFoldASCII reports whether s equals the lower-case ASCII word lower,
// ignoring ASCII case.
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

var (
	// ErrRepeated reports a query that names the token parameter more than
	// once.
	ErrRepeated = errors.New("token parameter appears more than once in the query")
	// ErrBadEscape reports a query pair that could be the token parameter
	// and whose percent-encoding is malformed.
	ErrBadEscape = errors.New("malformed percent-encoding in the query")
)

// QueryToken returns the token carried by the query parameter name in
// rawQuery (a URL's RawQuery, without the '?'), and whether the parameter
// is present. It reads the query more strictly than url.ParseQuery, which
// skips the pairs it cannot parse, so that no reading of the query finds a
// token that QueryToken does not count:
//
//   - pairs are separated by '&' and by ';' (which older parsers, and
//     some proxies, still take as a separator);
//   - a pair is the parameter when its key, as sent or percent-decoded
//     ('+' as a space), equals name; a pair without '=' has an empty value;
//   - a pair whose key cannot be percent-decoded could be the parameter
//     (its name is unknown), and is refused with ErrBadEscape;
//   - the parameter present more than once is ErrRepeated;
//   - the parameter's value is percent-decoded (a malformed escape is
//     ErrBadEscape) and must then be a token as Token checks it (its error,
//     ErrMalformed or ErrTooLong).
//
// found is true whenever err is not nil: the query may carry a token.
// On a query that url.ParseQuery parses without error, QueryToken finds
// the parameter exactly when ParseQuery does, with the same value, for a
// name without '%' or '+'. Values of other parameters are not read. It
// does not allocate unless the value has to be percent-decoded.
func QueryToken(rawQuery, name string, maxLen int) (tok string, found bool, err error) {
	var raw string
	n := 0
	for q := rawQuery; q != ""; {
		var pair string
		if i := strings.IndexAny(q, "&;"); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, ""
		}
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		eq, ok := unescapedEqual(key, name)
		if !ok {
			return "", true, ErrBadEscape
		}
		if eq || key == name {
			n++
			raw = value
		}
	}
	switch {
	case n == 0:
		return "", false, nil
	case n > 1:
		return "", true, ErrRepeated
	}
	v := raw
	if strings.ContainsAny(raw, "%+") {
		var err error
		if v, err = url.QueryUnescape(raw); err != nil {
			return "", true, ErrBadEscape
		}
	}
	t, err := Token(v, maxLen)
	return t, true, err
}

// unescapedEqual reports whether the query component s, percent-decoded
// with '+' as a space, equals name, without allocating; ok is false when s
// has a malformed escape. It reads all of s either way.
func unescapedEqual(s, name string) (eq, ok bool) {
	eq = true
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false, false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		if j >= len(name) || name[j] != c {
			eq = false
		}
		j++
	}
	return eq && j == len(name), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// CookieCount returns how many cookies named name the Cookie header lines
// carry, read as net/http reads them (each line split at ';', each pair
// trimmed of white space and cut at its first '=', the name trimmed and
// compared exactly) but without checking the values. net/http's parser
// drops a cookie whose value has a byte it does not allow ('"' inside,
// '\\', a control character, DEL, a non-ASCII byte), and every cookie of a
// request past its count limit; a count above len(r.CookiesNamed(name))
// means that one of the name was dropped. It does not allocate.
func CookieCount(lines []string, name string) int {
	n := 0
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			if part == "" {
				continue
			}
			k, _, _ := strings.Cut(part, "=")
			if textproto.TrimString(k) == name {
				n++
			}
		}
	}
	return n
}

// Package bearer parses the credentials of an HTTP Authorization header that
// uses the Bearer scheme (RFC 6750 §2.1) and checks token syntax.
package bearer

import (
	"errors"
	"strings"
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
	const scheme = "bearer"
	if value == "" {
		return "", ErrOtherScheme
	}
	n := 0
	for n < len(value) && isSchemeChar(value[n]) {
		n++
	}
	if n == 0 {
		return "", ErrMalformed
	}
	if n != len(scheme) || !equalFoldASCII(value[:n], scheme) {
		return "", ErrOtherScheme
	}
	rest := value[n:]
	if rest == "" || rest[0] != ' ' {
		return "", ErrMalformed
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	return Token(rest[i:], maxLen)
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
	i := 0
	for i < len(tok) && isTokenChar(tok[i]) {
		i++
	}
	if i == 0 {
		return "", ErrMalformed
	}
	for i < len(tok) && tok[i] == '=' {
		i++
	}
	if i != len(tok) {
		return "", ErrMalformed
	}
	return tok, nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '+', '/':
		return true
	}
	return false
}

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

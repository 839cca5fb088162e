// Package bearer parses the credentials of an HTTP Authorization header that
// uses the Bearer scheme (RFC 6750 §2.1) and checks token syntax.
package bearer

import "errors"

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
// The scheme is matched case-insensitively (RFC 7235 §2.1). Anything else
// after the scheme (a second token, a comma, trailing space, control
// characters) makes the header malformed. A token longer than maxLen bytes is
// refused with ErrTooLong before its characters are read; maxLen <= 0 means no
// bound. Parse does not allocate: the token is a substring of value.
func Parse(value string, maxLen int) (string, error) {
	const scheme = "bearer"
	if len(value) < len(scheme) || !equalFoldASCII(value[:len(scheme)], scheme) {
		return "", ErrOtherScheme
	}
	rest := value[len(scheme):]
	if rest == "" {
		return "", ErrMalformed
	}
	if rest[0] != ' ' {
		// "Bearerx …" is another scheme whose name starts with "bearer".
		return "", ErrOtherScheme
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	return Token(rest[i:], maxLen)
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

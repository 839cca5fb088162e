// Package passwords holds jwtguard's password policy for new passwords
// (registration, a password change), after NIST SP 800-63B-4 §3.1.1.2:
// a minimum length counted in Unicode code points, NFKC normalisation, and
// a blocklist of the commonest passwords.
package passwords

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxBytes is the longest password, in bytes once normalised, that bcrypt
// reads: a longer one is refused, never truncated.
const MaxBytes = 72

// Normalize returns password in Unicode normalisation form NFKC, as
// 800-63B-4 recommends for passwords that may hold characters outside
// ASCII, so that a password typed as "é" (U+00E9) and as "e" + U+0301, or
// with a full-width letter, is the same password. The login handler and
// HashPassword normalise too, so that both sides agree. An ASCII password
// is its own NFKC form.
func Normalize(password string) string {
	for i := 0; i < len(password); i++ {
		if password[i] >= utf8.RuneSelf {
			return norm.NFKC.String(password)
		}
	}
	return password
}

// The policy's refusals.
var (
	ErrTooShort = errors.New("password too short")
	ErrTooLong  = errors.New("password too long")
	ErrCommon   = errors.New("password is one of the commonest passwords")
	ErrUsername = errors.New("password is the username")
	ErrInvalid  = errors.New("password is not valid UTF-8 or holds a control character")
)

// Check checks password, already normalised, against the policy: at least
// min code points, at most MaxBytes bytes, valid UTF-8 without control
// characters, not the username (ignoring case), and not on the blocklist
// (ignoring case). The error wraps one of the Err values.
func Check(password, username string, min int) error {
	switch n := utf8.RuneCountInString(password); {
	case !utf8.ValidString(password) || strings.ContainsFunc(password, isControl):
		return ErrInvalid
	case n < min:
		return fmt.Errorf("%w: %d characters, fewer than %d", ErrTooShort, n, min)
	case len(password) > MaxBytes:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrTooLong, len(password), MaxBytes)
	case strings.EqualFold(password, username):
		return ErrUsername
	case Common(password):
		return ErrCommon
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

//go:embed common.txt
var commonText string

// common is the blocklist, sorted, split once on first use.
var common = sync.OnceValue(func() []string {
	return strings.Split(strings.TrimSuffix(commonText, "\n"), "\n")
})

// Common reports whether password, ignoring letter case, is on the
// blocklist: 15,769 passwords of at least 8 characters from the
// commonest of a published breach corpus (see NOTICE).
func Common(password string) bool {
	if len(password) < 8 {
		return false // the list holds none shorter; the minimum length refuses them
	}
	_, found := slices.BinarySearch(common(), strings.ToLower(password))
	return found
}

// Count is the number of passwords on the blocklist.
func Count() int { return len(common()) }

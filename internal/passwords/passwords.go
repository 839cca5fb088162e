// Package passwords holds jwtguard's password policy for new passwords
// (registration, a password change), after NIST SP 800-63B-4 §3.1.1.2:
// a minimum length counted in Unicode code points, NFKC normalisation, and
// a blocklist of the commonest passwords and of passwords made like them
// (one unit repeated, a run of a sequence, a listed password decorated).
package passwords

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
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

// Check checks a new password, as sent (not yet normalised), against the
// policy: valid UTF-8 without control characters; at least min code points
// both as sent and in NFKC (normalising can turn one character into many:
// U+FDFA is one code point of 3 bytes and 18 code points in NFKC, and
// several into one: "e" + U+0301 is "é"), so that neither form can pass
// the minimum alone; at most MaxBytes bytes in NFKC (the form that is
// hashed); and, in NFKC and ignoring case, neither the username nor common
// (see [Common]). The error wraps one of the Err values.
func Check(password, username string, min int) error {
	if !utf8.ValidString(password) || strings.ContainsFunc(password, isControl) {
		return ErrInvalid
	}
	normalised := Normalize(password)
	if strings.ContainsFunc(normalised, isControl) {
		return ErrInvalid
	}
	sent, n := utf8.RuneCountInString(password), utf8.RuneCountInString(normalised)
	switch {
	case sent < min:
		return fmt.Errorf("%w: %d characters as sent, fewer than %d", ErrTooShort, sent, min)
	case n < min:
		return fmt.Errorf("%w: %d characters once normalised, fewer than %d", ErrTooShort, n, min)
	case len(normalised) > MaxBytes:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrTooLong, len(normalised), MaxBytes)
	case strings.EqualFold(normalised, username):
		return ErrUsername
	case Common(normalised):
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

// Common reports whether password, ignoring letter case, is one of the
// commonest passwords or made like them, as 800-63B-4 §3.1.1.2 asks of a
// blocklist ("repetitive or sequential characters", "commonly used"):
//
//   - on the blocklist: 15,769 passwords of at least 8 characters from
//     the commonest of a published breach corpus (see NOTICE);
//   - one short unit repeated: a password whose characters repeat with a
//     period of at most half its length ("aaaaaaaaaaaaaaa",
//     "passwordpassword", "abcabcabcabcabc"; a last repetition may be
//     cut short);
//   - a run of successive characters of one of the sequences
//     "abcdefghijklmnopqrstuvwxyz", "0123456789", the keyboard rows
//     "qwertyuiopasdfghjklzxcvbnm" and "1234567890", forwards or
//     backwards, wrapping from the end of the sequence to its start
//     ("123456789012345", "qwertyuiopasdfgh", "zyxwvutsrqponml");
//   - any of these with only ASCII digits, punctuation, symbols or spaces
//     added before it, after it or both ("password1234567",
//     "!!iloveyou2024!!", "aaaaaaaaaaaa123"), when what is left has at
//     least 8 characters.
//
// Passwords of fewer than 8 bytes are never common: the list holds none,
// and the minimum length refuses them.
func Common(password string) bool {
	if len(password) < 8 {
		return false // the list holds none shorter; the minimum length refuses them
	}
	p := strings.ToLower(password)
	// Decoration is ASCII, so the ends are cut at bytes that are whole
	// characters. A password of decoration alone ("123456789012345!") is
	// decoration at both ends.
	lead, trail := 0, 0
	for lead < len(p) && isDecoration(p[lead]) {
		lead++
	}
	for trail < len(p) && isDecoration(p[len(p)-1-trail]) {
		trail++
	}
	// Every way of taking decoration off the ends, the password itself
	// first (i = j = 0): the core may itself end in digits
	// ("password1234" is listed).
	for i := 0; i <= lead; i++ {
		for j := 0; j <= trail && i+j <= len(p); j++ {
			core := p[i : len(p)-j]
			if utf8.RuneCountInString(core) < 8 {
				continue
			}
			// A pattern inside decoration alone ("19161916" in
			// "191619167854159") is how random digits fall out, not a
			// pattern someone chose: patterns count in a core that has a
			// letter, or in the whole password.
			pattern := i == 0 && j == 0 || strings.ContainsFunc(core, unicode.IsLetter)
			if listed(core) || pattern && (repetitive(core) || sequential(core)) {
				return true
			}
		}
	}
	return false
}

// listed reports whether password, lowercase, is on the blocklist.
func listed(password string) bool {
	_, found := slices.BinarySearch(common(), password)
	return found
}

// isDecoration reports whether r is what people add around a password to
// pass a composition rule: an ASCII digit, punctuation, symbol or space.
func isDecoration(c byte) bool {
	return c >= ' ' && c <= '~' && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z')
}

// repetitive reports whether p is one unit of at most half its length
// repeated (the last repetition may be cut short). It reads bytes: a
// string is two whole units or more in bytes exactly when it is in
// characters.
func repetitive(p string) bool {
	// The shortest period of p is len(p) less its longest proper prefix
	// that is also a suffix: the prefix function of Knuth, Morris and
	// Pratt, in one pass.
	var buf [MaxBytes]int
	border := buf[:0]
	if len(p) > len(buf) {
		border = make([]int, 0, len(p))
	}
	border = append(border, 0)
	k := 0
	for i := 1; i < len(p); i++ {
		for k > 0 && p[i] != p[k] {
			k = border[k-1]
		}
		if p[i] == p[k] {
			k++
		}
		border = append(border, k)
	}
	return len(p)-k <= len(p)/2
}

// sequences are the runs that sequential refuses, each read as a cycle.
// (The keyboard's digit row is the digits' cycle begun elsewhere: listed
// for what it says.)
var sequences = [...]string{
	"abcdefghijklmnopqrstuvwxyz",
	"0123456789",
	"qwertyuiopasdfghjklzxcvbnm",
	"1234567890",
}

// sequential reports whether p is a run of successive characters of one of
// the sequences, forwards or backwards, wrapping around.
func sequential(p string) bool {
	for _, seq := range sequences {
		start := strings.IndexByte(seq, p[0])
		if start < 0 {
			continue
		}
		for _, step := range []int{1, len(seq) - 1} { // forwards, backwards
			i, ok := start, true
			for k := 1; k < len(p) && ok; k++ {
				i = (i + step) % len(seq)
				ok = seq[i] == p[k]
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// Count is the number of passwords on the blocklist.
func Count() int { return len(common()) }

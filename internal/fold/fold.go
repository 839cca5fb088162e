// Package fold maps strings to keys that agree with strings.EqualFold, for
// every place where jwtguard must treat names as a case-insensitive
// matcher would: throttle keys, reserved claim names, JSON member names.
package fold

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key maps each rune of s to the smallest rune of its case-folding orbit
// (the runes that unicode.SimpleFold cycles through), and each byte that
// is not valid UTF-8 to U+FFFD, as strings.EqualFold reads them. So
// Key(s) == Key(t) exactly when strings.EqualFold(s, t).
func Key(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(Rune(r))
	}
	return b.String()
}

// Rune is the smallest rune of r's case-folding orbit.
func Rune(r rune) rune {
	if r < utf8.RuneSelf {
		// An ASCII letter's orbit is its two cases (and, for K and S, the
		// Kelvin sign and long s, which are larger): the upper case is the
		// smallest.
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

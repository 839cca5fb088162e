package sqlite

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldKey maps each rune of s to the smallest rune of its case-folding
// orbit (the runes unicode.SimpleFold cycles through), and each byte that
// is not valid UTF-8 to U+FFFD, as strings.EqualFold reads them, so that
// foldKey(s) == foldKey(t) exactly when strings.EqualFold(s, t). It is
// the root module's internal/fold.Key, which a nested module should not
// import (a later root version may change its internal packages): the
// users table keeps it in name_key, under a UNIQUE constraint.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune is the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
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

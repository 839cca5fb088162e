package guard

import (
	"crypto/sha256"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AccountKey is the key of a username in the throttle and the returning
// users' table: a SHA-256 prefix of its case fold (foldKey), so that a store
// that matches usernames as strings.EqualFold does, or with a
// case-insensitive collation, does not give each spelling (alice, ALICE;
// ſam and sam; the Kelvin sign and K) its own bucket; the digest keeps
// every key 16 bytes, however long the username. A store that folds further
// still is covered by the bucket of the user's ID (Attempt.TakeUser).
func AccountKey(username string) string {
	sum := sha256.Sum256([]byte(foldKey(username)))
	return string(sum[:16])
}

// foldKey maps each rune of s to the smallest rune of its case-folding
// orbit (the runes that unicode.SimpleFold cycles through), and each byte
// that is not valid UTF-8 to U+FFFD, as strings.EqualFold reads them. So
// foldKey(s) == foldKey(t) exactly when strings.EqualFold(s, t).
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

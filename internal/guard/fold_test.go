package guard

import (
	"strings"
	"testing"
	"unicode"
)

// The account key agrees with strings.EqualFold: two usernames share a
// throttle bucket exactly when EqualFold calls them equal.
func TestAccountKeyAgreesWithEqualFold(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{"ascii case", "alice", "ALICE"},
		{"long s", "\u017fam", "sam"},
		{"long s, upper", "\u017fam", "SAM"},
		{"Kelvin sign", "\u212aate", "kate"},
		{"final sigma", "\u03c3\u03bf\u03c6\u03af\u03b1\u03c2", "\u03a3\u039f\u03a6\u038a\u0391\u03a3"},
		{"sigma forms", "\u03c2", "\u03c3"},
		{"micro sign", "\u00b5", "\u03bc"},
		{"micro sign, capital mu", "\u00b5", "\u039c"},
		{"angstrom sign", "\u212b", "\u00e5"},
		{"sharp s", "\u00df", "\u1e9e"},
		{"dz digraphs", "\u01c4", "\u01c5"},
		{"theta forms", "\u03d1", "\u0398"},
		{"dotted capital I is not i", "\u0130", "i"},
		{"dotless i is not I", "\u0131", "I"},
		{"ss is not sharp s", "ss", "\u00df"},
		{"invalid UTF-8 bytes", "a\xffb", "A\xfeB"},
		{"invalid UTF-8 and U+FFFD", "a\xff", "a\ufffd"},
		{"different lengths", "sam", "sams"},
		{"different letters", "alice", "alicf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkFoldAgreement(t, tc.a, tc.b)
		})
	}
	// Every rune against every other member of its orbit.
	t.Run("every orbit", func(t *testing.T) {
		for r := rune(0); r <= unicode.MaxRune; r++ {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				if AccountKey(string(r)) != AccountKey(string(f)) {
					t.Fatalf("%U and %U fold together but have different keys", r, f)
				}
			}
		}
	})
}

func checkFoldAgreement(t *testing.T, a, b string) {
	t.Helper()
	fold := strings.EqualFold(a, b)
	same := AccountKey(a) == AccountKey(b)
	if fold != same {
		t.Errorf("EqualFold(%q, %q) = %v, but equal keys = %v", a, b, fold, same)
	}
}

// FuzzAccountKey checks the agreement on pairs, and on a string against a
// copy with each rune moved along its folding orbit.
func FuzzAccountKey(f *testing.F) {
	for _, s := range [][2]string{
		{"alice", "ALICE"}, {"\u017fam", "sam"}, {"\u212a", "k"}, {"\u03c2", "\u03a3"},
		{"\u00b5", "\u039c"}, {"\u0130", "i"}, {"a\xff", "a\ufffd"}, {"", "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkFoldAgreement(t, a, b)
		var moved strings.Builder
		for i, r := range a {
			for range i % 3 {
				r = unicode.SimpleFold(r)
			}
			moved.WriteRune(r)
		}
		checkFoldAgreement(t, a, moved.String())
	})
}

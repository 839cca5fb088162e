package fold

import (
	"strings"
	"testing"
)

// Key agrees with strings.EqualFold on the runes whose folds surprise:
// the long s, the Kelvin and Ångström signs, final sigma, micro, dotless i.
func TestKeyAgreesWithEqualFold(t *testing.T) {
	for _, pair := range [][2]string{
		{"sam", "\u017fam"}, {"K", "\u212a"}, {"\u00e5", "\u212b"}, {"\u03c3", "\u03c2"},
		{"\u00b5", "\u03bc"}, {"alice", "ALICE"}, {"i", "\u0131"}, {"I", "\u0130"}, {"\xff", "\ufffd"},
	} {
		a, b := pair[0], pair[1]
		if (Key(a) == Key(b)) != strings.EqualFold(a, b) {
			t.Errorf("Key(%q) == Key(%q) is %v; EqualFold says %v", a, b, Key(a) == Key(b), strings.EqualFold(a, b))
		}
	}
}

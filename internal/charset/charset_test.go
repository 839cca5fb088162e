package charset

import (
	"strings"
	"testing"
)

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// TestAll: every position of every length up to a few rounds is read, so
// that a byte outside the set is found in the unrolled part and in the tail.
func TestAll(t *testing.T) {
	digits := Of(isDigit)
	for n := 0; n <= 40; n++ {
		s := strings.Repeat("7", n)
		if !digits.All(s) || digits.Index(s) != -1 {
			t.Fatalf("%q: refused", s)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{'a', 0, 0x80, 0xff, '/', ':'} {
				b := []byte(s)
				b[i] = c
				if digits.All(string(b)) {
					t.Fatalf("%q: accepted a byte %#x at %d", b, c, i)
				}
				if got := digits.Index(string(b)); got != i {
					t.Fatalf("%q: Index %d; want %d", b, got, i)
				}
			}
		}
	}
}

// TestOf: the set holds exactly the bytes the predicate accepts.
func TestOf(t *testing.T) {
	digits := Of(isDigit)
	for c := range 256 {
		if got := digits.All(string([]byte{byte(c)})); got != isDigit(byte(c)) {
			t.Errorf("byte %#x: in the set %v", c, got)
		}
	}
}

// FuzzAll: All and Index agree with a byte-by-byte reading of the
// predicate, on any input.
func FuzzAll(f *testing.F) {
	f.Add("0123456789", byte('5'))
	f.Add("", byte(0))
	f.Fuzz(func(t *testing.T, s string, extra byte) {
		in := func(c byte) bool { return isDigit(c) || c == extra }
		set := Of(in)
		want := -1
		for i := 0; i < len(s); i++ {
			if !in(s[i]) {
				want = i
				break
			}
		}
		if got := set.Index(s); got != want {
			t.Fatalf("Index(%q) = %d; want %d", s, got, want)
		}
		if got := set.All(s); got != (want < 0) {
			t.Fatalf("All(%q) = %v; want %v", s, got, want < 0)
		}
		span := want
		if want < 0 {
			span = len(s)
		}
		if got := set.Span([]byte(s)); got != span {
			t.Fatalf("Span(%q) = %d; want %d", s, got, span)
		}
	})
}

func BenchmarkAll(b *testing.B) {
	set := Of(func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
	})
	tok := strings.Repeat("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 9) // 333 bytes
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if !set.All(tok) {
			b.Fatal("refused")
		}
	}
}

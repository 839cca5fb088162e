package passwords

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		password, username string
		min                int
		want               error
	}{
		{"correct horse battery", "alice", 15, nil},
		{"fourteen chars", "alice", 15, ErrTooShort},
		{"ünïcödé pässwörd", "alice", 15, nil},             // 16 code points, more bytes
		{"ééééééééééééééé", "alice", 15, nil},              // 15 code points, 30 bytes
		{strings.Repeat("é", 37), "alice", 15, ErrTooLong}, // 74 bytes
		{strings.Repeat("a", 72), "alice", 15, nil},
		{strings.Repeat("a", 73), "alice", 15, ErrTooLong},
		{"Alice.Example.Org", "alice.example.org", 15, ErrUsername},
		{"password1234", "alice", 8, ErrCommon},
		{"PASSWORD1234", "alice", 8, ErrCommon},
		{"iloveyou", "alice", 8, ErrCommon},
		{"a tab\there xxxxxx", "alice", 15, ErrInvalid},
		{"nul\x00xxxxxxxxxxxxxx", "alice", 15, ErrInvalid},
		{"c1 \u0085 xxxxxxxxxxxxxx", "alice", 15, ErrInvalid},
		{"bad utf8 \xff xxxxxxxxxxx", "alice", 15, ErrInvalid},
	} {
		if err := Check(tc.password, tc.username, tc.min); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%q, %q, %d) = %v, want %v", tc.password, tc.username, tc.min, err, tc.want)
		}
	}
}

// TestNormalize: NFKC, so that composed and decomposed forms, and
// compatibility characters, are one password; ASCII is unchanged.
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"caf\u00e9":      "caf\u00e9",
		"cafe\u0301":     "caf\u00e9",
		"\uff21\uff42c":  "Abc",  // full-width letters
		"\ufb01le":       "file", // the fi ligature
		"plain ascii 1!": "plain ascii 1!",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBlocklist: at least 1,000 entries (the floor), sorted and
// without duplicates (Common searches it), lowercase, at least 8 bytes.
func TestBlocklist(t *testing.T) {
	list := common()
	if len(list) < 1000 || Count() != len(list) {
		t.Fatalf("%d entries, want at least 1000", len(list))
	}
	if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
		t.Fatal("the list is not sorted and unique")
	}
	for _, p := range list {
		if len(p) < 8 || strings.ToLower(p) != p || strings.TrimSpace(p) != p {
			t.Fatalf("entry %q: want lowercase, trimmed, at least 8 bytes", p)
		}
	}
	for _, p := range []string{"password", "12345678", "qwertyuiop", "trustno1"} {
		if !Common(p) {
			t.Errorf("%q is not on the list", p)
		}
	}
}

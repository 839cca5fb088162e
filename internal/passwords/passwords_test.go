package passwords

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// long72 is 72 bytes that no rule but the length refuses.
const long72 = "the quick brown fox jumps over the lazy dog; pack my box with five dozen"

func TestCheck(t *testing.T) {
	if len(long72) != 72 {
		t.Fatalf("long72 has %d bytes", len(long72))
	}
	for _, tc := range []struct {
		password, username string
		min                int
		want               error
	}{
		{"correct horse battery", "alice", 15, nil},
		{"fourteen chars", "alice", 15, ErrTooShort},
		{"ünïcödé pässwörd", "alice", 15, nil},             // 16 code points, more bytes
		{"éàèùâêîôûëïüÿçœ", "alice", 15, nil},              // 15 code points, 30 bytes
		{strings.Repeat("é", 37), "alice", 15, ErrTooLong}, // 74 bytes
		{long72, "alice", 15, nil},
		{long72 + "x", "alice", 15, ErrTooLong},
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

// TestReviewMinimumLengthAsSentAndNormalised: the minimum length holds for
// the password as sent and for its NFKC form, so that one character that
// NFKC expands cannot pass it. A finding of the registration review
// (U+FDFA, one code point, is 18 in NFKC), fixed.
func TestReviewMinimumLengthAsSentAndNormalised(t *testing.T) {
	if n := len([]rune(Normalize("\ufdfa"))); n != 18 {
		t.Fatalf("NFKC of U+FDFA has %d code points, want 18", n)
	}
	for _, tc := range []struct {
		password string
		want     error
	}{
		{"\ufdfa", ErrTooShort},                             // 1 as sent, 18 normalised
		{"\ufdfa\ufdfa", ErrTooShort},                       // 2 as sent
		{"xy\ufdfa" + strings.Repeat("z", 11), ErrTooShort}, // 14 as sent, 31 normalised
		{strings.Repeat("e\u0301", 8), ErrTooShort},         // 16 as sent, 8 normalised
		{"xy\ufdfa" + "klmnopqrst!@", nil},                  // 15 as sent, 32 normalised
	} {
		if err := Check(tc.password, "alice", 15); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%q) = %v, want %v", tc.password, err, tc.want)
		}
	}
}

// TestReviewRepetitiveAndSequential: passwords of 15 characters or more
// that the list does not hold but that are one unit repeated, a run of a
// sequence, or a listed password with digits and punctuation around it are
// refused as common; long passwords that are none of these pass. A finding
// of the registration review (the list held only 40 entries of 15
// characters or more), fixed.
func TestReviewRepetitiveAndSequential(t *testing.T) {
	for _, p := range []string{
		// the review's
		"passwordpassword", "aaaaaaaaaaaaaaa", "123456789012345", "qwertyuiopasdfgh",
		"password1234567", "iloveyouiloveyou", "abcabcabcabcabc",
		// repeated units, a last one cut short, in any letter case
		"abcdabcdabcdabc", "PasswordPASSWORD", "!!!!!!!!!!!!!!!", "horse horse horse horse ",
		"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
		// runs, forwards and backwards, wrapping
		"abcdefghijklmnop", "ponmlkjihgfedcba", "xyzabcdefghijklm", "0987654321098765",
		"mnbvcxzlkjhgfdsa", "ASDFGHJKLZXCVBNM", "7890123456789012",
		// a listed password, or a pattern, decorated with digits and punctuation
		"2024iloveyou!!!", "!!password123!!", "qwertyuiop12345", "trustno1trustno1",
		"aaaaaaaaaaaa123", "abcdefgh12345678", "123456789012345!", "  sunshine  2024",
	} {
		if !Common(p) {
			t.Errorf("Common(%q) = false, want true", p)
		}
		if err := Check(p, "alice", 15); !errors.Is(err, ErrCommon) {
			t.Errorf("Check(%q) = %v, want ErrCommon", p, err)
		}
	}
	for _, p := range []string{
		"correct horse battery staple", "Tr0ub4dor&3 is not a passphrase", "fifteen chars!!",
		"passwordpasswordx", "aaaaaaaaaaaaaab", "qwertyuiopasdfgx",
		"my sunshine 2024", long72, "k7#Qm2!vX9@pL4$w",
	} {
		if Common(p) {
			t.Errorf("Common(%q) = true, want false", p)
		}
		if err := Check(p, "alice", 15); err != nil {
			t.Errorf("Check(%q) = %v, want nil", p, err)
		}
	}
}

// TestReviewRandomDigitsAreNotPatterns (a finding of the fixes' review,
// fixed): every 8-character run of an all-digit password counted as a
// core, so about 0.09% of random 15-digit passwords were refused for a
// repeat inside them ("19161916" in "191619167854159").
func TestReviewRandomDigitsAreNotPatterns(t *testing.T) {
	for _, p := range []string{"191619167854159", "804580457712093", "550912091209874"} {
		if err := Check(p, "alice", 15); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"123456789012345", "111111111111111", "121212121212121"} {
		if err := Check(p, "alice", 15); !errors.Is(err, ErrCommon) {
			t.Errorf("%q: %v, want ErrCommon", p, err)
		}
	}
}

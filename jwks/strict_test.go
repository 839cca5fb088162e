package jwks

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckDocument: checkDocument takes JWK Sets whose member names mean
// one thing to every reader, unknown members and escapes included, and
// refuses a document that is not JSON, not UTF-8, not a JWK Set, or that
// has a repeated member or a registered one in other letter case, at any
// level it checks.
func TestCheckDocument(t *testing.T) {
	const jwk = `{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"a"}`
	set := func(members string) string { return `{"keys":[{"kty":"EC","crv":"P-256",` + members + `}]}` }
	for _, tc := range []struct {
		name, doc string
		want      string // "" when accepted, else a part of the error
		strict    bool   // the error wraps errStrict
	}{
		{"a JWK Set", `{"keys":[` + jwk + `,` + jwk + `]}`, "", false},
		{"no JWK", `{"keys":[]}`, "", false},
		{"white space", " \t\r\n{ \"keys\" : [ " + jwk + " ] } \n", "", false},
		{"unknown members", `{"keys":[{"kty":"EC","x-custom":1,"X-Other":{"a":[{"b":null}]},"kids":"a"}],"issuer":"x","Kids":2}`, "", false},
		{"an unknown member like a registered one at the top", `{"keys":[],"KID":1,"D":2}`, "", false},
		{"a registered name escaped", `{"keys":[{"\u006b\u0074\u0079":"EC","\u0064":"x"}]}`, "", false},
		{"non-ASCII and a surrogate pair", `{"keys":[{"kty":"EC","kid":"é😀\ud83d\ude00\\ud800"}]}`, "", false},
		{"oth entries", set(`"oth":[{"r":"AA","d":"AA","t":"AA","x":1}]`), "", false},
		{"oth not an array", set(`"oth":{"D":1}`), "", false},
		{"numbers out of float64's range", `{"keys":[{"kty":"EC","x-n":1e999999}]}`, "", false},

		{"empty", ``, "not JSON", false},
		{"not JSON", `<html>`, "not JSON", false},
		{"not UTF-8", "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"\xff\"}]}", "not UTF-8", false},
		{"a lone high surrogate", `{"keys":[{"kty":"EC","kid":"\ud800"}]}`, "lone surrogate", false},
		{"a high surrogate at the end of a string", `{"keys":[{"kty":"EC","kid":"a\uD800"}]}`, "lone surrogate", false},
		{"a high surrogate then a letter escape", `{"keys":[{"kty":"EC","kid":"\ud800\u0041"}]}`, "lone surrogate", false},
		{"a lone low surrogate", `{"keys":[{"kty":"EC","kid":"\udc00"}]}`, "lone surrogate", false},
		{"a lone surrogate in a name", `{"keys":[{"kty":"EC","d\udfff":"x"}]}`, "lone surrogate", false},
		{"an array", `[` + jwk + `]`, "not a JSON object", false},
		{"a string", `"keys"`, "not a JSON object", false},
		{"no keys", `{"kids":[]}`, `no "keys" array`, false},
		{"keys null", `{"keys":null}`, `no "keys" array (keys is null)`, false},
		{"keys an object", `{"keys":` + jwk + `}`, `no "keys" array (keys is an object)`, false},
		{"a JWK a string", `{"keys":[` + jwk + `,"kty"]}`, "keys[1] is a string, not a JWK object", false},
		{"a JWK an array", `{"keys":[[` + jwk + `]]}`, "keys[0] is an array", false},
		{"a JWK null", `{"keys":[null]}`, "keys[0] is null", false},
		{"text after it", `{"keys":[]} {"keys":[]}`, "text follows it", false},
		{"garbage after it", `{"keys":[]}x`, "text follows it", false},
		{"cut short", `{"keys":[` + jwk, "ends early", false},
		{"a trailing comma", `{"keys":[` + jwk + `,]}`, "not JSON", false},
		{"a missing colon", `{"keys" []}`, "not JSON", false},
		{"too deep", `{"keys":[{"kty":"EC","x-deep":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}]}`, "deeper than", false},

		{"keys twice", `{"keys":[` + jwk + `],"keys":[]}`, `the document has two members named "keys"`, true},
		{"KEYS beside keys", `{"keys":[` + jwk + `],"KEYS":[]}`, `has members "keys" and "KEYS"`, true},
		{"Keys alone", `{"Keys":[` + jwk + `]}`, `a member "Keys", the registered member keys in other letter case`, true},
		{"kty twice", `{"keys":[{"kty":"EC","kty":"oct"}]}`, `keys[0] has two members named "kty"`, true},
		{"kty twice, once escaped", `{"keys":[{"kty":"EC","\u006bty":"oct"}]}`, `two members named "kty"`, true},
		{"d then D", set(`"d":"AA","D":""`), `keys[0] has members "d" and "D"`, true},
		{"D alone", set(`"D":"AA"`), `keys[0] has a member "D", the registered member d in other letter case`, true},
		{"KTY alone", `{"keys":[{"KTY":"EC"}]}`, `"KTY", the registered member kty`, true},
		{"Kty alone", `{"keys":[{"Kty":"EC"}]}`, `"Kty", the registered member kty`, true},
		{"the Kelvin sign for k", `{"keys":[{"kty":"oct","\u212a":"AA"}]}`, "the registered member k in", true},
		{"the Kelvin sign in kid", `{"keys":[{"kty":"EC","\u212aid":"a"}]}`, "the registered member kid in", true},
		{"key_ops in capitals", set(`"KEY_OPS":["sign"]`), "the registered member key_ops", true},
		{"x5t#s256", set(`"x5t#s256":"AA"`), "the registered member x5t#S256", true},
		{"USE after use", set(`"use":"enc","USE":"sig"`), `has members "use" and "USE"`, true},
		{"unknown members in two cases", set(`"x-a":1,"X-A":2`), `has members "x-a" and "X-A"`, true},
		{"an unknown member twice", set(`"x-a":1,"x-a":2`), `two members named "x-a"`, true},
		{"a repeated member in a nested object", set(`"x-ext":[{"a":1,"a":2}]`), `an object in keys[0] has two members named "a"`, true},
		{"a repeated member at the top nested", `{"keys":[],"x":{"y":{"z":1,"Z":2}}}`, `an object in the document has members "z" and "Z"`, true},
		{"D in an oth entry", set(`"oth":[{"r":"AA","d":"AA","t":"AA"},{"r":"AA","D":"AA"}]`), `keys[0].oth[1] has a member "D", the registered member d`, true},
		{"r twice in an oth entry", set(`"oth":[{"r":"AA","r":"AB"}]`), `keys[0].oth[0] has two members named "r"`, true},
		{"a long name quoted short", set(`"` + strings.Repeat("y", 1000) + `":1,"` + strings.Repeat("Y", 1000) + `":2`), `"` + strings.Repeat("y", maxQuotedName) + `"…`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDocument([]byte(tc.doc))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				return
			case err == nil:
				t.Fatalf("accepted, want an error with %q", tc.want)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q, want one with %q", err, tc.want)
			case errors.Is(err, errStrict) != tc.strict:
				t.Errorf("error %q: wraps errStrict %v, want %v", err, !tc.strict, tc.strict)
			case !tc.strict && !strings.HasPrefix(err.Error(), "the document is not a JWK Set: "):
				t.Errorf("error %q lacks the prefix of the other garbage", err)
			case len(err.Error()) > 400:
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if _, _, perr := parseKeySet([]byte(tc.doc), ""); perr == nil || perr.Error() != err.Error() {
				t.Errorf("parseKeySet: %v, want checkDocument's error", perr)
			}
		})
	}
}

// TestFoldName: foldName equates the names strings.EqualFold does, and
// only those.
func TestFoldName(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"kty", "KTY", true},
		{"kty", "Kty", true},
		{"k", "\u212a", true}, // Kelvin sign
		{"x5t#S256", "X5T#s256", true},
		{"ſ", "S", true}, // long s
		{"σ", "ς", true},
		{"key_ops", "keyops", false},
		{"key_ops", "key-ops", false},
		{"i", "İ", false}, // not simple folding
		{"i", "ı", false},
		{"d", "d ", false},
		{"", "", true},
	} {
		if got := foldName(tc.a) == foldName(tc.b); got != tc.same || got != strings.EqualFold(tc.a, tc.b) {
			t.Errorf("foldName(%q) == foldName(%q): %v, want %v (EqualFold %v)", tc.a, tc.b, got, tc.same, strings.EqualFold(tc.a, tc.b))
		}
	}
}

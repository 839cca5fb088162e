package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error // nil: accepted
	}{
		{"object", ` {"a":[1,-0.5e+3,true,false,null,"x",{}],"b":{"c":[]}} `, nil},
		{"string", `"a"`, nil},
		{"number", `-12.5E-2`, nil},
		{"surrogate pair", `"\ud83d\ude00"`, nil},
		{"every escape", `"\"\\\/\b\f\n\r\t\u00e9"`, nil},
		{"non-ASCII", `"é😀"`, nil},
		{"lone high surrogate", `"\ud800"`, errSurrogate},
		{"high surrogate at the end of the text", `"\ud800`, errSurrogate},
		{"high surrogate then a letter", `"\ud800a"`, errSurrogate},
		{"high surrogate then a non-u escape", `"\ud800\n"`, errSurrogate},
		{"high surrogate then a BMP escape", `"\ud800\u0041"`, errSurrogate},
		{"two high surrogates", `"\ud800\udbff"`, errSurrogate},
		{"lone low surrogate", `"\udc00"`, errSurrogate},
		{"low then high", `"\udc00\ud800"`, errSurrogate},
		{"lone surrogate in a name", `{"\udfff":1}`, errSurrogate},
		{"invalid UTF-8", "\"\xff\"", errUTF8},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", errUTF8},
		{"overlong UTF-8", "\"\xc0\xaf\"", errUTF8},
		{"truncated UTF-8", "\"\xe2\x82\"", errUTF8},
		{"raw tab", "\"a\tb\"", errControl},
		{"raw NUL in a name", "{\"\x00\":1}", errControl},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), errDepth},
		{"BOM", "\xef\xbb\xbf{}", errSyntax},
		{"vertical tab", "{\v}", errSyntax},
		{"no-break space", "{\u00a0}", errSyntax},
		{"invalid escape", `"\x41"`, errSyntax},
		{"short \\u escape", `"\u12"`, errSyntax},
		{"non-hex \\u escape", `"\u12g4"`, errSyntax},
		{"backslash at the end", `"\`, errSyntax},
		{"unterminated string", `"abc`, errSyntax},
		{"trailing comma in an object", `{"a":1,}`, errSyntax},
		{"trailing comma in an array", `[1,]`, errSyntax},
		{"missing colon", `{"a" 1}`, errSyntax},
		{"name not a string", `{a:1}`, errSyntax},
		{"missing value", `{"a":}`, errSyntax},
		{"leading zero", `01`, errSyntax},
		{"bare minus", `-`, errSyntax},
		{"plus sign", `+1`, errSyntax},
		{"no fraction digits", `1.`, errSyntax},
		{"no exponent digits", `1e+`, errSyntax},
		{"hex number", `0x10`, errSyntax},
		{"NaN", `NaN`, errSyntax},
		{"misspelt literal", `nul`, errSyntax},
		{"literal with a tail", `truex`, errSyntax},
		{"two values", `{} {}`, errSyntax},
		{"empty", ``, errSyntax},
		{"only white space", ` `, errSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Valid([]byte(tc.in))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Valid(%q) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct{ name, in, want, err string }{
		{"plain", `"abc"`, "abc", ""},
		{"empty", `""`, "", ""},
		{"escapes", `"a\"b\\c\/d\be\ff\ng\rh\ti"`, "a\"b\\c/d\be\ff\ng\rh\ti", ""},
		{"unicode escapes", `"\u0041\u00e9\u20AC\ud83d\ude00\uD834\uDD1E"`, "Aé€😀𝄞", ""},
		{"escaped NUL", `"\u0000"`, "\x00", ""},
		{"raw non-ASCII", `"é😀"`, "é😀", ""},
		{"trailing white space", "\"a\" \n", "a", ""},
		{"leading white space", ` "a"`, "", "not a JSON string"},
		{"null", `null`, "", "not a JSON string"},
		{"number", `1`, "", "not a JSON string"},
		{"trailing data", `"a"x`, "", "syntax"},
		{"two strings", `"a""b"`, "", "syntax"},
		{"lone surrogate", `"\ud800"`, "", "lone surrogate"},
		{"invalid UTF-8", "\"a\xffb\"", "", "not UTF-8"},
		{"raw control character", "\"a\nb\"", "", "control character"},
		{"unterminated", `"a`, "", "syntax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := String([]byte(tc.in))
			if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("String(%q) = %q, %v; want %q, error about %q", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{"two", `["a","b\u00e9"]`, []string{"a", "bé"}, ""},
		{"empty", `[ ]`, []string{}, ""},
		{"white space", "[ \"a\" ,\t\"b\" ]\n", []string{"a", "b"}, ""},
		{"not an array", `"a"`, nil, "not a JSON array"},
		{"null", `null`, nil, "not a JSON array"},
		{"null element", `["a",null]`, nil, "array element is not a string"},
		{"number element", `[1]`, nil, "array element is not a string"},
		{"nested array", `[["a"]]`, nil, "array element is not a string"},
		{"trailing comma", `["a",]`, nil, "not a string"},
		{"missing comma", `["a" "b"]`, nil, "syntax"},
		{"unterminated", `["a"`, nil, "syntax"},
		{"trailing data", `["a"]]`, nil, "syntax"},
		{"lone surrogate", `["\udc00"]`, nil, "lone surrogate"},
		{"invalid UTF-8", "[\"\xc3\"]", nil, "not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Strings([]byte(tc.in))
			if tc.err == "" && (err != nil || !slices.Equal(got, tc.want) || got == nil) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Strings(%q) = %q, %v; want %q, error about %q", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestObject(t *testing.T) {
	var names, values []string
	err := Object([]byte(` { "a" : 1 , "\u0062" : {"x":[null]}, "a":"\u00e9" } `), func(name, value []byte) error {
		names, values = append(names, string(name)), append(values, string(value))
		return nil
	})
	if err != nil || !slices.Equal(names, []string{"a", "b", "a"}) || !slices.Equal(values, []string{`1`, `{"x":[null]}`, `"\u00e9"`}) {
		t.Errorf("Object = %v, names %q, values %q", err, names, values)
	}
	stop := errors.New("stop")
	if err := Object([]byte(`{"a":1,"b":2}`), func(name, _ []byte) error { return stop }); err != stop {
		t.Errorf("Object did not return member's error as it is: %v", err)
	}
	for _, tc := range []struct{ name, in, err string }{
		{"array", `[]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"empty", ``, "not a JSON object"},
		{"trailing data", `{} x`, "syntax"},
		{"invalid nested value", `{"a":{"b":tru}}`, "syntax"},
		{"lone surrogate in a nested value", `{"a":["\ud800"]}`, "lone surrogate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Object([]byte(tc.in), func(_, _ []byte) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Object(%q) = %v, want an error about %q", tc.in, err, tc.err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name, in, key string
		want          string
		found         bool
		err           string
	}{
		{"present", `{"a":{"b":1},"c":2}`, "a", `{"b":1}`, true, ""},
		{"escaped name", `{"\u0061":1}`, "a", `1`, true, ""},
		{"absent", `{"a":1}`, "b", "", false, ""},
		{"other case is another name", `{"A":1}`, "a", "", false, ""},
		{"twice", `{"a":1,"b":0,"a":2}`, "a", "", false, "appears twice"},
		{"twice, once escaped", `{"a":1,"\u0061":2}`, "a", "", false, "appears twice"},
		{"other names may repeat", `{"b":1,"b":2,"a":3}`, "a", `3`, true, ""},
		{"not an object", `["a"]`, "a", "", false, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, found, err := Lookup([]byte(tc.in), tc.key)
			if string(v) != tc.want || found != tc.found || (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Lookup(%s, %q) = %s, %v, %v; want %s, %v, error about %q", tc.in, tc.key, v, found, err, tc.want, tc.found, tc.err)
			}
		})
	}
}

func TestStringObject(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		user     string
		pass     string
		err      string
	}{
		{"both", `{"username":"a","password":"b"}`, "a", "b", ""},
		{"other order", `{"password":"b","username":"a"}`, "a", "b", ""},
		{"escaped name", `{"\u0075sername":"a","password":"b"}`, "a", "b", ""},
		{"escaped values", `{"username":"\u00e9\ud83d\ude00","password":"\"\\"}`, "é😀", `"\`, ""},
		{"optional member present", `{"username":"a","password":"b","otp":"1"}`, "a", "b", ""},
		{"duplicate", `{"username":"a","username":"b","password":"c"}`, "", "", `"username" appears twice`},
		{"duplicate, once escaped", `{"username":"a","\u0075sername":"b","password":"c"}`, "", "", `"username" appears twice`},
		{"other case", `{"USERNAME":"a","password":"b"}`, "", "", `a member of 8 bytes that is none of`},
		{"unknown", `{"username":"a","password":"b","admin":true}`, "", "", `a member of 5 bytes that is none of`},
		{"missing", `{"username":"a"}`, "", "", `"password" missing`},
		{"null", `{"username":null,"password":"b"}`, "", "", "not a JSON string"},
		{"object value", `{"username":{"$ne":null},"password":"b"}`, "", "", "not a JSON string"},
		{"lone surrogate", `{"username":"\ud800","password":"b"}`, "", "", "lone surrogate"},
		{"raw control character", "{\"username\":\"a\x01\",\"password\":\"b\"}", "", "", "control character"},
		{"invalid UTF-8", "{\"username\":\"\xff\",\"password\":\"b\"}", "", "", "not UTF-8"},
		{"trailing data", `{"username":"a","password":"b"}{}`, "", "", "syntax"},
		{"array", `["a","b"]`, "", "", "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var user, pass, otp string
			err := StringObject([]byte(tc.in),
				StringField{Name: "username", Dst: &user},
				StringField{Name: "password", Dst: &pass},
				StringField{Name: "otp", Dst: &otp, Optional: true})
			if tc.err == "" && (err != nil || user != tc.user || pass != tc.pass) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("StringObject(%s) = %q, %q, %v; want %q, %q, error about %q", tc.in, user, pass, err, tc.user, tc.pass, tc.err)
			}
		})
	}
	fields := make([]StringField, 65)
	if err := StringObject([]byte(`{}`), fields...); err == nil {
		t.Error("StringObject took 65 fields")
	}
}

type unmarshalInner struct {
	Tier string `json:"tier"`
	Pets []struct {
		Name string
	} `json:"pets"`
}

type unmarshalEmbedded struct {
	Region string `json:"region"`
}

type unmarshalTarget struct {
	unmarshalEmbedded
	TenantID string                    `json:"tenant_id"`
	Plan     *unmarshalInner           `json:"plan"`
	ByName   map[string]unmarshalInner `json:"by_name"`
	Seats    int
	Raw      json.RawMessage `json:"raw"`
	Any      any             `json:"any"`
	Skipped  string          `json:"-"`
	//lint:ignore U1000 an unexported field, which Unmarshal must skip as encoding/json does
	secret string
}

func TestUnmarshal(t *testing.T) {
	for _, tc := range []struct{ name, in, err string }{
		{"exact names", `{"tenant_id":"t","Seats":2,"region":"eu","plan":{"tier":"gold","pets":[{"Name":"x"}]},"by_name":{"A":{"tier":"b"}},"raw":{"TIER":1},"any":{"Tenant_ID":1},"other":{"x":1,"y":{"x":2}}}`, ""},
		{"duplicate at the top", `{"tenant_id":"a","tenant_id":"b"}`, `"tenant_id" appears twice`},
		{"duplicate of an unknown member", `{"x":1,"x":2}`, `"x" appears twice`},
		{"duplicate deep in an unknown member", `{"x":[{"y":{"z":1,"z":2}}]}`, `"z" appears twice`},
		{"duplicate, once escaped", `{"tenant_id":"a","\u0074enant_id":"b"}`, "appears twice"},
		{"case variants of an unknown member", `{"x":{"ab":1,"AB":2}}`, "differ only in letter case"},
		{"case variants under Unicode folding", `{"k":1,"\u212a":2}`, "differ only in letter case"},
		{"case variant of a field", `{"TENANT_ID":"a"}`, `matches field "tenant_id"`},
		{"case variant of a Go-named field", `{"seats":2}`, `matches field "Seats"`},
		{"case variant of a promoted field", `{"Region":"eu"}`, `matches field "region"`},
		{"case variant in a nested struct", `{"plan":{"Tier":"gold"}}`, `matches field "tier"`},
		{"case variant in a slice element", `{"plan":{"pets":[{"name":"x"}]}}`, `matches field "Name"`},
		{"case variant in a map value", `{"by_name":{"a":{"TIER":"b"}}}`, `matches field "tier"`},
		{"lone surrogate anywhere", `{"other":["\ud800"]}`, "lone surrogate"},
		{"invalid UTF-8 anywhere", "{\"other\":\"\xff\"}", "not UTF-8"},
		{"wrong type, from encoding/json", `{"tenant_id":1}`, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v unmarshalTarget
			err := Unmarshal([]byte(tc.in), &v)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Unmarshal(%s) = %v, want an error about %q", tc.in, err, tc.err)
			}
		})
	}
	var v unmarshalTarget
	if err := Unmarshal([]byte(`{"tenant_id":"t","plan":{"tier":"gold"},"Seats":3}`), &v); err != nil || v.TenantID != "t" || v.Plan.Tier != "gold" || v.Seats != 3 {
		t.Errorf("Unmarshal = %+v, %v", v, err)
	}
	var m map[string]any
	if err := Unmarshal([]byte(`{"a":1,"A":2}`), &m); err == nil {
		t.Error("case variants accepted into a map")
	}
}

func TestFoldKeyIsEqualFold(t *testing.T) {
	words := []string{"a", "A", "k", "K", "\u212a", "s", "S", "\u017f", "ß", "ẞ", "σ", "Σ", "ς", "é", "É", "ǅ", "ǆ", "Ǆ", "1", "_"}
	for _, a := range words {
		for _, b := range words {
			if got, want := foldKey([]byte(a)) == foldKey([]byte(b)), strings.EqualFold(a, b); got != want {
				t.Errorf("foldKey(%q) == foldKey(%q) is %v, EqualFold is %v", a, b, got, want)
			}
		}
	}
}

// FuzzStrictJSON checks the package against encoding/json. It never
// panics; what it accepts encoding/json accepts, and on UTF-8 text it
// refuses only what encoding/json refuses or a lone surrogate escape
// (which encoding/json turns into U+FFFD). On an accepted object, member
// names and string values decode as encoding/json decodes them, Unmarshal
// agrees with encoding/json when names are unique and caseless-distinct,
// and StringObject agrees with a DisallowUnknownFields decode when its two
// members are there once each.
func FuzzStrictJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a":"b","c":["d","\u00e9"],"e":{"f":[1,2.5e3,true,false,null]}}`,
		`{"username":"a","password":"b"}`,
		`{"\u0075sername":"a","password":"\ud83d\ude00"}`,
		`{"username":"a","username":"b","password":"c"}`,
		`{"USERNAME":"a","password":"b"}`,
		`"\ud800"`, `"\udc00\ud800"`, `"\ud800\u0041"`, "\"\xff\"", "\"\t\"",
		"\xef\xbb\xbf{}", "{\v}", `[1,]`, `{"a":1,}`, `01`, `-0`, `1e5`, `nul`,
		`{"k":1,"\u212a":2}`, `[[[[]]]]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		err := Valid(in)
		if err == nil && !json.Valid(in) {
			t.Fatalf("Valid accepted %q, which encoding/json refuses", in)
		}
		if err == nil && !utf8.Valid(in) {
			t.Fatalf("Valid accepted %q, which is not UTF-8", in)
		}
		if err != nil && utf8.Valid(in) && json.Valid(in) && !errors.Is(err, errSurrogate) {
			t.Fatalf("Valid(%q) = %v, but encoding/json accepts it", in, err)
		}
		if err != nil {
			if Object(in, func(_, _ []byte) error { return nil }) == nil {
				t.Fatalf("Object accepted %q, which Valid refuses", in)
			}
			var a, b string
			if StringObject(in, StringField{Name: "username", Dst: &a}, StringField{Name: "password", Dst: &b}) == nil {
				t.Fatalf("StringObject accepted %q, which Valid refuses", in)
			}
			return
		}
		if bytes.IndexByte(bytes.TrimLeft(in, " \t\r\n"), '{') != 0 {
			if s, err := String(bytes.TrimLeft(in, " \t\r\n")); err == nil {
				var want string
				if json.Unmarshal(in, &want) != nil || s != want {
					t.Fatalf("String(%q) = %q, encoding/json %q", in, s, want)
				}
			}
			return
		}
		// Member names and string values, as encoding/json reads them.
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.Token() // {
		var wantNames, wantValues []string
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			wantNames = append(wantNames, tok.(string))
			var s string
			if json.Unmarshal(raw, &s) == nil {
				wantValues = append(wantValues, s)
			} else {
				wantValues = append(wantValues, "\x00not a string")
			}
		}
		var names, values []string
		err = Object(in, func(name, value []byte) error {
			names = append(names, string(name))
			s, err := String(value)
			if err != nil {
				s = "\x00not a string"
			}
			values = append(values, s)
			return nil
		})
		if err != nil || !slices.Equal(names, wantNames) || !slices.Equal(values, wantValues) {
			t.Fatalf("Object(%q) = %v:\nnames  %q\nvalues %q\nencoding/json\nnames  %q\nvalues %q", in, err, names, values, wantNames, wantValues)
		}

		distinct := true
		keys := map[string]bool{}
		for _, n := range names {
			k := foldKey([]byte(n))
			distinct = distinct && !keys[k]
			keys[k] = true
		}
		var got, want map[string]any
		gotErr, wantErr := Unmarshal(in, &got), json.Unmarshal(in, &want)
		if gotErr == nil && (wantErr != nil || !reflect.DeepEqual(got, want)) {
			t.Fatalf("Unmarshal(%q) = %v, %v; encoding/json %v, %v", in, got, gotErr, want, wantErr)
		}
		if gotErr != nil && !strings.Contains(gotErr.Error(), "appears twice") && !strings.Contains(gotErr.Error(), "letter case") {
			t.Fatalf("Unmarshal(%q) = %v, but encoding/json accepts it", in, gotErr)
		}
		if !distinct && gotErr == nil {
			t.Fatalf("Unmarshal accepted %q, whose names repeat under case folding", in)
		}
		// Into values that encoding/json decodes through (an interface
		// holding a pointer, slice elements): what Unmarshal accepts,
		// encoding/json decodes alike.
		target := func() *followTarget {
			return &followTarget{Ext: &unmarshalInner{}, List: []any{&unmarshalInner{}}, Ptr: new(any), followEmbedded: &followEmbedded{Emb: &unmarshalTarget{}}}
		}
		gotT, wantT := target(), target()
		if Unmarshal(in, gotT) == nil && (json.Unmarshal(in, wantT) != nil || !reflect.DeepEqual(gotT, wantT)) {
			t.Fatalf("Unmarshal(%q) into followTarget = %+v; encoding/json %+v", in, gotT, wantT)
		}

		var user, pass string
		soErr := StringObject(in, StringField{Name: "username", Dst: &user}, StringField{Name: "password", Dst: &pass})
		if slices.Equal(slices.Sorted(slices.Values(names)), []string{"password", "username"}) {
			var req struct{ Username, Password string }
			jd := json.NewDecoder(bytes.NewReader(in))
			jd.DisallowUnknownFields()
			jErr := jd.Decode(&req)
			if (soErr == nil) != (jErr == nil) || soErr == nil && (user != req.Username || pass != req.Password) {
				t.Fatalf("StringObject(%q) = %q, %q, %v; encoding/json %q, %q, %v", in, user, pass, soErr, req.Username, req.Password, jErr)
			}
		} else if soErr == nil {
			t.Fatalf("StringObject accepted %q with members %q", in, names)
		}
	})
}

type followEmbedded struct {
	Emb any `json:"emb"`
}

type followTarget struct {
	*followEmbedded
	Ext  any            `json:"ext"`
	List []any          `json:"list"`
	Arr  [1]any         `json:"arr"`
	M    map[string]any `json:"m"`
	Ptr  *any           `json:"ptr"`
}

// selfUnmarshaler decodes itself as it likes: no fields to match.
type selfUnmarshaler struct{ raw string }

func (s *selfUnmarshaler) UnmarshalJSON(b []byte) error { s.raw = string(b); return nil }

// TestUnmarshalFollowsValues: encoding/json decodes into the struct behind
// a non-nil pointer held in an interface (and into the elements a slice or
// array already has), matching its names by case; so Unmarshal matches
// them exactly there too.
func TestUnmarshalFollowsValues(t *testing.T) {
	inner := func(v **unmarshalInner) any { *v = &unmarshalInner{}; return *v }
	cases := []struct {
		name string
		in   string
		// target returns the value to decode into and the inner struct
		// whose Tier a case variant would reach (nil: none).
		target func() (any, *unmarshalInner)
		err    string // "" when accepted
	}{
		{"interface holding a pointer", `{"ext":{"TIER":"evil"}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{Ext: inner(&p)}, p
		}, `matches field "tier"`},
		{"interface holding a pointer, exact name", `{"ext":{"tier":"gold"}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{Ext: inner(&p)}, p
		}, ""},
		{"interface holding a pointer to a pointer", `{"ext":{"TIER":"evil"}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			inner(&p)
			return &followTarget{Ext: &p}, p
		}, `matches field "tier"`},
		{"interface holding a pointer to an interface holding a pointer", `{"ext":{"TIER":"evil"}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			var i any = inner(&p)
			return &followTarget{Ext: &i}, p
		}, `matches field "tier"`},
		{"pointer to an interface holding a pointer", `{"ptr":{"TIER":"evil"}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			var i any = inner(&p)
			return &followTarget{Ptr: &i}, p
		}, `matches field "tier"`},
		{"deep in the struct behind the interface", `{"ext":{"pets":[{"name":"x"}]}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{Ext: inner(&p)}, nil
		}, `matches field "Name"`},
		{"slice element holding a pointer", `{"list":[{"TIER":"evil"}]}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{List: []any{inner(&p)}}, p
		}, `matches field "tier"`},
		{"slice element past the length, within the capacity", `{"list":[{"TIER":"evil"}]}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			l := []any{inner(&p)}
			return &followTarget{List: l[:0]}, p
		}, `matches field "tier"`},
		{"second slice element", `{"list":[{"x":1},{"TIER":"evil"}]}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{List: []any{nil, inner(&p)}}, p
		}, `matches field "tier"`},
		{"array element holding a pointer", `{"arr":[{"TIER":"evil"}]}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{Arr: [1]any{inner(&p)}}, p
		}, `matches field "tier"`},
		{"interface in an embedded struct behind a pointer", `{"emb":{"TIER":"evil"}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{followEmbedded: &followEmbedded{Emb: inner(&p)}}, p
		}, `matches field "tier"`},
		{"the target itself an interface holding a pointer", `{"TIER":"evil"}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			var i any = inner(&p)
			return &i, p
		}, `matches field "tier"`},
		// encoding/json decodes a fresh value into these: maps with exact
		// keys, no fields.
		{"interface holding a struct value", `{"ext":{"TIER":"x"}}`, func() (any, *unmarshalInner) {
			return &followTarget{Ext: unmarshalInner{}}, nil
		}, ""},
		{"interface holding a nil pointer", `{"ext":{"TIER":"x"}}`, func() (any, *unmarshalInner) {
			return &followTarget{Ext: (*unmarshalInner)(nil)}, nil
		}, ""},
		{"map element holding a pointer", `{"m":{"k":{"TIER":"x"}}}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{M: map[string]any{"k": inner(&p)}}, nil
		}, ""},
		{"interface holding its own address", `{"TIER":"x"}`, func() (any, *unmarshalInner) {
			var i any
			i = &i
			return &i, nil
		}, ""},
		{"interface holding an Unmarshaler", `{"ext":{"TIER":"x"}}`, func() (any, *unmarshalInner) {
			return &followTarget{Ext: &selfUnmarshaler{}}, nil
		}, ""},
		{"null for the interface", `{"ext":null}`, func() (any, *unmarshalInner) {
			var p *unmarshalInner
			return &followTarget{Ext: inner(&p)}, nil
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, p := tc.target()
			err := Unmarshal([]byte(tc.in), v)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Unmarshal(%s) = %v, want an error about %q", tc.in, err, tc.err)
			}
			if p == nil {
				return
			}
			if tc.err != "" && p.Tier != "" {
				t.Errorf("refused, yet Tier = %q", p.Tier)
			}
			// The control: encoding/json alone fills the field the case
			// variant names.
			v2, p2 := tc.target()
			if err := json.Unmarshal([]byte(tc.in), v2); err != nil || p2.Tier == "" {
				t.Errorf("control: json.Unmarshal(%s) = %v, Tier %q; the case does not reach the field", tc.in, err, p2.Tier)
			}
		})
	}
}

// TestUnmarshalIndirectionBound: a cycle of interfaces, on which
// encoding/json itself would loop, is refused.
func TestUnmarshalIndirectionBound(t *testing.T) {
	var a, b any
	a, b = &b, &a
	if err := Unmarshal([]byte(`{"x":1}`), &a); err == nil || !strings.Contains(err.Error(), "pointers and interfaces in a row") {
		t.Errorf("Unmarshal into a cycle of interfaces = %v, want a refusal", err)
	}
}

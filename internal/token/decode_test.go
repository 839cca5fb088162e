package token

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPayloadDecodeIsStrict(t *testing.T) {
	refused := []struct{ name, in, why string }{
		{"duplicate exp", `{"exp":1800000300,"exp":1900000000}`, "appears twice"},
		{"duplicate sub", `{"sub":"a","exp":1,"sub":"b"}`, "appears twice"},
		{"invalid UTF-8 in sub", "{\"sub\":\"a\xffb\",\"exp\":1}", "not UTF-8"},
		{"invalid UTF-8 in a role", "{\"roles\":[\"ad\xc0min\"],\"exp\":1}", "not UTF-8"},
		{"sub number", `{"sub":7}`, "not a JSON string"},
		{"roles string", `{"roles":"admin"}`, "not a JSON array"},
		{"roles trailing comma", `{"roles":["a",]}`, "syntax"},
		{"exp null", `{"exp":null}`, "NumericDate"},
		{"exp string", `{"exp":"1800000300"}`, "NumericDate"},
		{"aud null", `{"aud":null}`, "neither a string nor an array"},
		{"not an object", `["sub"]`, "not a JSON object"},
		{"trailing data", `{"exp":1} x`, "syntax"},
		{"missing colon", `{"exp" 1}`, "syntax"},
		{"missing comma", `{"exp":1 "sub":"a"}`, "syntax"},
		{"trailing comma", `{"exp":1,}`, "syntax"},
		{"unterminated", `{"exp":1`, "syntax"},
		{"unterminated string", `{"sub":"a`, "syntax"},
		{"bad escape in a name", `{"\x65xp":1}`, "syntax"},
		{"lone high surrogate in sub", `{"sub":"\ud800","exp":1}`, "lone surrogate"},
		{"high surrogate then a letter", `{"sub":"\ud800x","exp":1}`, "lone surrogate"},
		{"high surrogate then a high surrogate", `{"sub":"\ud800\ud800","exp":1}`, "lone surrogate"},
		{"lone low surrogate in sub", `{"sub":"\udc00","exp":1}`, "lone surrogate"},
		{"lone surrogate in a role", `{"roles":["a","\udfff"],"exp":1}`, "lone surrogate"},
		{"lone surrogate in aud", `{"aud":"\ud83d","exp":1}`, "lone surrogate"},
		{"lone surrogate in a string id", `{"id":"\ud800"}`, "lone surrogate"},
		{"lone surrogate in a claim name", `{"\ud800":3}`, "lone surrogate"},
		{"lone surrogate in an unknown claim", `{"x":{"y":["\ud800"]},"exp":1}`, "lone surrogate"},
		{"invalid UTF-8 in a string id", "{\"id\":\"u-\xff\"}", "not UTF-8"},
		{"invalid UTF-8 in an unknown claim", "{\"x\":\"\xc0\"}", "not UTF-8"},
		{"UTF-8 encoded surrogate", "{\"sub\":\"\xed\xa0\x80\"}", "not UTF-8"},
		{"raw control character", "{\"sub\":\"a\tb\"}", "control character"},
		{"BOM", "\xef\xbb\xbf{\"exp\":1}", "not a JSON object"},
		{"literal misspelt in an unknown claim", `{"x":nul}`, "syntax"},
		{"number with a leading zero", `{"x":01}`, "syntax"},
		// A claim in another letter case: encoding/json (golang-jwt's
		// RegisteredClaims, a Go service's struct) would read it as the
		// claim, the last one winning.
		{"EXP", `{"EXP":1,"sub":"u"}`, `"EXP" is "exp" in another letter case`},
		{"Sub after sub", `{"sub":"alice","Sub":"admin"}`, `"Sub" is "sub" in another letter case`},
		{"AUD", `{"AUD":"other-service"}`, "in another letter case"},
		{"ROLES", `{"ROLES":["admin"]}`, "in another letter case"},
		{"long s in sub", `{"ſub":"admin"}`, "in another letter case"},
		{"ID", `{"ID":"1"}`, "in another letter case"},
		{"Username", `{"Username":"root"}`, "in another letter case"},
		{"an escaped name in another letter case", `{"\u0045XP":1}`, "in another letter case"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			var p Payload
			err := p.UnmarshalJSON([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("UnmarshalJSON(%q) = %v, want an error about %q", tc.in, err, tc.why)
			}
		})
	}

	accepted := []struct {
		name string
		in   string
		want Payload
	}{
		{"other names are not folded", `{"exps":1,"subject":"x","sub":"u"}`, Payload{Subject: "u"}},
		{"escapes", `{"sub":"a\"b\\c\u00e9\ud83d\ude00","username":"\/x"}`, Payload{Subject: "a\"b\\cé😀", Username: "/x"}},
		{"null strings stay absent", `{"sub":null,"roles":null,"scope":null}`, Payload{}},
		{"unknown claims of every shape are skipped", `{"x":{"a":[1,{"b":"}]\"{"}],"c":null},"y":[[],{}],"z":-1.5e3,"t":true,"sub":"u"}`, Payload{Subject: "u"}},
		{"whitespace", " {\n\t\"sub\" : \"u\" ,\r\n \"roles\" : [ \"a\" , \"b\" ] } ", Payload{Subject: "u", Roles: []string{"a", "b"}}},
		{"empty roles", `{"roles":[]}`, Payload{Roles: []string{}}},
		{"id integer", `{"id":7}`, Payload{LegacyID: "7"}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) { checkDecodes(t, tc.in, tc.want) })
	}
}

// TestPayloadDecodeEscapedNames: a claim name is matched after its escapes
// are undone, as encoding/json and every other JWT library match it, so
// "\u0065xp" is exp: not an unknown claim that hides a second exp, an aud
// the audience check never sees or an nbf that is never checked.
func TestPayloadDecodeEscapedNames(t *testing.T) {
	for _, tc := range []struct{ name, in, why string }{
		{"duplicate exp, second escaped", `{"exp":1,"\u0065xp":2}`, "appears twice"},
		{"duplicate exp, first escaped", `{"\u0065xp":1,"exp":2}`, "appears twice"},
		{"duplicate aud, all escaped", `{"\u0061\u0075\u0064":"a","\u0061ud":"b"}`, "appears twice"},
		{"escaped exp of the wrong type", `{"\u0065xp":"1"}`, "NumericDate"},
		{"escaped aud of the wrong type", `{"\u0061ud":1}`, "neither a string nor an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Payload
			err := p.UnmarshalJSON([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("UnmarshalJSON(%s) = %v, want an error about %q", tc.in, err, tc.why)
			}
		})
	}
	for _, tc := range []struct {
		name string
		in   string
		want Payload
	}{
		{"aud", `{"\u0061ud":"x"}`, Payload{Audience: Audience{"x"}}},
		{"nbf", `{"\u006ebf":1900000000}`, Payload{NotBefore: Time{time.Unix(1900000000, 0)}}},
		{"escaped slash and solidus", `{"rol\u0065s":["a"],"\/x":1,"s\u0063ope":"s"}`, Payload{Roles: []string{"a"}, Scope: "s"}},
		{"escapes that make no claim name", `{"e\"xp":2,"\ud83d\ude00":3}`, Payload{}},
		{"escaped string id", `{"id":"u\u002d7\ud83d\ude00"}`, Payload{LegacyID: "u-7😀"}},
		{"every escape", `{"sub":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud834\udd1e"}`, Payload{Subject: "\"\\/\b\f\n\r\tAé€𝄞"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkDecodes(t, tc.in, tc.want) })
	}
}

// plainPayload decodes with encoding/json's reflection, as Payload did
// before it had a decoder of its own.
type plainPayload Payload

// FuzzPayloadDecode checks the decoder against encoding/json: on any input
// it returns without panicking, and on valid JSON objects whose claim names
// are not ambiguous for encoding/json (no case variants or duplicates of the
// names Payload holds) and whose text is UTF-8, the two agree on whether the
// payload is accepted and on every field.
func FuzzPayloadDecode(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"i","sub":"s","aud":["a","b"],"exp":1800000300,"nbf":1,"iat":2.5,"jti":"j","username":"u","roles":["r"],"scope":"a b","role":"x","id":7}`,
		`{"aud":"a","id":"x","roles":null,"extra":{"k":[1,2,{"m":"\"}"}]}}`,
		`{"exp":"1","sub":1,"roles":[1]}`,
		`{"EXP":1,"exp":2}`,
		`{"sub":"a","sub":"b"}`,
		`{"sub":"\ud800"}`,
		`{"\u0065xp":1}`,
		`{"exp":1,"\u0065xp":2}`,
		`{"\u0061ud":"a"}`,
		`{"roles":[null]}`, `{"aud":["a",null]}`, `[]`, `null`, `{}`, `{"a":}`, `{"exp":1e400}`, `{"id":1.5}`,
	} {
		f.Add([]byte(seed))
	}
	known := map[string]bool{"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true, "username": true, "roles": true, "scope": true, "role": true, "id": true}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got Payload
		gotErr := got.UnmarshalJSON(in)
		if !json.Valid(in) || !utf8.Valid(in) || bytes.IndexByte(bytes.TrimSpace(in), '{') != 0 {
			return
		}
		// Top-level names, as encoding/json would match them.
		var members map[string]json.RawMessage
		if json.Unmarshal(in, &members) != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.Token() // {
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return
			}
			name := tok.(string)
			for k := range known {
				if strings.EqualFold(name, k) && (name != k || seen[k]) {
					return // ambiguous for encoding/json: it would match this name too
				}
			}
			seen[name] = true
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return
			}
		}
		var want plainPayload
		wantErr := json.Unmarshal(in, &want)
		if gotErr != nil && wantErr == nil && (strings.Contains(gotErr.Error(), "array element is not a string") || strings.Contains(gotErr.Error(), "lone surrogate") || strings.Contains(gotErr.Error(), "in another letter case")) {
			// Deliberately stricter: encoding/json takes a null element of a
			// string array as "", and a lone surrogate escape as U+FFFD.
			return
		}
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s: decoder error %v, encoding/json error %v", in, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(claimsOf(got), claimsOf(Payload(want))) {
			t.Fatalf("%s:\ndecoder       %+v\nencoding/json %+v", in, got, Payload(want))
		}
	})
}

// checkDecodes asserts that in decodes without error to want.
func checkDecodes(t *testing.T, in string, want Payload) {
	t.Helper()
	var p Payload
	if err := p.UnmarshalJSON([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(claimsOf(p), want) {
		t.Errorf("got %+v, want %+v", p, want)
	}
}

// claimsOf is p without the storage it decodes into: the claims alone.
func claimsOf(p Payload) Payload {
	p.own, p.seen, p.audBuf, p.rolesBuf = false, 0, [2]string{}, [4]string{}
	return p
}

// BenchmarkPayloadDecode compares the decoder with encoding/json's
// reflection on the payload of a typical access token, the figures behind
// UnmarshalJSON's doc comment.
func BenchmarkPayloadDecode(b *testing.B) {
	in := []byte(`{"iss":"https://auth.example.com","sub":"8f14e45f-ceea-467f-a0e6-0a1d0c8b4b6a","aud":"orders-api","exp":1800000900,"iat":1800000000,"jti":"b5f8c1a2d3e4f5a6b7c8d9e0","username":"alice@example.com","roles":["admin","user"]}`)
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p Payload
			if err := p.UnmarshalJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict-views", func(b *testing.B) {
		// As Verify decodes: the string claims are views of its buffer.
		b.ReportAllocs()
		for b.Loop() {
			p := Payload{own: true}
			if err := p.UnmarshalJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p plainPayload
			if err := json.Unmarshal(in, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

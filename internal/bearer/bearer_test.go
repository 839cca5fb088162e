package bearer

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const jwtSample = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl-_"

func TestParse(t *testing.T) {
	cases := []struct {
		name   string
		value  string
		maxLen int
		want   string
		err    error
	}{
		{"plain", "Bearer " + jwtSample, 0, jwtSample, nil},
		{"lowercase scheme", "bearer abc", 0, "abc", nil},
		{"uppercase scheme", "BEARER abc", 0, "abc", nil},
		{"mixed-case scheme", "BeArEr abc", 0, "abc", nil},
		{"several spaces", "Bearer    abc", 0, "abc", nil},
		{"all b64token characters", "Bearer aZ09-._~+/==", 0, "aZ09-._~+/==", nil},
		{"padding only at the end", "Bearer abc==", 0, "abc==", nil},
		{"exactly maxLen", "Bearer abcd", 4, "abcd", nil},
		{"empty", "", 0, "", ErrOtherScheme},
		{"Basic", "Basic dXNlcjpwYXNz", 0, "", ErrOtherScheme},
		{"Digest", `Digest username="a"`, 0, "", ErrOtherScheme},
		{"scheme prefix of another", "Bearerx abc", 0, "", ErrOtherScheme},
		{"short scheme", "Bear abc", 0, "", ErrOtherScheme},
		{"other scheme with a dash", "Bearer-x abc", 0, "", ErrOtherScheme},
		{"token without a scheme", jwtSample, 0, "", ErrOtherScheme},
		{"tab after scheme", "Bearer\tabc", 0, "", ErrMalformed},
		{"comma after scheme", "Bearer,abc", 0, "", ErrMalformed},
		{"comma and space after scheme", "Bearer, abc", 0, "", ErrMalformed},
		{"no-break space after scheme", "Bearer\u00a0abc", 0, "", ErrMalformed},
		{"equals after scheme", "Bearer=abc", 0, "", ErrMalformed},
		{"NUL after scheme", "Bearer\x00abc", 0, "", ErrMalformed},
		{"CR LF after scheme", "Bearer\r\nabc", 0, "", ErrMalformed},
		{"leading space", " Bearer abc", 0, "", ErrMalformed},
		{"leading tab", "\tBearer abc", 0, "", ErrMalformed},
		{"Kelvin sign is not k", "\u212aearer abc", 0, "", ErrMalformed},
		{"scheme only", "Bearer", 0, "", ErrMalformed},
		{"scheme and space", "Bearer ", 0, "", ErrMalformed},
		{"scheme and spaces", "Bearer    ", 0, "", ErrMalformed},
		{"two tokens", "Bearer a b", 0, "", ErrMalformed},
		{"trailing space", "Bearer abc ", 0, "", ErrMalformed},
		{"comma", "Bearer abc,def", 0, "", ErrMalformed},
		{"comma and next credential", "Bearer abc, Basic x", 0, "", ErrMalformed},
		{"quoted", `Bearer "abc"`, 0, "", ErrMalformed},
		{"auth-param syntax", `Bearer realm="x"`, 0, "", ErrMalformed},
		{"padding only", "Bearer ===", 0, "", ErrMalformed},
		{"padding inside", "Bearer ab=c", 0, "", ErrMalformed},
		{"padded segment", "Bearer ab=.cd", 0, "", ErrMalformed},
		{"NUL", "Bearer abc\x00", 0, "", ErrMalformed},
		{"LF", "Bearer abc\n", 0, "", ErrMalformed},
		{"CR inside", "Bearer ab\rc", 0, "", ErrMalformed},
		{"tab inside", "Bearer ab\tc", 0, "", ErrMalformed},
		{"DEL", "Bearer abc\x7f", 0, "", ErrMalformed},
		{"non-ASCII", "Bearer abcé", 0, "", ErrMalformed},
		{"percent-encoded", "Bearer abc%2E", 0, "", ErrMalformed},
		{"one over maxLen", "Bearer abcde", 4, "", ErrTooLong},
		{"over maxLen even if malformed", "Bearer a b c", 3, "", ErrTooLong},
		{"100000 dots over bound", "Bearer " + strings.Repeat(".", 100000), 4096, "", ErrTooLong},
		{"100000 dots without bound", "Bearer " + strings.Repeat(".", 100000), 0, strings.Repeat(".", 100000), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.value, tc.maxLen)
			if got != tc.want || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Errorf("Parse(%.40q, %d) = %.40q, %v; want %.40q, %v", tc.value, tc.maxLen, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestToken(t *testing.T) {
	cases := []struct {
		name   string
		tok    string
		maxLen int
		err    error
	}{
		{"jwt", jwtSample, 0, nil},
		{"bounded", jwtSample, len(jwtSample), nil},
		{"one over", jwtSample, len(jwtSample) - 1, ErrTooLong},
		{"empty", "", 0, ErrMalformed},
		{"with scheme", "Bearer " + jwtSample, 0, ErrMalformed},
		{"leading space", " " + jwtSample, 0, ErrMalformed},
		{"semicolon", "abc;def", 0, ErrMalformed},
		{"padding only", "=", 0, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Token(tc.tok, tc.maxLen)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Token(%q, %d) error = %v, want %v", tc.tok, tc.maxLen, err, tc.err)
			}
			if err == nil && got != tc.tok {
				t.Errorf("Token(%q) = %q", tc.tok, got)
			}
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	v := "Bearer " + jwtSample
	if n := testing.AllocsPerRun(100, func() { Parse(v, 4096) }); n != 0 {
		t.Errorf("Parse allocates %v times", n)
	}
}

// isB64Token reports whether s matches 1*( ALPHA / DIGIT / "-" / "." / "_"
// / "~" / "+" / "/" ) *"=", written independently of tokenChars.
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for _, r := range body {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/", r) {
			return false
		}
	}
	return true
}

// swapCase flips the case of the ASCII letters in s.
func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "Bearer", "Bearer ", "Bearer a b", "Bearer  tok", "bearer tok", "BEARER tok",
		"Basic dXNlcjpwYXNz", "Bearerx tok", "Bearer\ttok", "Bearer tok,x", "Bearer tok\x00",
		"Bearer tok\n", "Bearer a=b", "Bearer abc==", "Bearer ===", "Bearer " + jwtSample,
		"Bearer " + strings.Repeat(".", 5000), `Bearer "x"`, "Bearer é", "\u212aearer x",
		"Bearer,x", "Bearer\u00a0x", " Bearer x", "Bearer-x y",
	} {
		f.Add(s, 0)
		f.Add(s, 16)
		f.Add(s, 4096)
	}
	f.Fuzz(func(t *testing.T, value string, maxLen int) {
		tok, err := Parse(value, maxLen)
		if err != nil {
			if tok != "" {
				t.Fatalf("Parse(%q) returned %q with error %v", value, tok, err)
			}
			if !errors.Is(err, ErrOtherScheme) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLong) {
				t.Fatalf("Parse(%q): unknown error %v", value, err)
			}
		} else {
			switch {
			case !strings.HasSuffix(value, tok):
				t.Fatalf("token %q is not the end of %q", tok, value)
			case maxLen > 0 && len(tok) > maxLen:
				t.Fatalf("token of %d bytes exceeds bound %d", len(tok), maxLen)
			case !isB64Token(tok):
				t.Fatalf("token %q is not a b64token", tok)
			case !strings.EqualFold(value[:6], "bearer"):
				t.Fatalf("accepted scheme %q", value[:6])
			case strings.Trim(value[6:len(value)-len(tok)], " ") != "" || len(value)-len(tok) < 7:
				t.Fatalf("between scheme and token of %q: want one or more spaces only", value)
			}
		}
		// A value that starts with the scheme name and a byte that cannot
		// continue a scheme name is ours: never another scheme.
		if len(value) > 6 && strings.EqualFold(value[:6], "bearer") && !isSchemeChar(value[6]) && errors.Is(err, ErrOtherScheme) {
			t.Fatalf("Parse(%q) = ErrOtherScheme; a Bearer header must be accepted or malformed", value)
		}
		// Credentials is Parse but for the token's characters: the same
		// answer when Parse accepts, and when Parse refuses, either the
		// same refusal or a token that Token refuses.
		cred, cerr := Credentials(value, maxLen)
		switch {
		case err == nil && (cerr != nil || cred != tok):
			t.Fatalf("Credentials(%q) = %q, %v; Parse accepted %q", value, cred, cerr, tok)
		case err != nil && cerr == nil:
			if _, terr := Token(cred, maxLen); terr != err {
				t.Fatalf("Credentials(%q) = %q, whose Token error %v is not Parse's %v", value, cred, terr, err)
			}
		case err != nil && cerr != err:
			t.Fatalf("Credentials(%q) refused with %v; Parse with %v", value, cerr, err)
		}
		// The scheme is case-insensitive: flipping the case of the first six
		// bytes changes nothing.
		if len(value) >= 6 {
			tok2, err2 := Parse(swapCase(value[:6])+value[6:], maxLen)
			if tok2 != tok || err2 != err {
				t.Fatalf("case-swapped scheme: %q, %v; original %q, %v", tok2, err2, tok, err)
			}
		}
	})
}

func TestQueryToken(t *testing.T) {
	const name = "access_token"
	tok := jwtSample
	cases := []struct {
		name  string
		query string
		tok   string
		found bool
		err   error
	}{
		{"empty", "", "", false, nil},
		{"absent", "a=1&b=2", "", false, nil},
		{"other name", "token=" + tok, "", false, nil},
		{"prefix of the name", "access_tokenx=" + tok, "", false, nil},
		{"name as a value", "x=access_token", "", false, nil},
		{"bad escape in another value", "q=100%&x=%zz", "", false, nil},
		{"present", name + "=" + tok, tok, true, nil},
		{"among others", "a=1&" + name + "=" + tok + "&b=2", tok, true, nil},
		{"empty pairs around", "&&" + name + "=" + tok + "&&", tok, true, nil},
		{"escaped key", "access%5Ftoken=" + tok, tok, true, nil},
		{"escaped value", name + "=" + strings.Replace(tok, ".", "%2E", 1), tok, true, nil},
		{"semicolon after the value", name + "=" + tok + ";x", tok, true, nil},
		{"semicolon before the key", "x;" + name + "=" + tok, tok, true, nil},
		{"empty value", name + "=", "", true, ErrMalformed},
		{"no equals sign", name, "", true, ErrMalformed},
		{"value with a space", name + "=a+b", "", true, ErrMalformed},
		{"value not a token", name + "=a,b", "", true, ErrMalformed},
		{"value too long", name + "=" + strings.Repeat("a", 4097), "", true, ErrTooLong},
		{"twice", name + "=" + tok + "&" + name + "=" + tok, "", true, ErrRepeated},
		{"twice, once escaped", name + "=" + tok + "&access%5ftoken=" + tok, "", true, ErrRepeated},
		{"twice, across a semicolon", name + "=" + tok + ";" + name + "=x", "", true, ErrRepeated},
		{"twice, one empty", name + "=&" + name + "=" + tok, "", true, ErrRepeated},
		{"twice, one with a bad escape", name + "=" + tok + "&" + name + "=%zz", "", true, ErrRepeated},
		{"bad escape in the value", name + "=%zz" + tok, "", true, ErrBadEscape},
		{"truncated escape in the value", name + "=" + tok + "%4", "", true, ErrBadEscape},
		{"bad escape in a key", "access_token%zz=" + tok, "", true, ErrBadEscape},
		{"bad escape in another key", "x%=1&" + name + "=" + tok, "", true, ErrBadEscape},
		{"bad escape in a key without value", "%", "", true, ErrBadEscape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := QueryToken(tc.query, name, 4096)
			if got != tc.tok || found != tc.found || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Errorf("QueryToken(%q) = %.20q, %v, %v; want %.20q, %v, %v", tc.query, got, found, err, tc.tok, tc.found, tc.err)
			}
		})
	}
}

func TestQueryTokenDoesNotAllocate(t *testing.T) {
	for _, q := range []string{
		"page=2&sort=name%20asc&filter=a+b",
		"page=2&access_token=" + jwtSample,
		"access%5Ftoken=" + jwtSample,
	} {
		if n := testing.AllocsPerRun(100, func() { QueryToken(q, "access_token", 4096) }); n != 0 {
			t.Errorf("QueryToken(%.30q…) allocates %v times", q, n)
		}
	}
}

func FuzzQueryToken(f *testing.F) {
	for _, s := range []string{
		"", "&", ";", "=", "access_token", "access_token=", "access_token=" + jwtSample,
		"a=1&access_token=x&b=2", "access_token=x&access_token=y", "access_token=x;y",
		"access%5Ftoken=x", "access_token=%zz", "access_token%=x", "q=100%", "a+b=c",
		"access_token=a+b", "access_token=%2E", "x=%41&access_token=%41%42",
	} {
		f.Add(s, "access_token", 4096)
		f.Add(s, "a", 0)
	}
	f.Fuzz(func(t *testing.T, query, name string, maxLen int) {
		tok, found, err := QueryToken(query, name, maxLen)
		if err != nil && (tok != "" || !found) {
			t.Fatalf("QueryToken(%q, %q) = %q, %v, %v: an error with a token or without found", query, name, tok, found, err)
		}
		if err == nil && found != (tok != "") {
			t.Fatalf("QueryToken(%q, %q) = %q, %v, nil", query, name, tok, found)
		}
		if err == nil && found {
			if _, terr := Token(tok, maxLen); terr != nil {
				t.Fatalf("QueryToken(%q, %q) returned %q, which Token refuses: %v", query, name, tok, terr)
			}
		}
		if name == "" || strings.ContainsAny(name, "%+") {
			return
		}
		m, perr := url.ParseQuery(query)
		if perr != nil {
			// ParseQuery skipped a pair; QueryToken must not have found a
			// token where another reading of the pair finds a second one:
			// checked by the cases of TestQueryToken.
			return
		}
		vs := m[name]
		switch {
		case found != (len(vs) > 0):
			t.Fatalf("QueryToken(%q, %q) found = %v; ParseQuery found %q", query, name, found, vs)
		case len(vs) > 1 && !errors.Is(err, ErrRepeated):
			t.Fatalf("QueryToken(%q, %q) = %v; ParseQuery found %d values", query, name, err, len(vs))
		case len(vs) == 1 && err == nil && tok != vs[0]:
			t.Fatalf("QueryToken(%q, %q) = %q; ParseQuery found %q", query, name, tok, vs[0])
		case len(vs) == 1 && err != nil:
			if _, terr := Token(vs[0], maxLen); terr == nil || !errors.Is(err, terr) {
				t.Fatalf("QueryToken(%q, %q) = %v; ParseQuery found %q, for which Token says %v", query, name, err, vs[0], terr)
			}
		}
	})
}

func TestCookieCount(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  int
	}{
		{"none", nil, 0},
		{"empty line", []string{""}, 0},
		{"one", []string{"jwt=" + jwtSample}, 1},
		{"among others", []string{"a=1; jwt=x; b=2"}, 1},
		{"other names", []string{"jwtx=1; xjwt=2; JWT=3; j wt=4"}, 0},
		{"white space around", []string{" \tjwt = x ;"}, 1},
		{"no equals sign", []string{"jwt"}, 1},
		{"empty value", []string{"jwt="}, 1},
		{"two in one line", []string{"jwt=a; jwt=b"}, 2},
		{"two lines", []string{"jwt=a", "x=1; jwt=b"}, 2},
		{"values net/http drops", []string{`jwt=a\; jwt=a"b; jwt=é; jwt=` + "\x7f"}, 4},
		{"name in a value", []string{"x=jwt=1"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CookieCount(tc.lines, "jwt"); got != tc.want {
				t.Errorf("CookieCount(%q) = %d, want %d", tc.lines, got, tc.want)
			}
		})
	}
	lines := []string{"a=1; b=2; jwt=" + jwtSample + "; c=3"}
	if n := testing.AllocsPerRun(100, func() { CookieCount(lines, "jwt") }); n != 0 {
		t.Errorf("CookieCount allocates %v times", n)
	}
}

// FuzzCookieCount compares CookieCount with net/http's cookie parser: it
// counts every cookie of the name that net/http returns, and no more when
// the header has no byte that net/http drops a cookie for.
func FuzzCookieCount(f *testing.F) {
	for _, s := range []string{
		"", "jwt=x", "a=1; jwt=x; b=2", "jwt=a; jwt=b", `jwt=a\`, `jwt="a"`, `jwt="a`, "jwt=é",
		"jwt", " jwt = x ", "jwt=x\njwt=y", "x=jwt=1", ";;;", "jwt=\x7f",
	} {
		f.Add(s, "jwt")
	}
	f.Fuzz(func(t *testing.T, header, name string) {
		if name == "" {
			return
		}
		lines := strings.Split(header, "\n")
		got := CookieCount(lines, name)
		r := &http.Request{Header: http.Header{"Cookie": lines}}
		parsed := len(r.CookiesNamed(name))
		if got < parsed {
			t.Fatalf("CookieCount(%q, %q) = %d; net/http reads %d", lines, name, got, parsed)
		}
		pairs := 0
		for _, l := range lines {
			pairs += strings.Count(l, ";") + 1
		}
		clean := pairs < 3000
		for i := 0; i < len(header); i++ {
			if c := header[i]; c != '\n' && (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
				clean = false
			}
		}
		if clean && isCookieName(name) && got != parsed {
			t.Fatalf("CookieCount(%q, %q) = %d; net/http reads %d of a header it drops nothing of", lines, name, got, parsed)
		}
	})
}

// isCookieName reports whether s is an RFC 9110 token, as net/http wants a
// cookie name to be.
func isCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isSchemeChar(s[i]) {
			return false
		}
	}
	return true
}

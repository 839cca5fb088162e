package dpop

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNormalizeURI(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/r":                  "https://example.com/r",
		"HTTPS://Example.COM:443/r?q=1#f":        "https://example.com/r",
		"http://example.com:80":                  "http://example.com/",
		"http://example.com:":                    "http://example.com/",
		"http://example.com:0080/a":              "http://example.com/a",
		"https://example.com:8443/a":             "https://example.com:8443/a",
		"https://example.com/a/./b/../c":         "https://example.com/a/c",
		"https://example.com/a/..":               "https://example.com/",
		"https://example.com/../../a":            "https://example.com/a",
		"https://example.com/a/.":                "https://example.com/a/",
		"https://example.com/%7euser/%2f%41":     "https://example.com/~user/%2FA",
		"https://[2001:DB8::0001]:443/x":         "https://[2001:db8::1]/x",
		"https://example.com?x":                  "https://example.com/",
		"https://example.com/a;b=c/d:e@f!$&'()*": "https://example.com/a;b=c/d:e@f!$&'()*",
	} {
		got, err := NormalizeURI(in)
		if err != nil || got != want {
			t.Errorf("NormalizeURI(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "example.com/r", "ftp://example.com/", "//example.com/", "https://", "https:///r",
		"https://user@example.com/", "https://u:p@example.com/", "https://exa%6Dple.com/",
		"https://example.com:65536/", "https://example.com:0/", "https://example.com:x/",
		"https://example.com:123456/", "https://[::1/", "https://[zz]/", "https://[fe80::1%25eth0]/",
		"https://[::1]x/", "https://example.com/a b", "https://example.com/a\\b", "https://example.com/%zz",
		"https://example.com/%4", "https://example.com/\xc3\xa9", "https://exa mple.com/", "https://example.com/\t",
		"https://example.com/\"", "https://example.com/<x>", "https://example.com/a|b",
	} {
		if got, err := NormalizeURI(in); err == nil {
			t.Errorf("NormalizeURI(%q) = %q; want an error", in, got)
		}
	}
}

func TestNonces(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := NewNonces([]byte("0123456789abcdef0123456789abcdef"), 5*time.Minute)
	other := NewNonces([]byte("fedcba9876543210fedcba9876543210"), 5*time.Minute)
	nonce := n.Current(now)
	if len(nonce) != nonceLen || n.Current(now) != nonce {
		t.Fatalf("Current = %q", nonce)
	}
	if !n.Valid(nonce, now) || !n.Valid(nonce, now.Add(5*time.Minute)) {
		t.Error("a nonce is not valid in its step and the next")
	}
	if n.Valid(nonce, now.Add(10*time.Minute)) || n.Valid(nonce, now.Add(-5*time.Minute)) {
		t.Error("a nonce is valid two steps on, or a step before its own")
	}
	if other.Valid(nonce, now) {
		t.Error("another secret's Nonces takes the nonce")
	}
	for _, bad := range []string{"", nonce[:31], nonce + "A", strings.ToUpper(nonce), nonce[:31] + "!"} {
		if bad != nonce && n.Valid(bad, now) {
			t.Errorf("Valid(%q)", bad)
		}
	}
}

func TestDecodeClaims(t *testing.T) {
	c, err := DecodeClaims([]byte(`{"jti":"a","htm":"GET","htu":"https://x/","iat":1800000000.5,"ath":"h","nonce":"n","other":[1]}`))
	if err != nil || c.JTI != "a" || c.HTM != "GET" || c.HTU != "https://x/" || c.ATH != "h" || c.Nonce != "n" || c.IAT.Unix() != 1800000000 {
		t.Fatalf("DecodeClaims = %+v, %v", c, err)
	}
	for _, bad := range []string{
		`{"htm":"GET","htu":"https://x/","iat":1}`,
		`{"jti":"a","htu":"https://x/","iat":1}`,
		`{"jti":"a","htm":"GET","iat":1}`,
		`{"jti":"a","htm":"GET","htu":"https://x/"}`,
		`{"jti":"a","jti":"b","htm":"GET","htu":"https://x/","iat":1}`,
		`{"jti":"a","JTI":"b","htm":"GET","htu":"https://x/","iat":1}`,
		`{"jti":"","htm":"GET","htu":"https://x/","iat":1}`,
		`{"jti":1,"htm":"GET","htu":"https://x/","iat":1}`,
		`{"jti":"a","htm":"GET","htu":"https://x/","iat":"1"}`,
		`{"jti":"a","htm":"GET","htu":"https://x/","iat":null}`,
		`{"jti":"` + strings.Repeat("j", MaxJTI+1) + `","htm":"GET","htu":"https://x/","iat":1}`,
		`{"jti":"a","htm":"GET","htu":"https://x/","iat":1,"ath":""}`,
		`[]`, `{`, `{"jti":"\ud800","htm":"GET","htu":"https://x/","iat":1}`,
	} {
		if c, err := DecodeClaims([]byte(bad)); err == nil {
			t.Errorf("DecodeClaims(%s) = %+v; want an error", bad, c)
		}
	}
}

func TestDecodeHeader(t *testing.T) {
	h, err := DecodeHeader([]byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC"},"kid":"k"}`))
	if err != nil || h.Typ != "dpop+jwt" || h.Alg != "ES256" || string(h.JWK) != `{"kty":"EC"}` {
		t.Fatalf("DecodeHeader = %+v, %v", h, err)
	}
	for _, bad := range []string{
		`{"alg":"ES256","jwk":{}}`, `{"typ":"dpop+jwt","jwk":{}}`, `{"typ":"dpop+jwt","alg":"ES256"}`,
		`{"typ":"dpop+jwt","alg":"ES256","jwk":"{}"}`, `{"typ":"dpop+jwt","alg":"ES256","jwk":{},"jwk":{}}`,
		`{"typ":"dpop+jwt","alg":"ES256","jwk":{},"Alg":"none"}`, `{"typ":"dpop+jwt","alg":"ES256","jwk":{},"crit":["x"]}`,
		`{"typ":1,"alg":"ES256","jwk":{}}`,
	} {
		if h, err := DecodeHeader([]byte(bad)); err == nil {
			t.Errorf("DecodeHeader(%s) = %+v; want an error", bad, h)
		}
	}
}

// FuzzNormalizeURI: NormalizeURI never panics; its output is its own
// normal form, and net/url reads it as the same scheme, host and path.
func FuzzNormalizeURI(f *testing.F) {
	for _, s := range []string{"https://example.com/a/./b/../c?q#f", "HTTP://[::1]:80/%7e", "https://u@x/", "http://x:0443/%2f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeURI(s)
		if err != nil {
			return
		}
		again, err := NormalizeURI(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeURI(%q) = %q, whose normal form is %q, %v", s, out, again, err)
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("net/url refuses %q (from %q): %v", out, s, err)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("%q has userinfo, a query, a fragment or is opaque for net/url", out)
		}
		if want := u.Scheme + "://" + u.Host + u.EscapedPath(); want != out {
			t.Fatalf("net/url reads %q as %q", out, want)
		}
	})
}

// FuzzDecodeClaims: DecodeClaims never panics, and what it accepts
// encoding/json reads with the same values.
func FuzzDecodeClaims(f *testing.F) {
	f.Add([]byte(`{"jti":"a","htm":"GET","htu":"https://x/","iat":1800000000,"ath":"h","nonce":"n"}`))
	f.Add([]byte(`{"jti":"a","htm":"GET","htu":"https://x/","iat":1,"jti":"b"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeClaims(b)
		if err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("encoding/json refuses what DecodeClaims took: %v", err)
		}
		for name, got := range map[string]string{"jti": c.JTI, "htm": c.HTM, "htu": c.HTU, "ath": c.ATH, "nonce": c.Nonce} {
			if v, ok := m[name]; ok && v != got || !ok && got != "" {
				t.Fatalf("%s: DecodeClaims %q, encoding/json %v", name, got, v)
			}
		}
	})
}

// FuzzDecodeHeader: DecodeHeader never panics, and what it accepts
// encoding/json reads with the same typ and alg.
func FuzzDecodeHeader(f *testing.F) {
	f.Add([]byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC"}}`))
	f.Add([]byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":{},"ALG":"none"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("encoding/json refuses what DecodeHeader took: %v", err)
		}
		if m["typ"] != h.Typ || m["alg"] != h.Alg {
			t.Fatalf("DecodeHeader %q %q, encoding/json %v %v", h.Typ, h.Alg, m["typ"], m["alg"])
		}
	})
}

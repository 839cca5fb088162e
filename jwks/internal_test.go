package jwks

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// TestCheckURL: https anywhere; plain http only to loopback hosts.
func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://login.example.com/.well-known/jwks.json", true},
		{"HTTPS://login.example.com/jwks", true},
		{"https://10.0.0.1:8443/jwks", true},
		{"http://localhost/jwks", true},
		{"http://LOCALHOST:8080/jwks", true},
		{"http://127.0.0.1:8080/jwks", true},
		{"http://127.8.9.10/jwks", true},
		{"http://[::1]:8080/jwks", true},
		{"http://[::ffff:127.0.0.1]/jwks", true},
		{"http://login.example.com/jwks", false},
		{"http://10.0.0.1/jwks", false},
		{"http://[::2]/jwks", false},
		{"http://localhost.example.com/jwks", false},
		{"http://127.0.0.1.example.com/jwks", false},
		{"http://0.0.0.0/jwks", false},
		{"ws://localhost/jwks", false},
		{"file:///jwks.json", false},
		{"https:///jwks", false},
		{"https:opaque", false},
		{"//login.example.com/jwks", false},
		{"https://login.example.com/%zz", false},
	} {
		_, err := checkURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("checkURL(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

// TestFreshness: Cache-Control's max-age less Age; no-cache and no-store
// are 0; nothing else counts.
func TestFreshness(t *testing.T) {
	for _, tc := range []struct {
		cc, age []string
		want    time.Duration
		ok      bool
	}{
		{nil, nil, 0, false},
		{[]string{"public, max-age=300"}, nil, 300 * time.Second, true},
		{[]string{"public", "max-age=300"}, nil, 300 * time.Second, true},
		{[]string{"Max-Age=60"}, nil, time.Minute, true},
		{[]string{"max-age = 60"}, nil, time.Minute, true},
		{[]string{`max-age="60"`}, nil, time.Minute, true},
		{[]string{"max-age=60, max-age=10"}, nil, time.Minute, true},
		{[]string{"max-age=x, max-age=10"}, nil, 10 * time.Second, true},
		{[]string{"max-age=60"}, []string{"30"}, 30 * time.Second, true},
		{[]string{"max-age=60"}, []string{"90"}, 0, true},
		{[]string{"max-age=60"}, []string{"-5"}, time.Minute, true},
		{[]string{"max-age=99999999999999999999999"}, nil, maxDeltaSeconds * time.Second, true},
		{[]string{"max-age=-1"}, nil, 0, false},
		{[]string{"max-age="}, nil, 0, false},
		{[]string{"s-maxage=60"}, nil, 0, false},
		{[]string{"max-age=60, no-cache"}, nil, 0, true},
		{[]string{`no-cache="Set-Cookie", max-age=60`}, nil, 0, true},
		{[]string{"no-store"}, nil, 0, true},
	} {
		h := http.Header{"Cache-Control": tc.cc, "Age": tc.age}
		got, ok := freshness(h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("freshness(%q, Age %q) = %v, %v, want %v, %v", tc.cc, tc.age, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzFreshness: freshness never panics, and its answer is between zero
// and the RFC 9111 cap.
func FuzzFreshness(f *testing.F) {
	for _, s := range []string{"public, max-age=300", "no-cache", `max-age="12"`, "max-age=99999999999999999999", ",,=,", "max-age=1\x00"} {
		f.Add(s, "10")
	}
	f.Fuzz(func(t *testing.T, cc, age string) {
		d, ok := freshness(http.Header{"Cache-Control": {cc}, "Age": {age}})
		if d < 0 || d > maxDeltaSeconds*time.Second || (!ok && d != 0) {
			t.Errorf("freshness(%q, %q) = %v, %v", cc, age, d, ok)
		}
	})
}

// FuzzParseKeySet: whatever the document, parseKeySet never panics, and
// a set it returns holds only public keys of asymmetric algorithms, each
// with a kid of its own, which verify tokens naming that kid; each JWK of
// the document is used or skipped.
func FuzzParseKeySet(f *testing.F) {
	ks, err := jwtguard.NewKeySet()
	if err != nil {
		f.Fatal(err)
	}
	for _, alg := range []string{"RS256", "ES256", "ES384", "EdDSA", "Ed25519"} {
		k, err := jwtguard.GenerateKey(alg)
		if err != nil {
			f.Fatal(err)
		}
		ks.Add(k)
	}
	doc, _ := ks.MarshalJSON()
	f.Add(doc)
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","use":"enc"}],"other":1}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		set, skip, err := parseKeySet(doc, "")
		if err != nil {
			if set != nil {
				t.Fatal("a set with an error")
			}
			return
		}
		var d struct{ Keys []json.RawMessage }
		if json.Unmarshal(doc, &d) == nil && len(d.Keys) != len(set.Keys())+len(skip) {
			t.Errorf("%d JWKs, %d keys and %d skipped", len(d.Keys), len(set.Keys()), len(skip))
		}
		if len(set.Keys()) == 0 {
			t.Error("a set without keys")
		}
		seen := map[string]bool{}
		for _, k := range set.Keys() {
			switch {
			case k.CanSign():
				t.Errorf("key %q can sign", k.ID())
			case k.ID() == "" || seen[k.ID()]:
				t.Errorf("kid %q empty or repeated", k.ID())
			case !asymmetricAlgs[k.Algorithm()]:
				t.Errorf("key %q of algorithm %q", k.ID(), k.Algorithm())
			case strings.HasPrefix(k.Algorithm(), "HS"):
				t.Errorf("an HMAC key %q", k.ID())
			}
			seen[k.ID()] = true
			if got, err := set.VerificationKey(t.Context(), k.ID(), k.Algorithm()); err != nil || got.ID() != k.ID() {
				t.Errorf("VerificationKey(%q) = %q, %v", k.ID(), got.ID(), err)
			}
		}
	})
}

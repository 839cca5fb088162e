package jwks

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jwtguard/jwtguard"
)

// TestCheckURL: https anywhere; plain http only to literal loopback
// addresses, not to the name localhost, which is resolved when fetching.
func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://login.example.com/.well-known/jwks.json", true},
		{"HTTPS://login.example.com/jwks", true},
		{"https://10.0.0.1:8443/jwks", true},
		{"https://localhost:8443/jwks", true},
		{"http://localhost/jwks", false},
		{"http://LOCALHOST:8080/jwks", false},
		{"http://localhost./jwks", false},
		{"http://ip6-localhost/jwks", false},
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
// the document is used or skipped. A document checkDocument refuses is
// refused by parseKeySet with that error; one it takes is valid JSON and
// UTF-8, a keys array of objects, and read by encoding/json without a
// member lost to a repeated name or matched by a registered one in
// other letter case (checkStrictProperties).
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
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA","D":""}]}`))
	f.Add([]byte(`{"keys":[],"keys":[{"kty":"EC"}],"KEYS":[]}`))
	f.Add([]byte(`{"keys":[{"\u212aty":"oct","Kid":"a","x-a":{"b":1,"B":[{"c":2}]}}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","oth":[{"r":"AA","d":"AA","t":"AA"},{"R":"AA"}]}]}`))
	f.Add([]byte(`{"keys":[{"kid":"\ud800\\ud800\ud83d\ude00","kty":"\u006bty"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if err := checkDocument(doc); err != nil {
			if _, _, perr := parseKeySet(doc, ""); perr == nil || perr.Error() != err.Error() {
				t.Fatalf("checkDocument: %v; parseKeySet: %v", err, perr)
			}
		} else {
			checkStrictProperties(t, doc)
		}
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

// checkStrictProperties fails t unless doc, which checkDocument takes, is
// UTF-8 JSON whose keys member is an array of objects, with no object
// whose members encoding/json would merge: none lost to a repeated name
// (every member, counted by its colon, is in the decoded maps), no two
// names equal under strings.EqualFold, and in each JWK no member that
// EqualFold matches to a registered JWK member but for its exact name.
// These are checked by other means than checkDocument's own.
func checkStrictProperties(t *testing.T, doc []byte) {
	t.Helper()
	if !json.Valid(doc) || !utf8.Valid(doc) {
		t.Fatal("taken, but not valid JSON or not UTF-8")
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("taken, but encoding/json refuses it: %v", err)
	}
	if got, want := decodedMembers(t, v), colonsOutsideStrings(doc); got != want {
		t.Fatalf("taken, but %d of %d members decoded: a repeated name", got, want)
	}
	var d struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &d); err != nil || d.Keys == nil {
		t.Fatalf("taken, but keys is not an array of objects (%v)", err)
	}
	for i, jwk := range d.Keys {
		for name := range jwk {
			for _, reg := range jwkMembers {
				if name != reg && strings.EqualFold(name, reg) {
					t.Errorf("taken, but keys[%d] has %q, the registered %q in other case", i, name, reg)
				}
			}
		}
	}
}

// decodedMembers counts the members of the objects in v, failing t when
// two names of one object are equal under strings.EqualFold.
func decodedMembers(t *testing.T, v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := len(v)
		names := make([]string, 0, len(v))
		for name, e := range v {
			for _, other := range names {
				if strings.EqualFold(name, other) {
					t.Errorf("taken, but an object has %q and %q", name, other)
				}
			}
			names = append(names, name)
			n += decodedMembers(t, e)
		}
		return n
	case []any:
		n := 0
		for _, e := range v {
			n += decodedMembers(t, e)
		}
		return n
	}
	return 0
}

// colonsOutsideStrings counts the colons of JSON text outside its
// strings: one per member.
func colonsOutsideStrings(doc []byte) int {
	n, in, esc := 0, false, false
	for _, c := range doc {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && c == ':':
			n++
		}
	}
	return n
}

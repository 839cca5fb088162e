package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	testSecret = []byte("token-tests-secret-0123456789abcdef")
	testNow    = time.Unix(1_800_000_000, 0)
)

func testConfig() Config {
	return Config{Alg: "HS256", Secret: testSecret, Leeway: 10 * time.Second, Now: func() time.Time { return testNow }}
}

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// craft assembles an HS256-MACed token from raw header and payload JSON.
func craft(header, payload string, key []byte) string {
	in := seg(header) + "." + seg(payload)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestTimeUnmarshalJSON(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1800000000", time.Unix(1800000000, 0), true},
		{"1800000000.5", time.Unix(1800000000, 5e8), true},
		{"1.8e9", time.Unix(1800000000, 0), true},
		{"0", time.Unix(0, 0), true},
		{"-1", time.Unix(-1, 0), true},
		{"253402300799", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{"253402300799.5", time.Date(9999, 12, 31, 23, 59, 59, 5e8, time.UTC), true},
		{"253402300800", time.Time{}, false}, // 10000-01-01: RFC 3339 cannot write it
		{"2.534023008e11", time.Time{}, false},
		{"-62167219200", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"-62167219200.5", time.Time{}, false},
		{"-62167219201", time.Time{}, false},
		{"9007199254740992", time.Time{}, false},
		{"-9007199254740994", time.Time{}, false},
		{"1e300", time.Time{}, false},
		{"1e999", time.Time{}, false},
		{"-1e999", time.Time{}, false},
		{`"1800000000"`, time.Time{}, false},
		{`"1e9"`, time.Time{}, false},
		{"null", time.Time{}, false},
		{"true", time.Time{}, false},
		{"[1800000000]", time.Time{}, false},
		{`{"$numberLong":"1"}`, time.Time{}, false},
		{"", time.Time{}, false},
		{"-", time.Time{}, false},
		{"0x10", time.Time{}, false},
		{"Infinity", time.Time{}, false},
		{"NaN", time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var got Time
			err := got.UnmarshalJSON([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("UnmarshalJSON(%s) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && !got.Equal(tc.want) {
				t.Errorf("UnmarshalJSON(%s) = %v, want %v", tc.in, got.Time, tc.want)
			}
			if _, err := got.UTC().MarshalJSON(); tc.ok && err != nil {
				t.Errorf("an accepted NumericDate does not encode as RFC 3339: %v", err)
			}
			// The same through encoding/json, as a claim.
			var p Payload
			err = json.Unmarshal([]byte(`{"exp":`+tc.in+`}`), &p)
			if (err == nil) != tc.ok && json.Valid([]byte(`{"exp":`+tc.in+`}`)) {
				t.Errorf("payload with exp %s: error = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestTimeMarshalJSON(t *testing.T) {
	b, err := json.Marshal(Time{time.Unix(1800000000, 999_000_000)})
	if err != nil || string(b) != "1800000000" {
		t.Errorf("Marshal = %s, %v; want whole seconds", b, err)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil || back.Unix() != 1800000000 {
		t.Errorf("round trip = %v, %v", back, err)
	}
}

func TestAudienceJSON(t *testing.T) {
	cases := []struct {
		in   string
		want Audience
		ok   bool
	}{
		{`"orders"`, Audience{"orders"}, true},
		{`""`, Audience{""}, true},
		{`["orders","billing"]`, Audience{"orders", "billing"}, true},
		{`[]`, Audience{}, true},
		{`null`, nil, false},
		{`42`, nil, false},
		{`true`, nil, false},
		{`{"aud":"orders"}`, nil, false},
		{`[1]`, nil, false},
		{`[["orders"]]`, nil, false},
		{`["orders",null]`, nil, false},
		{"\"ord\xffers\"", nil, false},               // not UTF-8 (RFC 8725 §3.7), as for every other claim
		{"[\"orders\",\"bil\xc0ling\"]", nil, false}, // encoding/json would have made both U+FFFD
		{`"\u006frders"`, Audience{"orders"}, true},
		{` "orders"`, nil, false},
		{`["orders"] `, Audience{"orders"}, true},
		{``, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var got Audience
			err := got.UnmarshalJSON([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("UnmarshalJSON(%s) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && !slices.Equal(got, tc.want) {
				t.Errorf("UnmarshalJSON(%s) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		aud  Audience
		want string
	}{
		{Audience{"orders"}, `"orders"`},
		{Audience{"orders", "billing"}, `["orders","billing"]`},
	} {
		if b, err := json.Marshal(tc.aud); err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%q) = %s, %v; want %s", tc.aud, b, err, tc.want)
		}
	}
}

func TestLegacyIDUnmarshalJSON(t *testing.T) {
	cases := []struct {
		in   string
		want LegacyID
		ok   bool
	}{
		{`7`, "7", true},
		{`-7`, "-7", true},
		{`"7"`, "7", true},
		{`"u-7"`, "u-7", true},
		{`0`, "0", true},
		{`9007199254740991`, "9007199254740991", true},
		{`-9007199254740991`, "-9007199254740991", true},
		// Beyond 2^53-1, float64 parsers (JSON.parse, MapClaims) read
		// another number: 9007199254740993 as 9007199254740992.
		{`9007199254740992`, "", false},
		{`9007199254740993`, "", false},
		{`-9007199254740992`, "", false},
		{`10000000000000000`, "", false},
		{`9223372036854775807`, "", false},
		{`9223372036854775808`, "", false},
		{`99999999999999999999999`, "", false},
		{`-0`, "", false},
		{`+7`, "", false},
		{`07`, "", false},
		{`-07`, "", false},
		{`00`, "", false},
		{`-`, "", false},
		{`--7`, "", false},
		{`7 `, "", false},
		{` 7`, "", false},
		{`0x7`, "", false},
		{`7.5`, "", false},
		{`7.0`, "", false},
		{`1e3`, "", false},
		{`true`, "", false},
		{`null`, "", false},
		{`[7]`, "", false},
		{`{"id":7}`, "", false},
		{``, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var got LegacyID
			err := got.UnmarshalJSON([]byte(tc.in))
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("UnmarshalJSON(%s) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestPayloadUnmarshalJSON(t *testing.T) {
	// A JSON null decodes to the zero Payload, which Verify refuses for its
	// missing exp (TestVerify: shape/payload null).
	for _, in := range []string{`[]`, `[{"exp":1}]`, `"x"`, `1`, `true`} {
		var p Payload
		if err := json.Unmarshal([]byte(in), &p); err == nil {
			t.Errorf("payload %s accepted", in)
		}
	}
	in := `{"sub":"1","exp":1800000300,"tenant":"t-1"}`
	var p Payload
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	if p.Subject != "1" || p.ExpiresAt.Unix() != 1800000300 {
		t.Errorf("payload = %+v", p)
	}
	for _, in := range []string{
		`{"sub":1}`, `{"iss":["a"]}`, `{"jti":2}`, `{"username":false}`, `{"roles":"admin"}`,
		`{"roles":[1]}`, `{"scope":["a"]}`, `{"role":["admin"]}`, `{"nbf":"1"}`, `{"iat":"1"}`,
	} {
		if err := json.Unmarshal([]byte(in), new(Payload)); err == nil {
			t.Errorf("mistyped claim %s accepted", in)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	cfg := testConfig()
	cfg.Issuer, cfg.Audience = "https://auth.example.com", "orders"
	in := &Payload{
		Issuer: cfg.Issuer, Subject: "42", Audience: Audience{"orders"},
		ExpiresAt: Time{testNow.Add(time.Minute)}, IssuedAt: Time{testNow}, NotBefore: Time{testNow},
		ID: "jti-1", Username: "alice", Roles: []string{"admin"}, Scope: "a b",
	}
	tok, err := newTestSigner(cfg).Sign(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := NewVerifier(cfg).Verify(bg, tok)
	if err != nil {
		t.Fatal(err)
	}
	if out.Issuer != in.Issuer || out.Subject != in.Subject || !slices.Equal(out.Audience, in.Audience) ||
		!out.ExpiresAt.Equal(in.ExpiresAt.Time) || !out.IssuedAt.Equal(in.IssuedAt.Time) || !out.NotBefore.Equal(in.NotBefore.Time) ||
		out.ID != in.ID || out.Username != in.Username || !slices.Equal(out.Roles, in.Roles) || out.Scope != in.Scope {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestVerifyErrors(t *testing.T) {
	valid := func(extra string) string {
		return `{"sub":"1","exp":` + itoa(testNow.Add(time.Minute).Unix()) + extra + `}`
	}
	hs := `{"alg":"HS256","typ":"JWT"}`
	good := craft(hs, valid(""), testSecret)
	cases := []struct {
		name string
		tok  string
		want error // nil, ErrExpired or ErrInvalid
	}{
		{"good", good, nil},
		{"expired", craft(hs, `{"exp":`+itoa(testNow.Add(-time.Minute).Unix())+`}`, testSecret), ErrExpired},
		{"expired, bad signature", craft(hs, `{"exp":`+itoa(testNow.Add(-time.Minute).Unix())+`}`, []byte("another-secret-0123456789abcdefgh")), ErrInvalid},
		{"expired and not yet valid", craft(hs, `{"exp":1,"nbf":`+itoa(testNow.Add(time.Hour).Unix())+`}`, testSecret), ErrInvalid},
		{"not yet valid", craft(hs, valid(`,"nbf":`+itoa(testNow.Add(time.Hour).Unix())), testSecret), ErrInvalid},
		{"no exp", craft(hs, `{"sub":"1"}`, testSecret), ErrInvalid},
		{"exp string", craft(hs, `{"exp":"1900000000"}`, testSecret), ErrInvalid},
		{"crit", craft(`{"alg":"HS256","crit":["b64"],"b64":false}`, valid(""), testSecret), ErrInvalid},
		{"kid ignored", craft(`{"alg":"HS256","kid":"../../etc/passwd"}`, valid(""), testSecret), nil},
		{"alg none", seg(`{"alg":"none"}`) + "." + seg(valid("")) + ".", ErrInvalid},
		{"alg HS512", craft(`{"alg":"HS512"}`, valid(""), testSecret), ErrInvalid},
		{"newline after signature", good + "\n", ErrInvalid},
		{"CRLF inside signature", good[:len(good)-4] + "\r\n" + good[len(good)-4:], ErrInvalid},
		{"padding after signature", good + "=", ErrInvalid},
		{"space", good + " ", ErrInvalid},
		{"empty", "", ErrInvalid},
		{"dots", "..", ErrInvalid},
	}
	v := NewVerifier(testConfig())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(bg, tc.tok)
			switch {
			case tc.want == nil && (err != nil || p == nil):
				t.Fatalf("Verify = %v, %v; want a payload", p, err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Verify = %v, %v; want %v", p, err, tc.want)
			case tc.want == ErrInvalid && p != nil:
				t.Fatalf("Verify = %v, %v; want no payload with ErrInvalid", p, err)
			case tc.want == ErrExpired && p == nil:
				t.Fatalf("Verify = nil, %v; want the payload with ErrExpired", err)
			case errors.Is(err, ErrExpired) && errors.Is(err, ErrInvalid):
				t.Fatalf("error %v wraps both sentinels", err)
			}
		})
	}
}

// TestVerifyExpiredOnlyWhenNothingElseFails: ErrExpired tells a client to
// refresh, so it is reported only when expiry is the one failed check. A
// token that is also for another issuer or audience, not yet valid, issued
// in the future or of the wrong type is ErrInvalid.
func TestVerifyExpiredOnlyWhenNothingElseFails(t *testing.T) {
	hs := `{"alg":"HS256"}`
	past := itoa(testNow.Add(-time.Minute).Unix())
	future := itoa(testNow.Add(time.Hour).Unix())
	strict := testConfig()
	strict.Issuer, strict.Audience, strict.Type = "https://auth.example.com", "orders", "at+jwt"
	typed := `{"alg":"HS256","typ":"at+jwt"}`
	cases := []struct {
		name    string
		cfg     Config
		header  string
		payload string
		want    error
	}{
		{"expired alone", testConfig(), hs, `{"exp":` + past + `}`, ErrExpired},
		{"expired, iss and aud right", strict, typed, `{"exp":` + past + `,"iss":"https://auth.example.com","aud":"orders"}`, ErrExpired},
		{"expired, wrong iss", strict, typed, `{"exp":` + past + `,"iss":"https://evil.example.com","aud":"orders"}`, ErrInvalid},
		{"expired, no iss", strict, typed, `{"exp":` + past + `,"aud":"orders"}`, ErrInvalid},
		{"expired, wrong aud", strict, typed, `{"exp":` + past + `,"iss":"https://auth.example.com","aud":"billing"}`, ErrInvalid},
		{"expired, no aud", strict, typed, `{"exp":` + past + `,"iss":"https://auth.example.com"}`, ErrInvalid},
		{"expired, aud when none is configured", testConfig(), hs, `{"exp":` + past + `,"aud":"billing"}`, ErrInvalid},
		{"expired, aud list when none is configured", testConfig(), hs, `{"exp":` + past + `,"aud":["billing","orders"]}`, ErrInvalid},
		{"expired, nbf in the future", testConfig(), hs, `{"exp":` + past + `,"nbf":` + future + `}`, ErrInvalid},
		{"expired, iat in the future", testConfig(), hs, `{"exp":` + past + `,"iat":` + future + `}`, ErrInvalid},
		{"expired, wrong typ", strict, hs, `{"exp":` + past + `,"iss":"https://auth.example.com","aud":"orders"}`, ErrInvalid},
		{"expired, wrong iss and aud", strict, typed, `{"exp":` + past + `,"iss":"x","aud":"y"}`, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewVerifier(tc.cfg).Verify(bg, craft(tc.header, tc.payload, testSecret))
			if !errors.Is(err, tc.want) || errors.Is(err, ErrExpired) && errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify(%s) = %v, %v; want %v alone", tc.payload, p, err, tc.want)
			}
			// The payload comes with ErrExpired only.
			if (p != nil) != (tc.want == ErrExpired) {
				t.Fatalf("Verify(%s) = %v, %v; want a payload exactly with ErrExpired", tc.payload, p, err)
			}
		})
	}
}

// TestVerifyEscapedClaimNames: a claim whose name is spelled with JSON
// escapes is the claim itself, for every check Verify makes.
func TestVerifyEscapedClaimNames(t *testing.T) {
	hs := `{"alg":"HS256"}`
	exp := itoa(testNow.Add(time.Minute).Unix())
	cfgAud := testConfig()
	cfgAud.Audience = "orders"
	cases := []struct {
		name    string
		cfg     Config
		payload string
		want    error
	}{
		{"nbf in the future", testConfig(), `{"exp":` + exp + `,"\u006ebf":` + itoa(testNow.Add(time.Hour).Unix()) + `}`, ErrInvalid},
		{"aud and none configured", testConfig(), `{"exp":` + exp + `,"\u0061ud":"billing"}`, ErrInvalid},
		{"aud of another service", cfgAud, `{"exp":` + exp + `,"\u0061ud":"billing"}`, ErrInvalid},
		{"aud of this service", cfgAud, `{"exp":` + exp + `,"\u0061ud":"orders"}`, nil},
		{"exp twice", testConfig(), `{"exp":` + exp + `,"\u0065xp":1}`, ErrInvalid},
		{"exp only escaped", testConfig(), `{"\u0065xp":` + exp + `}`, nil},
		{"exp only escaped, passed", testConfig(), `{"\u0065xp":` + itoa(testNow.Add(-time.Minute).Unix()) + `}`, ErrExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewVerifier(tc.cfg).Verify(bg, craft(hs, tc.payload, testSecret))
			if tc.want == nil && (err != nil || p == nil) || tc.want != nil && ((p != nil) != (tc.want == ErrExpired) || !errors.Is(err, tc.want)) {
				t.Fatalf("Verify(%s) = %v, %v; want %v", tc.payload, p, err, tc.want)
			}
		})
	}
}

// TestHotPathAllocations: the pieces of Verify that run on every accepted
// token allocate no more than they must.
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	cfg := testConfig()
	cfg.Type = "JWT"
	v := NewVerifier(cfg)
	good := craft(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"1","exp":`+itoa(testNow.Add(time.Minute).Unix())+`}`, testSecret)
	parts := strings.Split(good, ".")
	if n := testing.AllocsPerRun(100, func() {
		if _, problem, err := v.checkHeader(parts[0]); err != nil || problem != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("checkHeader: %v allocations, want 0", n)
	}
	input := parts[0] + "." + parts[1]
	if n := testing.AllocsPerRun(100, func() {
		if err := v.keys.(Static).Key.check.check(input, parts[2]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("signature check: %v allocations, want 0", n)
	}

	p := &Payload{ExpiresAt: Time{testNow}, NotBefore: Time{testNow}, IssuedAt: Time{testNow}}
	if n := testing.AllocsPerRun(100, func() {
		for _, get := range []func() (*jwt.NumericDate, error){p.GetExpirationTime, p.GetNotBefore, p.GetIssuedAt} {
			if d, _ := get(); d == nil || !d.Equal(testNow) {
				t.Fatalf("got %v, want %v", d, testNow)
			}
		}
	}); n != 0 {
		t.Errorf("Get…Time: %v allocations, want 0", n)
	}
	if d, _ := (&Payload{}).GetExpirationTime(); d != nil {
		t.Errorf("GetExpirationTime of an absent exp = %v, want nil", d)
	}

	// The slice and each string, copied out of the token's JSON.
	for in, want := range map[string]float64{`"orders-api"`: 2, `["orders-api","billing"]`: 4} {
		var a Audience
		b := []byte(in)
		if n := testing.AllocsPerRun(100, func() {
			if err := a.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
		}); n > want {
			t.Errorf("Audience.UnmarshalJSON(%s): %v allocations, want at most %v", in, n, want)
		}
	}
}

// TestGolangJWTAloneAcceptsStringExp is the control for the string-exp cases:
// golang-jwt's own NumericDate takes "1900000000", so only Time refuses it.
func TestGolangJWTAloneAcceptsStringExp(t *testing.T) {
	tok := craft(`{"alg":"HS256"}`, `{"exp":"1900000000"}`, testSecret)
	_, err := jwt.ParseWithClaims(tok, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) { return testSecret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return testNow }))
	if err != nil {
		t.Skipf("golang-jwt now refuses a string exp (%v); the control no longer applies", err)
	}
	if _, err := NewVerifier(testConfig()).Verify(bg, tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify = %v, want ErrInvalid", err)
	}
}

// TestVerifierCopiesSecret: changing the caller's slice later changes
// nothing.
func TestVerifierCopiesSecret(t *testing.T) {
	secret := []byte(string(testSecret))
	cfg := testConfig()
	cfg.Secret = secret
	v, s := NewVerifier(cfg), newTestSigner(cfg)
	tok := craft(`{"alg":"HS256"}`, `{"exp":1800000300}`, testSecret)
	clear(secret)
	if _, err := v.Verify(bg, tok); err != nil {
		t.Errorf("Verify after the caller zeroed its secret: %v", err)
	}
	signed, err := s.Sign(&Payload{ExpiresAt: Time{testNow.Add(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(bg, signed); err != nil {
		t.Errorf("Signer used the zeroed secret: %v", err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func FuzzVerify(f *testing.F) {
	v := NewVerifier(testConfig())
	s := newTestSigner(testConfig())
	var valid []string
	for _, p := range []*Payload{
		{Subject: "1", ExpiresAt: Time{testNow.Add(time.Minute)}},
		{Subject: "2", ExpiresAt: Time{testNow.Add(time.Hour)}, IssuedAt: Time{testNow}, Roles: []string{"admin"}, Scope: "x y"},
	} {
		tok, err := s.Sign(p)
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, tok)
	}
	valid = append(valid, craft(`{"alg":"HS256","kid":"k"}`, `{"id":7,"role":"admin","exp":1800000300}`, testSecret))
	for _, tok := range valid {
		f.Add(tok)
	}
	expired := []string{craft(`{"alg":"HS256"}`, `{"exp":1}`, testSecret)}
	for _, tok := range []string{
		"", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30",
		seg(`{"alg":"none"}`) + "." + seg(`{"exp":1900000000}`) + ".",
		craft(`{"alg":"HS256","crit":["x"]}`, `{"exp":1900000000}`, testSecret),
		craft(`{"alg":"HS256"}`, `{"exp":"1900000000"}`, testSecret),
		craft(`{"alg":"HS256"}`, `{"exp":1e300,"aud":1,"id":1.5}`, testSecret),
		craft(`{"alg":"HS256"}`, `[]`, testSecret),
		craft(`{"alg":"HS256"}`, `null`, testSecret),
		craft(`{"alg":"HS256"}`, `{"exp":1}`, testSecret),
		valid[0] + "\n", valid[0] + "=",
	} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(bg, tok)
		if err == nil {
			if p == nil {
				t.Fatal("Verify returned a nil payload and a nil error")
			}
			// Nothing but what we signed verifies, in exactly that spelling.
			if !slices.Contains(valid, tok) {
				t.Fatalf("Verify accepted %q, which is not a token we signed", tok)
			}
			if p.ExpiresAt.IsZero() {
				t.Fatal("accepted a payload without exp")
			}
		} else {
			if (p != nil) != errors.Is(err, ErrExpired) {
				t.Fatalf("Verify returned payload %v with error %v; want one exactly with ErrExpired", p, err)
			}
			if p != nil && !slices.Contains(valid, tok) && !slices.Contains(expired, tok) {
				t.Fatalf("Verify returned the payload of %q, which is not a token we signed", tok)
			}
			if errors.Is(err, ErrExpired) == errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v wraps not exactly one of ErrExpired, ErrInvalid", err)
			}
		}
		for _, good := range valid {
			if _, err := v.Verify(bg, good); err != nil {
				t.Fatalf("valid token stopped verifying: %v", err)
			}
		}
	})
}

// TestJOSEHeaderDecoding pins down how the header is decoded, as
// SECURITY.md states it: names match exactly and a repeated name is
// refused (golang-jwt's encoding/json took the last). Each case is MACed
// with our key, so only a key holder could send it.
func TestJOSEHeaderDecoding(t *testing.T) {
	payload := `{"sub":"1","exp":` + itoa(testNow.Add(time.Minute).Unix()) + `}`
	cases := []struct {
		name, header string
		ok           bool
	}{
		{"repeated alg refused", `{"alg":"none","alg":"HS256"}`, false},
		{"repeated alg, same value, refused", `{"alg":"HS256","alg":"HS256"}`, false},
		{"repeated unknown parameter refused", `{"alg":"HS256","kid":"a","kid":"b"}`, false},
		{"escaped alg accepted", `{"\u0061lg":"HS\u0032\u0035\u0036"}`, true},
		{"alg not a string", `{"alg":256}`, false},
		{"header not an object", `["HS256"]`, false},
		{"17 parameters refused", `{"alg":"HS256","a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"k":1,"l":1,"m":1,"n":1,"o":1,"p":1}`, false},
		{"repeated alg, last none wins", `{"alg":"HS256","alg":"none"}`, false},
		{"ALG is not alg", `{"ALG":"HS256"}`, false},
		{"CRIT is an unknown parameter", `{"alg":"HS256","CRIT":["b64"]}`, true},
		{"crit is refused", `{"alg":"HS256","crit":["b64"]}`, false},
		{"repeated crit is refused", `{"alg":"HS256","crit":null,"crit":["b64"]}`, false},
		{"CTY is an unknown parameter", `{"alg":"HS256","CTY":"JWT"}`, true},
		{"cty is refused", `{"alg":"HS256","cty":"JWT"}`, false},
	}
	v := NewVerifier(testConfig())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(bg, craft(tc.header, payload, testSecret))
			if (err == nil) != tc.ok {
				t.Errorf("Verify: %v; want accepted %v", err, tc.ok)
			}
		})
	}
}

// TestSameType: typ values compare without ASCII case and without an
// "application/" prefix (RFC 7515 §4.1.9), and nothing else folds.
func TestSameType(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"at+jwt", "at+jwt", true},
		{"AT+JWT", "at+jwt", true},
		{"application/at+jwt", "at+jwt", true},
		{"Application/AT+jwt", "at+JWT", true},
		{"at+jwt", "application/at+jwt", true},
		{"application/at+jwt", "application/at+jwt", true},
		{"", "", true},
		{"at+jwt", "jwt", false},
		{"at+jwt", "at+jwtx", false},
		{"application/", "", false},
		{"application/", "application/", true},
		{"applicationXat+jwt", "at+jwt", false},
		// Unicode case folding is not ASCII case: U+017F folds to s, U+212A
		// (Kelvin) to k, under strings.EqualFold.
		{"ſecevent+jwt", "secevent+jwt", false},
		{"SECEVENT+JWT", "ſecevent+jwt", false},
		{"\u212aey+jwt", "key+jwt", false},
		{"appſication/at+jwt", "at+jwt", false},
		{"applicationſ/at+jwt", "at+jwt", false},
		{"@t+jwt", "`t+jwt", false},
		{"[", "{", false},
	}
	for _, tc := range cases {
		t.Run(tc.a+"|"+tc.b, func(t *testing.T) {
			if got := SameType(tc.a, tc.b); got != tc.want {
				t.Errorf("SameType(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := SameType(tc.b, tc.a); got != tc.want {
				t.Errorf("SameType(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
			}
		})
	}
	// Through Verify: a typ that only Unicode folding equates is refused.
	cfg := testConfig()
	cfg.Type = "secevent+jwt"
	v := NewVerifier(cfg)
	payload := `{"sub":"1","exp":` + itoa(testNow.Add(time.Minute).Unix()) + `}`
	for typ, want := range map[string]error{"secevent+jwt": nil, "SecEvent+JWT": nil, "application/secevent+jwt": nil, "ſecevent+jwt": ErrInvalid} {
		if _, err := v.Verify(bg, craft(`{"alg":"HS256","typ":"`+typ+`"}`, payload, testSecret)); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Verify with typ %q: %v, want %v", typ, err, want)
		}
	}
}

// Time.UnmarshalJSON reads JSON numbers only, also when called directly
// with text that ParseFloat would take.
func TestTimeRefusesWhatJSONDoesNotWrite(t *testing.T) {
	for _, in := range []string{"0x1p30", "1_000", "01", "1e", "+1", "Inf", "1.", ".5"} {
		var tm Time
		if err := tm.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSON(%q) = %v, want an error", in, tm)
		}
	}
}

// The lean verifier's review: a forgery is a signature refusal whatever its
// header says; an exp at 0001-01-01T00:00:00Z is present and expired, not
// missing; a fraction of a second counts against the token.
func TestLeanVerifierReviewCases(t *testing.T) {
	other := []byte("another-secret-0123456789abcdefgh")
	exp := itoa(testNow.Add(time.Minute).Unix())
	cfg := testConfig()
	cfg.Type = "at+jwt"
	typed := NewVerifier(cfg)
	v := NewVerifier(testConfig())
	for _, tc := range []struct {
		name   string
		v      *Verifier
		tok    string
		reason string
	}{
		{"forged with crit", v, craft(`{"alg":"HS256","crit":["x"]}`, `{"exp":`+exp+`}`, other), ReasonSignature},
		{"forged with cty", v, craft(`{"alg":"HS256","cty":"JWT"}`, `{"exp":`+exp+`}`, other), ReasonSignature},
		{"forged without the typ", typed, craft(`{"alg":"HS256"}`, `{"exp":`+exp+`}`, other), ReasonSignature},
		{"signed with crit", v, craft(`{"alg":"HS256","crit":["x"]}`, `{"exp":`+exp+`}`, testSecret), ReasonClaims},
		{"exp in year one", v, craft(`{"alg":"HS256"}`, `{"exp":-62135596800}`, testSecret), ReasonExpired},
		{"exp a leeway and half a second ago", v, craft(`{"alg":"HS256"}`, `{"exp":`+itoa(testNow.Add(-10*time.Second).Unix())+`.5}`, testSecret), ReasonExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(bg, tc.tok)
			if err == nil || Reason(err) != tc.reason {
				t.Errorf("Verify: %v (reason %q), want reason %q", err, Reason(err), tc.reason)
			}
		})
	}
}

// TestCommonHeaders: the headers Verify compares instead of decoding are
// exactly the usual ones for the key's alg and the configured typ, and
// each passes the full check; a typed verifier takes none of the untyped
// ones, and a token with a header outside the set still gets the full check.
func TestCommonHeaders(t *testing.T) {
	exp := itoa(testNow.Add(time.Minute).Unix())
	typedCfg := testConfig()
	typedCfg.Type = "at+jwt"
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"untyped", testConfig(), []string{`{"alg":"HS256","typ":"JWT"}`, `{"typ":"JWT","alg":"HS256"}`, `{"alg":"HS256"}`}},
		{"typed", typedCfg, []string{`{"alg":"HS256","typ":"at+jwt"}`, `{"typ":"at+jwt","alg":"HS256"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVerifier(tc.cfg)
			var want []string
			for _, h := range tc.want {
				want = append(want, seg(h))
			}
			slices.Sort(want)
			got := warm(t, v, tc.cfg)
			for _, h := range got {
				if _, problem, err := v.checkHeader(h); problem != nil || err != nil {
					t.Errorf("%s: the full check says %v, %v", h, problem, err)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("known headers %q, want %q", got, want)
			}
			signed, err := newTestSigner(tc.cfg).Sign(&Payload{ExpiresAt: Time{testNow.Add(time.Minute)}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(bg, signed); err != nil {
				t.Fatal(err)
			}
			if _, ok := v.knownHeader(signed[:strings.IndexByte(signed, '.')]); !ok {
				t.Errorf("the signer's own header %s is not learnt", signed[:strings.IndexByte(signed, '.')])
			}
			// A forged token's header is never learnt.
			forged := craft(`{"alg":"HS256","kid":"forged"}`, `{"exp":`+exp+`}`, []byte("another secret of thirty-two bytes!!"))
			if _, err := v.Verify(bg, forged); Reason(err) != ReasonSignature {
				t.Fatalf("forged: %v", err)
			}
			if _, ok := v.knownHeader(forged[:strings.IndexByte(forged, '.')]); ok {
				t.Error("a forged token's header was learnt")
			}
		})
	}
	// A typed verifier refuses the untyped common header, signed or not,
	// and does not learn it.
	v := NewVerifier(typedCfg)
	tok := craft(`{"alg":"HS256","typ":"JWT"}`, `{"exp":`+exp+`}`, testSecret)
	for range 2 {
		if _, err := v.Verify(bg, tok); Reason(err) != ReasonClaims {
			t.Errorf("typed verifier, typ JWT: %v, want a claims refusal", err)
		}
	}
	if len(learnt(v)) != 0 {
		t.Errorf("a refused header was learnt: %q", learnt(v))
	}
}

// TestKnownHeadersBounded: a signer that writes a new header into every
// token fills the known headers to their bound and no further, and its
// tokens still verify.
func TestKnownHeadersBounded(t *testing.T) {
	v := NewVerifier(testConfig())
	exp := itoa(testNow.Add(time.Minute).Unix())
	for i := range 3 * maxKnownHeaders {
		if _, err := v.Verify(bg, craft(`{"alg":"HS256","kid":"k`+itoa(int64(i))+`"}`, `{"exp":`+exp+`}`, testSecret)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(learnt(v)); n != maxKnownHeaders {
		t.Errorf("%d known headers, want the bound %d", n, maxKnownHeaders)
	}
}

// TestEveryByteOutsideTheAlphabet: a byte outside base64url and '.',
// inserted in or replacing a byte of any segment of a good token (with the
// common header, read as sent, or another one, decoded), is refused as
// malformed and named, though the alphabet is read only once the token is
// refused: every such byte must fail the token somewhere.
func TestEveryByteOutsideTheAlphabet(t *testing.T) {
	v := NewVerifier(testConfig())
	exp := itoa(testNow.Add(time.Minute).Unix())
	for _, header := range []string{`{"alg":"HS256","typ":"JWT"}`, `{"alg":"HS256","kid":"k1"}`} {
		good := craft(header, `{"sub":"alice","exp":`+exp+`}`, testSecret)
		if _, err := v.Verify(bg, good); err != nil {
			t.Fatalf("%s: the good token: %v", header, err)
		}
		dot1 := strings.IndexByte(good, '.')
		dot2 := strings.LastIndexByte(good, '.')
		positions := []int{0, dot1 / 2, dot1, dot1 + 1, (dot1 + dot2) / 2, dot2 + 1, (dot2 + len(good)) / 2, len(good) - 1, len(good)}
		for c := range 256 {
			if compactAlphabet[c] == 0 {
				continue
			}
			for _, i := range positions {
				for _, tok := range []string{good[:i] + string([]byte{byte(c)}) + good[i:], good[:max(i-1, 0)] + string([]byte{byte(c)}) + good[i:]} {
					_, err := v.Verify(bg, tok)
					if Reason(err) != ReasonMalformed || !strings.Contains(fmt.Sprint(err), "is neither base64url nor '.'") {
						t.Fatalf("%s: byte %#x at %d: %v (reason %q), want it named as malformed", header, c, i, err, Reason(err))
					}
				}
			}
		}
	}
}

// TestFixedReasons: the refusals made once are classified directly as
// walking their wrapping would classify them.
func TestFixedReasons(t *testing.T) {
	for _, err := range FixedRefusals() {
		if got, want := fixedReason(err), wrappedReason(err); got != want {
			t.Errorf("%v: fixed reason %q, wrapped reason %q", err, got, want)
		}
	}
	if r := fixedReason(fmt.Errorf("%w", errBadSignature)); r != "" {
		t.Errorf("a wrapped refusal has the fixed reason %q", r)
	}
}

// bg is the context tokens are verified in by the tests.
var bg = context.Background()

// testSigner signs as the root package does, with the HMAC key of a
// Config.
type testSigner struct {
	key *Key
	typ string
}

func newTestSigner(cfg Config) testSigner {
	return testSigner{NewHMACKey(cfg.Alg, "", cfg.Secret), cfg.Type}
}

func (s testSigner) Sign(p *Payload) (string, error) { return Sign(s.key, s.typ, p) }

// commonHeaderTexts are the headers golang-jwt, Node's jsonwebtoken and
// jose write for alg and typ ("" for none), in either order of members.
func commonHeaderTexts(alg, typ string) []string {
	if typ == "" {
		return []string{`{"alg":"` + alg + `"}`}
	}
	return []string{`{"alg":"` + alg + `","typ":"` + typ + `"}`, `{"typ":"` + typ + `","alg":"` + alg + `"}`}
}

// warm verifies a good token with each common header of cfg's alg (typ
// JWT, none, and cfg's type), so that v learns those it accepts, and
// returns the segments it learnt, sorted.
func warm(t testing.TB, v *Verifier, cfg Config) []string {
	t.Helper()
	exp := itoa(testNow.Add(time.Minute).Unix())
	for _, typ := range []string{"JWT", "", cfg.Type} {
		for _, h := range commonHeaderTexts(cfg.Alg, typ) {
			v.Verify(bg, craftAlg(cfg.Alg, h, `{"exp":`+exp+`}`, cfg.Secret))
		}
	}
	return learnt(v)
}

// learnt returns the header segments v has learnt, sorted.
func learnt(v *Verifier) []string {
	return slices.Sorted(maps.Keys(*v.headers.Load()))
}

// forget empties v's known headers, so that the next token's header is
// decoded and checked in full.
func (v *Verifier) forget() { v.headers.Store(&map[string]header{}) }

// craftAlg is craft for any HMAC algorithm.
func craftAlg(alg, header, payload string, key []byte) string {
	newHash := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}[alg]
	in := seg(header) + "." + seg(payload)
	m := hmac.New(newHash, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

package token

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifyAgainstGolangJWT signs a fuzzed header and payload with the
// test key (random inputs never carry a valid MAC, so an unsigned
// comparison would find nothing) and checks our Verify against golang-jwt's
// parser, configured with the same checks, on the same token: whatever we
// accept, golang-jwt accepts, with the same registered claims. We refuse
// more, on purpose: a repeated header or claim name (golang-jwt takes the
// last), crit, cty or a typ other than the configured one, a NumericDate
// as a string or outside the years 0000–9999, claims of the wrong JSON
// type, strings that are not UTF-8 or hold a lone surrogate escape, a
// payload that is not an object, padding or stray bits in base64, and an
// aud when none is configured (RFC 7519 §4.1.3), and a claim name in
// another letter case ("nBf", "EXP"), which encoding/json, decoding
// golang-jwt's RegisteredClaims, takes for the claim. Fractions of a second
// count against the token, as golang-jwt's whole seconds do.
func FuzzVerifyAgainstGolangJWT(f *testing.F) {
	exp := itoa(testNow.Add(time.Minute).Unix())
	for _, s := range [][2]string{
		{`{"alg":"HS256","typ":"JWT"}`, `{"sub":"1","exp":` + exp + `}`},
		{`{"alg":"HS256"}`, `{"sub":"1","exp":` + exp + `,"iat":1800000000,"nbf":1799999990}`},
		{`{"alg":"HS256","alg":"none"}`, `{"exp":` + exp + `}`},
		{`{"alg":"HS256","kid":"x"}`, `{"exp":"` + exp + `","sub":"1"}`},
		{`{"alg":"HS256"}`, `{"exp":1,"sub":"1"}`},
		{`{"alg":"HS256"}`, `{"exp":` + exp + `,"aud":["a"],"iss":"x"}`},
		{`{"\u0061lg":"HS256"}`, `{"\u0065xp":` + exp + `}`},
		{`{"alg":"HS256","crit":["b64"]}`, `{"exp":` + exp + `}`},
		{`{"alg":"HS384"}`, `{"exp":` + exp + `}`},
		{`{"alg":"HS256"}`, `{"exp":` + exp + `,"exp":` + exp + `}`},
		{`{"alg":"HS256"}`, `null`},
		{`{"alg":"HS256"}`, `{"exp":1e10,"sub":"\ud800"}`},
		{`{"alg":"HS256"}`, `{"exp":1800000000,"nBf":0}`},
		{`{"alg":"HS256"}`, `{"exp":1e10,"suB":"000000"}`},
		{`{"alg":"HS256"}`, `{"sub":"1","exp":1799999990.5}`},
		{`{"alg":"HS256"}`, `{"sub":"1","exp":-62135596800}`},
	} {
		f.Add(s[0], s[1])
	}
	v := NewVerifier(testConfig())
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(testConfig().Leeway),
		jwt.WithTimeFunc(func() time.Time { return testNow }),
		jwt.WithStrictDecoding(),
	)
	keyFunc := func(*jwt.Token) (any, error) { return testSecret, nil }
	f.Fuzz(func(t *testing.T, header, payload string) {
		tok := craft(header, payload, testSecret)
		ours, err := v.Verify(bg, tok)
		if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify: an error of neither kind: %v", err)
		}
		var theirs jwt.RegisteredClaims
		_, jerr := parser.ParseWithClaims(tok, &theirs, keyFunc)
		if err == nil && jerr != nil {
			t.Fatalf("we accept what golang-jwt refuses: %v\nheader %q\npayload %q", jerr, header, payload)
		}
		if errors.Is(err, ErrExpired) && jerr != nil && !errors.Is(jerr, jwt.ErrTokenExpired) {
			t.Fatalf("we say expired, golang-jwt says %v\nheader %q\npayload %q", jerr, header, payload)
		}
		if err != nil || jerr != nil {
			return
		}
		switch {
		case ours.Subject != theirs.Subject, ours.Issuer != theirs.Issuer, ours.ID != theirs.ID,
			!ours.ExpiresAt.Truncate(time.Second).Equal(theirs.ExpiresAt.Time), !sameDate(ours.NotBefore, theirs.NotBefore), !sameDate(ours.IssuedAt, theirs.IssuedAt):
			t.Fatalf("claims differ: ours %+v, golang-jwt's %+v\npayload %q", ours, theirs, payload)
		}
		if !bytes.Equal(ours.JSON, []byte(payload)) {
			t.Fatalf("JSON is not the payload signed")
		}
	})
}

func sameDate(ours Time, theirs *jwt.NumericDate) bool {
	if theirs == nil {
		return ours.IsZero()
	}
	return ours.Truncate(time.Second).Equal(theirs.Time)
}

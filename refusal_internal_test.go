package jwtguard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/internal/bearer"
	"github.com/jwtguard/jwtguard/internal/token"
)

// TestRefusalShortcuts: the refusals refusalOf makes are classified by
// comparison, for speed; for every sentinel and every kind of cause the
// request path gives them, the answer and the reason counted are those
// that walking the error finds.
func TestRefusalShortcuts(t *testing.T) {
	secret := []byte("refusal-shortcuts-secret-0123456789")
	now := time.Unix(1_800_000_000, 0)
	v := token.NewVerifier(token.Config{Alg: "HS256", Secret: secret, Issuer: "iss", Audience: "aud", Now: func() time.Time { return now }})
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	sign := func(payload string, key []byte) string {
		in := seg(`{"alg":"HS256","typ":"JWT"}`) + "." + seg(payload)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	exp := fmt.Sprint(now.Add(time.Hour).Unix())
	causes := []error{bearer.ErrTooLong, bearer.ErrMalformed, bearer.ErrOtherScheme, errors.New("other")}
	for _, tok := range []string{
		"a.b", "a.b.c.d", "!.b.c", sign(`{"sub":"s","iss":"iss","aud":"aud","exp":`+exp+`}`, []byte("another-key-0123456789abcdefghijk")),
		sign(`{"sub":"s","iss":"iss","aud":"aud","exp":1}`, secret),
		sign(`{"sub":"s","iss":"other","aud":"aud","exp":`+exp+`}`, secret),
		sign(`{"sub":"s","iss":"iss","aud":"other","exp":`+exp+`}`, secret),
		sign(`{"sub":"s","iss":"iss","aud":"aud"}`, secret),
		sign(`{"sub":"s","iss":"iss","aud":"aud","exp":`+exp+`,"EXP":1}`, secret),
	} {
		_, err := v.Verify(t.Context(), tok)
		if err == nil {
			t.Fatalf("%s: accepted", tok)
		}
		causes = append(causes, err)
	}
	for _, ref := range refusals {
		for _, cause := range causes {
			err := refusalOf(ref.sentinel, cause)
			if got, want := refusalFor(err), walkedRefusalFor(err); got != want {
				t.Errorf("%v: answered as %v, walking finds %v", err, refusals[got].sentinel, refusals[want].sentinel)
			}
			if got, want := reasonIndex(err), walkedReasonIndex(err); got != want {
				t.Errorf("%v: counted as %s, walking finds %s", err, refusalReasons[got], refusalReasons[want])
			}
		}
	}
}

// TestFixedRefusalErrors: the refusals an Auth makes once for the
// verifier's fixed errors are those it would make each time.
func TestFixedRefusalErrors(t *testing.T) {
	key, err := HMACKey("HS256", []byte("fixed-refusal-errors-secret-012345"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(key, WithRealm("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range fixedRefusals {
		for _, bearer := range []bool{false, true} {
			got, want := a.refusal(w, bearer), a.newRefusal(w, bearer)
			if got.err != want.err || got.ref != want.ref || got.challenge != want.challenge {
				t.Errorf("%v, bearer %v: %+v, want %+v", w, bearer, got, want)
			}
			if got != a.refusal(w, bearer) {
				t.Errorf("%v, bearer %v: made again", w, bearer)
			}
		}
	}
}

package jwtguard_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// The registration review's findings (commit bf3f484), each fixed and
// tested here; internal/passwords, internal/guard and storetest hold the
// rest of their tests.

// TestReviewRegisterRefusesCommonPatterns: the review's passwords of 15
// characters or more that the blocklist did not hold are refused at the
// default policy as too common, and a password of one character that NFKC
// expands to 18 as too short. A finding of the registration review, fixed.
func TestReviewRegisterRefusesCommonPatterns(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}})
	for i, tc := range []struct{ password, reason string }{
		{"passwordpassword", "password_too_common"},
		{"aaaaaaaaaaaaaaa", "password_too_common"},
		{"123456789012345", "password_too_common"},
		{"qwertyuiopasdfgh", "password_too_common"},
		{"password1234567", "password_too_common"},
		{"iloveyouiloveyou", "password_too_common"},
		{"abcabcabcabcabc", "password_too_common"},
		{"\ufdfa", "password_too_short"},
	} {
		rec := rgPost(e.register, "192.0.2.1:1", rgBody("review"+strings.Repeat("x", i+1), tc.password))
		rtRefused(t, tc.password, rec, http.StatusBadRequest, "invalid_password")
		if !strings.Contains(rec.Body.String(), `"reason":"`+tc.reason+`"`) {
			t.Errorf("%q: %s, want reason %s", tc.password, rec.Body, tc.reason)
		}
	}
	for i, p := range []string{"correct horse battery staple", "Tr0ub4dor&3 is not a passphrase"} {
		if rec := rgPost(e.register, "192.0.2.1:1", rgBody("fine"+strings.Repeat("x", i+1), p)); rec.Code != http.StatusCreated {
			t.Errorf("%q: %d %s, want 201", p, rec.Code, rec.Body)
		}
	}
}

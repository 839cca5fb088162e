package jwtguard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestReviewRegisterLimitDefaultsPerField: RegisterPolicy.Address with only
// Burst set keeps the registration's 10 minutes (it took the login's 30
// seconds), and with only Every set the registration's burst of 5 (not the
// login's 10). A finding of the registration review, fixed.
func TestReviewRegisterLimitDefaultsPerField(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Burst: 2}})
	for i := range 2 {
		if rec := rgPost(e.register, "192.0.2.1:1", rgBody("burst"+strings.Repeat("x", i+1), rgPassword)); rec.Code != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := rgPost(e.register, "192.0.2.1:1", rgBody("burstzzz", rgPassword))
	rtRefused(t, "the third with Burst 2", rec, http.StatusTooManyRequests, "too_many_requests")
	if ra := rec.Header().Get("Retry-After"); ra != "600" {
		t.Errorf("Retry-After %q with only Burst set, want 600 (the registration's 10 minutes)", ra)
	}

	e = rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Every: time.Hour}})
	for i := range 6 {
		rec := rgPost(e.register, "192.0.2.1:1", rgBody("every"+strings.Repeat("x", i+1), rgPassword))
		if want := map[bool]int{true: 201, false: 429}[i < 5]; rec.Code != want {
			t.Errorf("registration %d with only Every set: %d, want %d (a burst of 5)", i+1, rec.Code, want)
		}
		if i == 5 && rec.Header().Get("Retry-After") != "3600" {
			t.Errorf("Retry-After %q, want 3600", rec.Header().Get("Retry-After"))
		}
	}
}

package jwtguard_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
)

// TestStatsCountRefusalsByReason: each refusal is counted once, under its
// reason, and every reason is present.
func TestStatsCountRefusalsByReason(t *testing.T) {
	a := vtAuth(t, jwtguard.WithIssuer("https://auth.example.com"), jwtguard.WithAudience("orders"))
	good := map[string]any{"iss": "https://auth.example.com", "aud": "orders"}
	with := func(k string, v any) map[string]any {
		return map[string]any{"iss": "https://auth.example.com", "aud": "orders", k: v}
	}
	verify := a.Verify(&vtProbe{})
	for _, tc := range []struct {
		reason string
		req    *http.Request
	}{
		{"no_token", vtGet("/r")},
		{"malformed_request", vtGet("/r", "Bearer a b")},
		{"malformed_token", vtGet("/r", "Bearer a.b.c")},
		{"malformed_token", vtGet("/r", "Bearer "+strings.Repeat("a", 5000))},
		{"bad_signature", vtGet("/r", "Bearer "+vtCraft(vtHS256, vtPayload(good), vtAttackerSecret))},
		{"expired", vtGet("/r", "Bearer "+vtToken(with("exp", vtNow.Add(-time.Hour).Unix())))},
		{"wrong_issuer", vtGet("/r", "Bearer "+vtToken(with("iss", "https://evil.example.com")))},
		{"wrong_audience", vtGet("/r", "Bearer "+vtToken(with("aud", "billing")))},
		{"invalid_claims", vtGet("/r", "Bearer "+vtToken(with("nbf", vtNow.Add(time.Hour).Unix())))},
		{"invalid_claims", vtGet("/r", "Bearer "+vtToken(map[string]any{"iss": "https://auth.example.com", "aud": "orders", "sub": nil, "exp": vtNow.Add(-time.Hour).Unix()}))},
	} {
		before := a.Stats().Refusals[tc.reason]
		vtServe(verify, tc.req)
		if got := a.Stats().Refusals[tc.reason]; got != before+1 {
			t.Errorf("%s: count %d → %d, want one more", tc.reason, before, got)
		}
	}
	admin := a.Verify(a.Authorize("admin")(&vtProbe{}))
	vtServe(admin, vtGet("/r", "Bearer "+vtToken(good)))
	st := a.Stats()
	if st.Refusals["insufficient_scope"] != 1 {
		t.Errorf("insufficient_scope = %d, want 1", st.Refusals["insufficient_scope"])
	}
	if len(st.Refusals) != 30 {
		t.Errorf("%d reasons, want all 30 present: %v", len(st.Refusals), st.Refusals)
	}
	var total uint64
	for _, n := range st.Refusals {
		total += n
	}
	if total != 11 {
		t.Errorf("%d refusals counted, want 11: %v", total, st.Refusals)
	}
}

// TestStatsCountLoginRefusals: login refusals are counted too.
func TestStatsCountLoginRefusals(t *testing.T) {
	a := ltAuth(t)
	h := a.LoginHandler(ltStore(t))
	ltLogin(h, `{"username":"alice","password":"wrong"}`)
	ltLogin(h, `{"username":"alice"`)
	rec := vtServe(h, ltRequest(http.MethodGet, "", ""))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
	}
	st := a.Stats().Refusals
	if st["invalid_credentials"] != 1 || st["malformed_request"] != 1 || st["method_not_allowed"] != 1 {
		t.Errorf("refusals %v", st)
	}
}

// TestWiringWarnings: mistakes an operator must see are logged at Warn,
// at most once a minute each, with how many occurrences the line covers.
func TestWiringWarnings(t *testing.T) {
	warns := func(buf *bytes.Buffer, msg string) []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["level"] == "WARN" && strings.Contains(m["msg"].(string), msg) {
				out = append(out, m)
			}
		}
		return out
	}
	t.Run("Authorize without Verify", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var buf bytes.Buffer
			a := vtAuth(t, vtLogged(&buf))
			h := a.Authorize("admin")(&vtProbe{})
			for range 3 {
				if rec := vtServe(h, vtGet("/r", "Bearer "+vtToken(nil))); rec.Code != 401 {
					t.Fatalf("status %d", rec.Code)
				}
			}
			if w := warns(&buf, "is Verify or VerifyOptional in front"); len(w) != 1 || w[0]["count"] != 1.0 {
				t.Fatalf("warnings %v, want one covering one request", w)
			}
			time.Sleep(time.Minute) // synctest's clock: the warning's interval passes
			vtServe(h, vtGet("/r"))
			if w := warns(&buf, "is Verify or VerifyOptional in front"); len(w) != 2 || w[1]["count"] != 3.0 {
				t.Errorf("warnings %v, want a second covering three requests", w)
			}
		})
	})
	t.Run("VerifyOptional in front is no mistake", func(t *testing.T) {
		var buf bytes.Buffer
		a := vtAuth(t, vtLogged(&buf))
		if rec := vtServe(a.VerifyOptional(a.Authorize("admin")(&vtProbe{})), vtGet("/r")); rec.Code != 401 {
			t.Fatalf("status %d", rec.Code)
		}
		if w := warns(&buf, "in front"); len(w) != 0 {
			t.Errorf("warnings %v, want none", w)
		}
	})
	t.Run("token without the Bearer scheme", func(t *testing.T) {
		var buf bytes.Buffer
		a := vtAuth(t, vtLogged(&buf))
		rec := vtServe(a.Verify(&vtProbe{}), vtGet("/r", vtToken(nil)))
		vtCheckRefused(t, rec, nil, vtNoToken)
		if w := warns(&buf, "without the Bearer scheme"); len(w) != 1 {
			t.Errorf("warnings %v, want one", w)
		}
		vtServe(a.Verify(&vtProbe{}), vtGet("/r", "Basic dXNlcjpwYXNz"))
		if w := warns(&buf, "without the Bearer scheme"); len(w) != 1 {
			t.Errorf("a Basic header warned too: %v", w)
		}
	})
	t.Run("burst of bad signatures", func(t *testing.T) {
		var buf bytes.Buffer
		a := vtAuth(t, vtLogged(&buf))
		h := a.Verify(&vtProbe{})
		forged := "Bearer " + vtCraft(vtHS256, vtPayload(nil), vtAttackerSecret)
		for range 9 {
			vtServe(h, vtGet("/r", forged))
		}
		if w := warns(&buf, "bad signatures"); len(w) != 0 {
			t.Fatalf("warned after 9: %v", w)
		}
		vtServe(h, vtGet("/r", forged))
		if w := warns(&buf, "bad signatures"); len(w) != 1 || w[0]["count"] != 10.0 {
			t.Errorf("warnings %v, want one covering 10", w)
		}
		if strings.Contains(buf.String(), forged[7:]) {
			t.Error("the log carries the whole token")
		}
	})
}

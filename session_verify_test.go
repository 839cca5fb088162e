package jwtguard_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// svStore is a session store with sessions s1 (live), s2 (revoked) and s3
// (ended a second more than the leeway before vtNow: its tokens are
// refused), and the jti "denied" denied until an hour after vtNow.
func svStore(t *testing.T) jwtguard.SessionStore {
	t.Helper()
	ctx := context.Background()
	s := jwtguard.NewMemorySessionStore()
	for _, sess := range []jwtguard.Session{
		{ID: "s1", UserID: "user-1", CreatedAt: vtNow.Add(-time.Hour), ExpiresAt: vtNow.Add(7 * 24 * time.Hour)},
		{ID: "s2", UserID: "user-1", CreatedAt: vtNow.Add(-time.Hour), ExpiresAt: vtNow.Add(7 * 24 * time.Hour)},
		{ID: "s3", UserID: "user-1", CreatedAt: vtNow.Add(-time.Hour), ExpiresAt: vtNow.Add(-vtLeeway - time.Second)},
	} {
		if err := s.CreateSession(ctx, sess, sha256.Sum256([]byte(sess.ID))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeSession(ctx, "s2", vtNow.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.DenyAccessToken(ctx, "denied", vtNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVerifyWithSessions: with WithSessions, Verify refuses a token whose
// session is revoked, ended or unknown, or whose jti was denied, as an
// invalid token counted as revoked; it accepts a token of a live session
// and hands on its sid; without the option the same tokens pass (Verify
// stays stateless).
func TestVerifyWithSessions(t *testing.T) {
	store := svStore(t)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   vtOutcome
	}{
		{"live session", map[string]any{"sid": "s1", "jti": "j-1"}, vtAccept},
		{"live session, no jti", map[string]any{"sid": "s1"}, vtAccept},
		{"no session, a jti not denied", map[string]any{"jti": "j-2"}, vtAccept},
		{"neither sid nor jti", nil, vtAccept},
		{"revoked session", map[string]any{"sid": "s2", "jti": "j-3"}, vtInvalid},
		{"ended session", map[string]any{"sid": "s3"}, vtInvalid},
		{"unknown session", map[string]any{"sid": "s9"}, vtInvalid},
		{"denied jti of a live session", map[string]any{"sid": "s1", "jti": "denied"}, vtInvalid},
		{"denied jti without a session", map[string]any{"jti": "denied"}, vtInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := vtAuth(t, jwtguard.WithSessions(store))
			p := &vtProbe{}
			rec := vtServe(a.Verify(p), vtGet("/r", "Bearer "+vtToken(tc.claims)))
			if tc.want == vtAccept {
				if rec.Code != http.StatusOK || !p.called {
					t.Fatalf("status %d, next called %v; want accepted", rec.Code, p.called)
				}
				if sid, _ := tc.claims["sid"].(string); p.claims.SessionID != sid {
					t.Errorf("SessionID %q, want %q", p.claims.SessionID, sid)
				}
				return
			}
			vtCheckRefused(t, rec, p, tc.want)
			if n := a.Stats().Refusals["revoked"]; n != 1 {
				t.Errorf("revoked counted %d times, want 1", n)
			}
			// Stateless without the option.
			if rec := vtServe(vtAuth(t).Verify(&vtProbe{}), vtGet("/r", "Bearer "+vtToken(tc.claims))); rec.Code != http.StatusOK {
				t.Errorf("without WithSessions: status %d, want 200", rec.Code)
			}
			// VerifyOptional and Authenticate refuse it too.
			if rec := vtServe(a.VerifyOptional(&vtProbe{}), vtGet("/r", "Bearer "+vtToken(tc.claims))); rec.Code != http.StatusUnauthorized {
				t.Errorf("VerifyOptional: status %d, want 401", rec.Code)
			}
			if _, err := a.Authenticate(vtGet("/r", "Bearer "+vtToken(tc.claims))); !errors.Is(err, jwtguard.ErrInvalidToken) {
				t.Errorf("Authenticate: %v, want ErrInvalidToken", err)
			}
		})
	}
}

// svFailing is a session store whose Revoked fails, and counts its calls.
type svFailing struct {
	jwtguard.SessionStore
	calls int
}

func (f *svFailing) Revoked(context.Context, string, string, time.Time) (bool, error) {
	f.calls++
	return false, errors.New("connection refused")
}

// TestVerifySessionStoreFails: a store that fails is answered 503 with
// Retry-After, fail closed, and logged at Error level; a token with
// neither sid nor jti is not looked up.
func TestVerifySessionStoreFails(t *testing.T) {
	var log bytes.Buffer
	store := &svFailing{SessionStore: jwtguard.NewMemorySessionStore()}
	a := vtAuth(t, jwtguard.WithSessions(store), vtLogged(&log))
	p := &vtProbe{}
	rec := vtServe(a.Verify(p), vtGet("/r", "Bearer "+vtToken(map[string]any{"sid": "s1", "jti": "j"})))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || p.called {
		t.Fatalf("status %d, Retry-After %q, next called %v; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"), p.called)
	}
	if !strings.Contains(log.String(), `"level":"ERROR"`) || !strings.Contains(log.String(), "connection refused") {
		t.Errorf("the store's failure is not logged at Error level:\n%s", log.String())
	}
	if store.calls != 1 {
		t.Errorf("%d calls of Revoked, want 1", store.calls)
	}
	if rec := vtServe(a.Verify(&vtProbe{}), vtGet("/r", "Bearer "+vtToken(nil))); rec.Code != http.StatusOK || store.calls != 1 {
		t.Errorf("a token with neither sid nor jti: status %d, %d calls; want 200 without a call", rec.Code, store.calls)
	}
	if _, err := jwtguard.New(testKey(t, vtSecret), jwtguard.WithSessions(nil)); err == nil {
		t.Error("WithSessions(nil): no error")
	}
}

// BenchmarkVerifySessions: the same token (with sid and jti) through Verify
// without a session store and with a memory store of 10 000 sessions: the
// difference is what the revocation check adds to every request (issue
// 14: at most 100 ns).
func BenchmarkVerifySessions(b *testing.B) {
	ctx := context.Background()
	store := jwtguard.NewMemorySessionStore()
	for i := range 10_000 {
		id := "session-" + strconv.Itoa(i)
		if err := store.CreateSession(ctx, jwtguard.Session{ID: id, UserID: "user-" + strconv.Itoa(i), CreatedAt: vtNow, ExpiresAt: vtNow.Add(7 * 24 * time.Hour)}, sha256.Sum256([]byte(id))); err != nil {
			b.Fatal(err)
		}
	}
	tok := vtToken(map[string]any{"sid": "session-4242", "jti": "jti-1", "username": "alice@example.com", "roles": []string{"admin", "user"}})
	for _, bc := range []struct {
		name string
		opts []jwtguard.Option
	}{
		{"stateless", nil},
		{"memory-store", []jwtguard.Option{jwtguard.WithSessions(store)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := vtAuth(b, bc.opts...)
			var ok bool
			h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, ok = jwtguard.FromContext(r.Context())
			}))
			req := vtGet("/api/user/profile", "Bearer "+tok)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				ok = false
				h.ServeHTTP(w, req)
				if !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

package jwtguard_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Review of issue 14's session store and Verify's revocation check
// (commits 00bbaa7, b953dd6): each test states a property an attacker
// would break. Those that failed were the review's findings and pass since
// its fixes; the findings that became rules of storetest.Sessions (the
// zero time, the grace window's lower bound, a negative IdleTimeout) are
// tested there, for every store.

// TestReviewDeniedJTIAcceptedWithinLeeway (a finding, fixed; as the review found it): a logout denies the access
// token's jti "until it expires" (DenyAccessToken's doc; the issue: "until
// its exp"), but Verify accepts a token up to the leeway (10 s by default,
// up to 5 min) after its exp, so from exp to exp+leeway the logged-out token
// is accepted again. Tokens that Issue makes today carry a jti and no sid,
// so the denial is all that refuses them.
func TestReviewDeniedJTIAcceptedWithinLeeway(t *testing.T) {
	ctx := context.Background()
	exp := vtNow.Add(5 * time.Minute) // vtToken's exp
	store := jwtguard.NewMemorySessionStore()
	if err := store.DenyAccessToken(ctx, "logged-out", exp); err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{0, 5 * time.Second, vtLeeway - time.Second} {
		now := exp.Add(after)
		a := vtAuth(t, jwtguard.WithSessions(store), jwtguard.WithClock(func() time.Time { return now }))
		p := &vtProbe{}
		rec := vtServe(a.Verify(p), vtGet("/r", "Bearer "+vtToken(map[string]any{"jti": "logged-out"})))
		if p.called {
			t.Errorf("exp+%v: the token whose jti a logout denied until its exp is accepted (status %d): the leeway outlives the denial", after, rec.Code)
		}
	}
}

// TestReviewGraceStolenPreviousLocksOutOwner: an attacker who has the
// token the owner just spent (a proxy log, a shared device) presents it
// inside the grace window: it gets a fresh pair and the owner's token is
// superseded. The owner's next refresh inside the window is
// ErrRefreshTokenSuperseded and the session is kept, so the attacker holds
// the family and the owner must log in again. This is the grace window's
// price, as the contract states it (a store cannot tell the owner's retry
// from a thief's): the window is off by default, should be seconds, and the
// DPoP issue binds retries to the client's key. The test pins the
// documented behaviour so that a change to it is a decision.
func TestReviewGraceStolenPreviousLocksOutOwner(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	const grace = 10 * time.Second
	s := jwtguard.NewMemorySessionStore()
	p := sha256.Sum256([]byte("p"))
	if err := s.CreateSession(ctx, jwtguard.Session{ID: "g2", UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}, p); err != nil {
		t.Fatal(err)
	}
	owner := sha256.Sum256([]byte("owner-c1"))
	if _, err := s.RotateSession(ctx, p, owner, t0, grace); err != nil { // the owner refreshes
		t.Fatal(err)
	}
	attacker := sha256.Sum256([]byte("attacker-c2"))
	if _, err := s.RotateSession(ctx, p, attacker, t0.Add(time.Second), grace); err != nil { // replay of the stolen P
		t.Fatalf("attacker's replay inside the window: %v", err)
	}
	if _, err := s.RotateSession(ctx, owner, sha256.Sum256([]byte("owner-c3")), t0.Add(2*time.Second), grace); !errors.Is(err, jwtguard.ErrRefreshTokenSuperseded) {
		t.Errorf("the owner's superseded token inside the window: %v; want ErrRefreshTokenSuperseded (the documented price of the window)", err)
	}
	// After the window, the owner's token is reuse, and the family dies.
	if _, err := s.RotateSession(ctx, owner, sha256.Sum256([]byte("owner-c4")), t0.Add(grace), grace); !errors.Is(err, jwtguard.ErrRefreshTokenReused) {
		t.Errorf("the owner's superseded token after the window: %v; want ErrRefreshTokenReused", err)
	}
	if _, err := s.RotateSession(ctx, attacker, sha256.Sum256([]byte("attacker-c5")), t0.Add(grace+time.Second), grace); err == nil {
		t.Error("after the reuse, the attacker's token still rotates")
	}
}

// TestReviewNullOrEmptySIDSkipsCheck (a finding, fixed; as the review found it): "sid": null and "sid": "" are read as
// no sid, so the token is never looked up: a token that names no family
// (or that an issuer sharing the secret minted) is immune to every session
// revocation, logout everywhere included; there is no way to make Verify
// require a sid once sessions are in use.
func TestReviewNullOrEmptySIDSkipsCheck(t *testing.T) {
	store := &svCounting{SessionStore: jwtguard.NewMemorySessionStore()}
	a := vtAuth(t, jwtguard.WithSessions(store))
	base := strings.TrimSuffix(vtPayload(nil), "}")
	for name, payload := range map[string]string{
		"null":  base + `,"sid":null}`,
		"empty": base + `,"sid":""}`,
	} {
		t.Run(name, func(t *testing.T) {
			store.calls = 0
			p := &vtProbe{}
			vtServe(a.Verify(p), vtGet("/r", "Bearer "+vtCraft(vtHS256, payload, vtSecret)))
			if p.called {
				t.Errorf("a token with %s is accepted with WithSessions, %d store calls: no revocation can reach it", payload, store.calls)
			}
		})
	}
}

type svCounting struct {
	jwtguard.SessionStore
	calls int
}

func (c *svCounting) Revoked(ctx context.Context, sid, jti string, now time.Time) (bool, error) {
	c.calls++
	return c.SessionStore.Revoked(ctx, sid, jti, now)
}

// TestReviewSIDOddForms (held): a sid that is not a string, duplicated,
// or in another letter case is refused as a malformed token; an escaped
// "sid" name is the sid and is checked.
func TestReviewSIDOddForms(t *testing.T) {
	store := svStore(t) // s1 live, s2 revoked
	a := vtAuth(t, jwtguard.WithSessions(store))
	base := strings.TrimSuffix(vtPayload(nil), "}")
	for _, tc := range []struct{ name, tail string }{
		{"number", `,"sid":2}`},
		{"array", `,"sid":["s2"]}`},
		{"object", `,"sid":{"id":"s2"}}`},
		{"bool", `,"sid":true}`},
		{"duplicate", `,"sid":"s2","sid":"s1"}`},
		{"duplicate-null", `,"sid":null,"sid":"s2"}`},
		{"duplicate-escaped", `,"sid":"s2","\u0073id":"s1"}`},
		{"upper", `,"SID":"s2"}`},
		{"mixed", `,"Sid":"s2"}`},
		{"long-s", `,"ſid":"s2"}`},
		{"both-cases", `,"sid":"s1","SID":"s2"}`},
		{"escaped-name-revoked", `,"\u0073id":"s2"}`},
		{"escaped-value-revoked", `,"sid":"\u00732"}`},
		{"nul-suffix", `,"sid":"s1\u0000"}`},
		{"space-suffix", `,"sid":"s1 "}`},
		{"case-variant-value", `,"sid":"S1"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &vtProbe{}
			rec := vtServe(a.Verify(p), vtGet("/r", "Bearer "+vtCraft(vtHS256, base+tc.tail, vtSecret)))
			if p.called || rec.Code != http.StatusUnauthorized {
				t.Errorf("%s: status %d, next called %v; want 401", tc.tail, rec.Code, p.called)
			}
		})
	}
}

// svSecretFailing fails with an error text an operator would not publish.
type svSecretFailing struct{ jwtguard.SessionStore }

const svStoreSecret = `pq: password authentication failed for user "jwtguard_rw" host=db-primary.internal.example:5432`

func (svSecretFailing) Revoked(context.Context, string, string, time.Time) (bool, error) {
	return false, errors.New(svStoreSecret)
}

// TestReview503NoStoreText (held): a failing store's error text reaches
// neither the body nor the headers of the 503, for Verify,
// VerifyOptional and Authenticate+WriteError; the log does not carry the
// token.
func TestReview503NoStoreText(t *testing.T) {
	var log bytes.Buffer
	a := vtAuth(t, jwtguard.WithSessions(svSecretFailing{jwtguard.NewMemorySessionStore()}), vtLogged(&log))
	tok := vtToken(map[string]any{"sid": "s1", "jti": "j-1"})
	check := func(what string, code int, h http.Header, body string) {
		t.Helper()
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("%s: status %d, Retry-After %q; want 503 with Retry-After", what, code, h.Get("Retry-After"))
		}
		all := body
		for k, v := range h {
			all += k + ": " + strings.Join(v, ",") + "\n"
		}
		for _, bit := range []string{"pq:", "password", "jwtguard_rw", "db-primary", "5432", "session store"} {
			if strings.Contains(all, bit) {
				t.Errorf("%s: the answer reveals %q:\n%s", what, bit, all)
			}
		}
	}
	for name, h := range map[string]http.Handler{"Verify": a.Verify(&vtProbe{}), "VerifyOptional": a.VerifyOptional(&vtProbe{})} {
		rec := vtServe(h, vtGet("/r", "Bearer "+tok))
		check(name, rec.Code, rec.Header(), rec.Body.String())
	}
	_, err := a.Authenticate(vtGet("/r", "Bearer "+tok))
	rec := vtServe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { jwtguard.WriteError(w, r, err) }), vtGet("/r"))
	check("Authenticate+WriteError", rec.Code, rec.Header(), rec.Body.String())
	if strings.Contains(log.String(), tok) || strings.Contains(log.String(), strings.Split(tok, ".")[2]) {
		t.Error("the log carries the token")
	}
}

// TestReviewDenialSweptInsideLeeway (a finding of the lifecycle review,
// fixed): a logout denied the token's jti until its exp, and Verify asks
// the store as of now less the leeway; but the memory store's sweep drops
// a denial once the real now reaches its end, so for the leeway after
// exp a logged-out token without a session was accepted again. Logout now
// denies until exp plus the leeway.
func TestReviewDenialSweptInsideLeeway(t *testing.T) {
	ctx := context.Background()
	e := rtSetup(t)
	u, _ := e.users.LookupUserByID(ctx, "u-alice")
	tr, err := e.auth.Issue(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	other := e.signIn(t)
	loLoggedOut(t, "logout", loPost(e.auth.LogoutHandler(), tr.AccessToken, "", ""))
	e.clock.Add(15*time.Minute + 2*time.Second)
	e.mustRefresh(t, other.RefreshToken) // sweeps
	if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
		t.Error("the logged-out token is accepted inside the leeway after a sweep")
	}
}

// TestReviewRefreshClaimsFailureSpendsToken (a finding of the lifecycle
// review, fixed): a WithClaims function that failed after the rotation
// left the client a 500 and a spent token, whose retry was then reuse and
// revoked the session. The claims are now made before the token is spent.
func TestReviewRefreshClaimsFailureSpendsToken(t *testing.T) {
	var fail atomic.Bool
	e := rtSetup(t, jwtguard.WithClaims(func(context.Context, jwtguard.User) (map[string]any, error) {
		if fail.Load() {
			return nil, errors.New("tenant database down")
		}
		return map[string]any{"tenant": "t1"}, nil
	}))
	tr := e.signIn(t)
	fail.Store(true)
	rtRefused(t, "claims fail", e.rtRefresh(tr.RefreshToken), http.StatusInternalServerError, "server_error")
	fail.Store(false)
	e.mustRefresh(t, tr.RefreshToken)
	if st := e.auth.Stats().Refusals; st["refresh_reused"] != 0 {
		t.Errorf("refresh_reused %d, want 0", st["refresh_reused"])
	}
}

// TestReviewLogoutWithoutSidOrJTI (a finding of the lifecycle review,
// fixed): a valid token with neither sid nor jti (one minted elsewhere
// with the same key) was answered 204 by logout, which could do nothing
// to it. It is refused now, before anything is revoked.
func TestReviewLogoutWithoutSidOrJTI(t *testing.T) {
	e := rtSetup(t)
	now := e.clock.Now()
	tok := vtCraft(vtHS256, fmt.Sprintf(`{"sub":"u-alice","iat":%d,"exp":%d}`, now.Unix(), now.Add(10*time.Minute).Unix()), ltSecret)
	tr := e.signIn(t)
	rtRefused(t, "a token that cannot be logged out", loPost(e.auth.LogoutHandler(), tok, "application/json", rtJSON(tr.RefreshToken)), http.StatusBadRequest, "invalid_request")
	e.mustRefresh(t, tr.RefreshToken) // nothing was revoked
}

// TestReviewIdleSessionAccessToken (a finding of the lifecycle review,
// fixed): an access token's exp was cut to its session's end but not to
// its idle deadline, so with a short idle timeout it outlived the session.
func TestReviewIdleSessionAccessToken(t *testing.T) {
	e := rtSetup(t, jwtguard.WithSessionLifetime(24*time.Hour, 5*time.Minute))
	tr := e.signIn(t)
	if tr.ExpiresIn != 300 {
		t.Errorf("expires_in %d, want the idle timeout's 300", tr.ExpiresIn)
	}
	e.clock.Add(3 * time.Minute)
	tr = e.mustRefresh(t, tr.RefreshToken)
	if exp := int64(ltPayload(t, tr.AccessToken)["exp"].(float64)); exp != e.clock.Now().Add(5*time.Minute).Unix() {
		t.Errorf("refreshed exp %d, want the new idle deadline %d", exp, e.clock.Now().Add(5*time.Minute).Unix())
	}
	e.clock.Add(6 * time.Minute)
	rtRefused(t, "idle", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
	if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
		t.Error("the access token outlives its idle session")
	}
}

// TestReviewLogoutEmptyJSONBody: a logout that says application/json and
// sends no body (as many HTTP clients do by default) is a logout with the
// access token alone.
func TestReviewLogoutEmptyJSONBody(t *testing.T) {
	e := rtSetup(t)
	tr := e.signIn(t)
	loLoggedOut(t, "empty JSON body", loPost(e.auth.LogoutHandler(), tr.AccessToken, "application/json", ""))
	rtRefused(t, "refresh after logout", e.rtRefresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
}

// TestReviewCreateRevokedSessionIsRevoked (a finding of the fixes' review,
// fixed): the memory store's lock-free view of a session created with
// RevokedAt set started live, and Verify's Revoked accepted its tokens.
func TestReviewCreateRevokedSessionIsRevoked(t *testing.T) {
	ctx, st, now := context.Background(), jwtguard.NewMemorySessionStore(), time.Now()
	s := jwtguard.Session{ID: "sid-1", UserID: "u1", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour), RevokedAt: now.Add(-time.Second)}
	if err := st.CreateSession(ctx, s, jwtguard.HashRefreshToken("t1")); err != nil {
		t.Fatal(err)
	}
	if revoked, err := st.Revoked(ctx, "sid-1", "", now); err != nil || !revoked {
		t.Errorf("Revoked = %v, %v; want a session created revoked refused", revoked, err)
	}
}

package jwtguard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

const (
	dpLoginURI   = "http://example.com/api/auth/login"
	dpRefreshURI = "http://example.com/api/auth/refresh"
)

// dpPost posts body to h at uri with the proofs.
func dpPost(h http.Handler, uri, body string, proofs ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, uri, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// at makes a proof at the env's clock.
func (e *rtEnv) at(p *dpProof) { p.claims["iat"] = e.clock.Now().Unix() }

// TestDPoPLoginAndRefresh: a login with a proof issues a DPoP token bound
// to its key and a session bound to it; the session's refreshes need
// proofs of that key; the tokens verify with proofs of it.
func TestDPoPLoginAndRefresh(t *testing.T) {
	e := rtSetup(t)
	k, other := dpNewKey(t), dpNewKey(t)
	rec := dpPost(e.login, dpLoginURI, ltAlice, k.proof(t, "POST", dpLoginURI, "", e.at))
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	tr := slDecode(t, rec.Body.Bytes())
	if tr.TokenType != "DPoP" {
		t.Errorf("token_type %q, want DPoP", tr.TokenType)
	}
	cnf, _ := ltPayload(t, tr.AccessToken)["cnf"].(map[string]any)
	if cnf["jkt"] != k.jkt || len(cnf) != 1 {
		t.Fatalf("cnf %v, want jkt %s", cnf, k.jkt)
	}
	s, err := e.store.LookupSession(t.Context(), jwtguard.HashRefreshToken(tr.RefreshToken))
	if err != nil || s.KeyBinding != k.jkt {
		t.Fatalf("session %+v, %v: want KeyBinding %s", s, err, k.jkt)
	}
	verify := func(tok string, proof string) int {
		r := httptest.NewRequest("GET", dpURI, nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", proof)
		return vtServe(e.auth.Verify(&vtProbe{}), r).Code
	}
	if c := verify(tr.AccessToken, k.proof(t, "GET", dpURI, tr.AccessToken, e.at)); c != 200 {
		t.Errorf("the login's token with its proof: %d", c)
	}

	// Refreshes of the bound session.
	before := e.auth.Stats()
	rtRefused(t, "refresh without a proof", e.rtRefresh(tr.RefreshToken), 400, "invalid_dpop_proof")
	rtRefused(t, "refresh with another key's proof", dpPost(e.refresh, dpRefreshURI, rtJSON(tr.RefreshToken), other.proof(t, "POST", dpRefreshURI, "", e.at)), 400, "invalid_dpop_proof")
	rtRefused(t, "refresh with a proof for the login URI", dpPost(e.refresh, dpRefreshURI, rtJSON(tr.RefreshToken), k.proof(t, "POST", dpLoginURI, "", e.at)), 400, "invalid_dpop_proof")
	st := e.auth.Stats()
	if st.Refusals["dpop_invalid_proof"] != before.Refusals["dpop_invalid_proof"]+2 || st.Refusals["dpop_key_mismatch"] != before.Refusals["dpop_key_mismatch"]+1 {
		t.Errorf("refusals counted: %v", st.Refusals)
	}
	// The refused refreshes spent nothing.
	rec = dpPost(e.refresh, dpRefreshURI, rtJSON(tr.RefreshToken), k.proof(t, "POST", dpRefreshURI, "", e.at))
	if rec.Code != 200 {
		t.Fatalf("refresh with the key's proof: %d %s", rec.Code, rec.Body)
	}
	next := slDecode(t, rec.Body.Bytes())
	if next.TokenType != "DPoP" {
		t.Errorf("refreshed token_type %q", next.TokenType)
	}
	if cnf, _ := ltPayload(t, next.AccessToken)["cnf"].(map[string]any); cnf["jkt"] != k.jkt {
		t.Errorf("refreshed cnf %v", cnf)
	}
	if c := verify(next.AccessToken, other.proof(t, "GET", dpURI, next.AccessToken, e.at)); c != 401 {
		t.Errorf("the refreshed token with another key's proof: %d", c)
	}
	if c := verify(next.AccessToken, k.proof(t, "GET", dpURI, next.AccessToken, e.at)); c != 200 {
		t.Errorf("the refreshed token with its proof: %d", c)
	}
	// A proof replayed at the refresh handler.
	replay := k.proof(t, "POST", dpRefreshURI, "", e.at)
	rec = dpPost(e.refresh, dpRefreshURI, rtJSON(next.RefreshToken), replay)
	if rec.Code != 200 {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	third := slDecode(t, rec.Body.Bytes())
	before = e.auth.Stats()
	rtRefused(t, "a replayed proof", dpPost(e.refresh, dpRefreshURI, rtJSON(third.RefreshToken), replay), 400, "invalid_dpop_proof")
	if e.auth.Stats().Refusals["dpop_replayed"] != before.Refusals["dpop_replayed"]+1 {
		t.Error("the replay was not counted as dpop_replayed")
	}
}

// TestDPoPGrantBearer: without a proof, login and refresh issue bearer
// tokens; a bearer session's refresh with a proof is refused, its
// refresh token not spent, since the refresh tokens of the answer would
// be bound to nothing (RFC 9449 §5; attacker review); with DPoP required,
// a bearer session left from before cannot be refreshed at all.
func TestDPoPGrantBearer(t *testing.T) {
	e := rtSetup(t)
	tr := e.signIn(t)
	if tr.TokenType != "Bearer" {
		t.Errorf("login without a proof: token_type %q", tr.TokenType)
	}
	if _, bound := ltPayload(t, tr.AccessToken)["cnf"]; bound {
		t.Error("a bearer token has cnf")
	}
	k := dpNewKey(t)
	rtRefused(t, "a bearer session's refresh with a proof", dpPost(e.refresh, dpRefreshURI, rtJSON(tr.RefreshToken), k.proof(t, "POST", dpRefreshURI, "", e.at)), 400, "invalid_dpop_proof")
	next := e.mustRefresh(t, tr.RefreshToken)
	if next.TokenType != "Bearer" {
		t.Errorf("the bearer session's refresh without a proof: token_type %q", next.TokenType)
	}
	required := ltAuth(t, jwtguard.WithSessions(e.store), jwtguard.WithClock(e.clock.Now), jwtguard.WithDPoP(jwtguard.DPoPPolicy{Mode: jwtguard.DPoPRequired}))
	rtRefused(t, "DPoP required: a bearer session's refresh", rtPost(required.RefreshHandler(e.users), "application/json", rtJSON(next.RefreshToken)), 400, "invalid_grant")
}

// TestDPoPOffRefusesBoundSessions: with DPoP off, a session bound to a
// DPoP key (made before) is not refreshed without its proof: its binding
// cannot be checked (attacker review).
func TestDPoPOffRefusesBoundSessions(t *testing.T) {
	e := rtSetup(t)
	k := dpNewKey(t)
	rec := dpPost(e.login, dpLoginURI, ltAlice, k.proof(t, "POST", dpLoginURI, "", e.at))
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	tr := slDecode(t, rec.Body.Bytes())
	off := ltAuth(t, jwtguard.WithSessions(e.store), jwtguard.WithClock(e.clock.Now), jwtguard.WithDPoP(jwtguard.DPoPPolicy{Mode: jwtguard.DPoPOff}))
	rtRefused(t, "DPoP off: a bound session's refresh", rtPost(off.RefreshHandler(e.users), "application/json", rtJSON(tr.RefreshToken)), 400, "invalid_grant")
}

// TestDPoPLoginRecordsOnlyGoodLogins: a login's proof is recorded in the
// replay cache only once its password is found good, so that a client
// without an account cannot fill the cache (attacker review: 160,000
// logins of "nobody" with fresh proofs locked every DPoP client out); a
// good login's proof replayed is refused.
func TestDPoPLoginRecordsOnlyGoodLogins(t *testing.T) {
	cache := &countingCache{ReplayCache: jwtguard.NewMemoryReplayCache(1024)}
	e := rtSetup(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{ReplayCache: cache}))
	k := dpNewKey(t)
	for i := range 20 {
		rec := dpPost(e.login, dpLoginURI, `{"username":"nobody`+string(rune('a'+i))+`","password":"x"}`, k.proof(t, "POST", dpLoginURI, "", e.at))
		if rec.Code == 200 {
			t.Fatalf("a login of nobody: %d", rec.Code)
		}
	}
	wrong := k.proof(t, "POST", dpLoginURI, "", e.at)
	if rec := dpPost(e.login, dpLoginURI, `{"username":"alice","password":"wrong-password"}`, wrong); rec.Code != 401 {
		t.Fatalf("a wrong password: %d", rec.Code)
	}
	if cache.adds != 0 {
		t.Fatalf("%d proofs of refused logins recorded", cache.adds)
	}
	good := k.proof(t, "POST", dpLoginURI, "", e.at)
	if rec := dpPost(e.login, dpLoginURI, ltAlice, good); rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	if cache.adds != 1 {
		t.Errorf("%d proofs recorded for one good login", cache.adds)
	}
	rtRefused(t, "the good login's proof replayed", dpPost(e.login, dpLoginURI, ltAlice, good), 400, "invalid_dpop_proof")
}

// countingCache counts AddProof calls.
type countingCache struct {
	jwtguard.ReplayCache
	adds int
}

func (c *countingCache) AddProof(ctx context.Context, id jwtguard.ProofID, expires, now time.Time) error {
	c.adds++
	return c.ReplayCache.AddProof(ctx, id, expires, now)
}

// TestDPoPGrantRefusals: a login with a bad proof, or without one where
// DPoP is required, is refused 400 before its password is compared; a
// nonce required is asked for with use_dpop_nonce and DPoP-Nonce.
func TestDPoPGrantRefusals(t *testing.T) {
	k := dpNewKey(t)
	t.Run("bad proof", func(t *testing.T) {
		e := rtSetup(t)
		compares := 0
		e.login = e.auth.LoginHandler(countingUsers{e.users, &compares})
		for name, proof := range map[string]string{
			"wrong URI":    k.proof(t, "POST", "http://example.com/other", "", e.at),
			"wrong method": k.proof(t, "GET", dpLoginURI, "", e.at),
			"stale":        k.proof(t, "POST", dpLoginURI, "", func(p *dpProof) { p.claims["iat"] = e.clock.Now().Add(-5 * 60e9).Unix() }),
			"not a JWS":    "x",
		} {
			rtRefused(t, name, dpPost(e.login, dpLoginURI, ltAlice, proof), 400, "invalid_dpop_proof")
		}
		if compares != 0 {
			t.Errorf("%d users looked up for logins refused for their proofs", compares)
		}
	})
	t.Run("required", func(t *testing.T) {
		e := rtSetup(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{Mode: jwtguard.DPoPRequired}))
		rtRefused(t, "login without a proof", dpPost(e.login, dpLoginURI, ltAlice), 400, "invalid_dpop_proof")
		if rec := dpPost(e.login, dpLoginURI, ltAlice, k.proof(t, "POST", dpLoginURI, "", e.at)); rec.Code != 200 {
			t.Errorf("login with a proof: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := rtSetup(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{Mode: jwtguard.DPoPOff}))
		rec := dpPost(e.login, dpLoginURI, ltAlice, "not even a proof")
		if rec.Code != 200 || slDecode(t, rec.Body.Bytes()).TokenType != "Bearer" {
			t.Errorf("DPoP off: a proof is ignored: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("nonce", func(t *testing.T) {
		e := rtSetup(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{RequireNonce: true, NonceSecret: []byte("a-nonce-secret-shared-by-replicas!")}))
		rec := dpPost(e.login, dpLoginURI, ltAlice, k.proof(t, "POST", dpLoginURI, "", e.at))
		rtRefused(t, "login without a nonce", rec, 400, "use_dpop_nonce")
		nonce := rec.Header().Get("DPoP-Nonce")
		if nonce == "" {
			t.Fatal("no DPoP-Nonce")
		}
		rec = dpPost(e.login, dpLoginURI, ltAlice, k.proof(t, "POST", dpLoginURI, "", func(p *dpProof) { e.at(p); p.claims["nonce"] = nonce }))
		if rec.Code != 200 || rec.Header().Get("DPoP-Nonce") == "" {
			t.Errorf("login with the nonce: %d, DPoP-Nonce %q", rec.Code, rec.Header().Get("DPoP-Nonce"))
		}
	})
}

// countingUsers counts the lookups of a UserStore.
type countingUsers struct {
	jwtguard.UserStore
	n *int
}

func (c countingUsers) LookupUser(ctx context.Context, name string) (jwtguard.User, error) {
	*c.n++
	return c.UserStore.LookupUser(ctx, name)
}

// slowUsers is a UserStore whose lookup takes d of the test's clock.
type slowUsers struct {
	jwtguard.UserStore
	clock *rtClock
	d     time.Duration
}

func (s slowUsers) LookupUser(ctx context.Context, name string) (jwtguard.User, error) {
	s.clock.Add(s.d)
	return s.UserStore.LookupUser(ctx, name)
}

// TestDPoPLoginProofAgesOut: a login's proof that ages out during its
// password check is refused as a proof (400), not taken for a replay
// cache that fails (503) (second attacker review).
func TestDPoPLoginProofAgesOut(t *testing.T) {
	e := rtSetup(t, jwtguard.WithLeeway(0))
	e.login = e.auth.LoginHandler(slowUsers{e.users, e.clock, 2 * time.Second})
	k := dpNewKey(t)
	proof := k.proof(t, "POST", dpLoginURI, "", func(p *dpProof) { p.claims["iat"] = e.clock.Now().Add(-time.Minute).Unix() })
	rtRefused(t, "a proof that aged out during the login", dpPost(e.login, dpLoginURI, ltAlice, proof), 400, "invalid_dpop_proof")
}

// TestDPoPRevokedTokenRecordsNothing: the proofs of a revoked bound token
// are not recorded: Verify records a proof only for a request it serves
// (second attacker review).
func TestDPoPRevokedTokenRecordsNothing(t *testing.T) {
	cache := &countingCache{ReplayCache: jwtguard.NewMemoryReplayCache(1024)}
	e := rtSetup(t, jwtguard.WithDPoP(jwtguard.DPoPPolicy{ReplayCache: cache}))
	k := dpNewKey(t)
	rec := dpPost(e.login, dpLoginURI, ltAlice, k.proof(t, "POST", dpLoginURI, "", e.at))
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	tr := slDecode(t, rec.Body.Bytes())
	verify := func() int {
		r := httptest.NewRequest("GET", dpURI, nil)
		r.Header.Set("Authorization", "DPoP "+tr.AccessToken)
		r.Header.Set("DPoP", k.proof(t, "GET", dpURI, tr.AccessToken, e.at))
		return vtServe(e.auth.Verify(&vtProbe{}), r).Code
	}
	if c := verify(); c != 200 || cache.adds != 2 {
		t.Fatalf("a live token: %d, %d proofs recorded (want 200, 2)", c, cache.adds)
	}
	s, err := e.store.LookupSession(t.Context(), jwtguard.HashRefreshToken(tr.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeSession(t.Context(), s.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if c := verify(); c != 401 {
			t.Fatalf("a revoked token: %d", c)
		}
	}
	if cache.adds != 2 {
		t.Errorf("%d proofs of a revoked token recorded", cache.adds-2)
	}
}

package jwtguard_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// TestVerifiedTokenCache: with the cache, a token presented again is
// served from it, and still refused as soon as it is revoked (a logout),
// expired, or its key is removed from its set; the counters say so.
func TestVerifiedTokenCache(t *testing.T) {
	var now atomic.Int64
	now.Store(vtNow.Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	k1, k2 := kyKey(t, "EdDSA"), kyKey(t, "ES256")
	set, err := jwtguard.NewKeySet(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	a := kyAuth(t, set, jwtguard.WithClock(clock), jwtguard.WithSessions(jwtguard.NewMemorySessionStore()), jwtguard.WithVerifiedTokenCache(1<<20))
	check := func(what, tok string, want error) {
		t.Helper()
		c, err := kyAuthenticate(a, tok)
		switch {
		case want == nil && err != nil:
			t.Errorf("%s: %v", what, err)
		case want == nil && c.Subject != "42":
			t.Errorf("%s: subject %q", what, c.Subject)
		case want != nil && !errors.Is(err, want):
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}

	tok := kyIssue(t, a)
	check("first", tok, nil)
	check("second", tok, nil)
	if st := a.Stats(); st.TokenCacheHits != 1 || st.TokenCacheEntries != 1 || st.TokenCacheBytes == 0 {
		t.Errorf("stats %+v: want a hit and an entry", st)
	}

	// Revoked: the cached token is refused at once.
	r := httptest.NewRequest("POST", "/logout-everywhere", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	a.LogoutEverywhereHandler().ServeHTTP(rec, r)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	check("after the logout", tok, jwtguard.ErrInvalidToken)
	if n := a.Stats().Refusals["revoked"]; n != 1 {
		t.Errorf("revoked counted %d times, want 1", n)
	}

	// Expired: as soon as an uncached token would be.
	tok = kyIssue(t, a)
	check("new", tok, nil)
	check("new, cached", tok, nil)
	now.Store(vtNow.Add(vtLifetime + vtLeeway - time.Second).Unix())
	check("a second before the leeway ends", tok, nil)
	now.Store(vtNow.Add(vtLifetime + vtLeeway).Unix())
	check("at exp plus the leeway", tok, jwtguard.ErrTokenExpired)
	now.Store(vtNow.Unix())

	// Its key removed from the set: refused, though cached a moment ago.
	tok = kyIssue(t, a)
	check("signed with k1", tok, nil)
	if err := set.Add(kyKey(t, "RS256")); err != nil {
		t.Fatal(err)
	}
	if err := set.Activate(kyKey(t, "RS256").ID()); err != nil {
		t.Fatal(err)
	}
	check("k1 retired but still in the set", tok, nil)
	if err := set.Remove(k1.ID()); err != nil {
		t.Fatal(err)
	}
	check("k1 removed", tok, jwtguard.ErrInvalidToken)
	if st := a.Stats().Refusals; st["unknown_key"] != 1 || st["bad_signature"] != 0 {
		t.Errorf("unknown_key counted %d times, bad_signature %d; want 1 and 0", st["unknown_key"], st["bad_signature"])
	}
}

// TestVerifiedTokenCacheIssuers: the cache serves each issuer's tokens
// under that issuer's rules and keys: a partner's token stops being
// served when its key leaves the partner's set.
func TestVerifiedTokenCacheIssuers(t *testing.T) {
	const partner = "https://partner.example"
	pk := kyKey(t, "ES256")
	pset, _ := jwtguard.NewKeySet(pk.Public())
	a, err := jwtguard.New(kyKey(t, "EdDSA"), jwtguard.WithIssuer("https://issuer.example"), jwtguard.WithClock(vtClock),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)), jwtguard.WithVerifiedTokenCache(1<<20),
		jwtguard.WithIssuers(jwtguard.Issuer{Issuer: partner, Keys: pset, Audience: "api"}))
	if err != nil {
		t.Fatal(err)
	}
	tok := kyIssue(t, isMinter(t, pk, partner, "api", nil))
	for range 2 {
		if c, err := kyAuthenticate(a, tok); err != nil || c.Issuer != partner {
			t.Fatalf("partner token: %v", err)
		}
	}
	if n := a.Stats().TokenCacheHits; n != 1 {
		t.Errorf("%d hits, want 1", n)
	}
	if err := pset.Remove(pk.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := kyAuthenticate(a, tok); !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Errorf("partner key removed: %v", err)
	}
}

// TestVerifiedTokenCacheSize: New refuses a negative size or one too small
// to hold tokens; 0 is no cache.
func TestVerifiedTokenCacheSize(t *testing.T) {
	for _, n := range []int{-1, 1, 32<<10 - 1} {
		if _, err := jwtguard.New(testKey(t, vtSecret), jwtguard.WithVerifiedTokenCache(n)); err == nil {
			t.Errorf("size %d accepted", n)
		}
	}
	for _, n := range []int{0, 32 << 10} {
		if _, err := jwtguard.New(testKey(t, vtSecret), jwtguard.WithVerifiedTokenCache(n)); err != nil {
			t.Errorf("size %d: %v", n, err)
		}
	}
	a := vtAuth(t)
	tok := vtToken(nil)
	for range 2 {
		if _, err := a.Authenticate(vtGet("/", "Bearer "+tok)); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Stats(); st.TokenCacheHits != 0 || st.TokenCacheMisses != 0 {
		t.Errorf("without a cache: %+v", st)
	}
}

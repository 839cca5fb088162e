package jwks_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwks"
)

// TestRoundTrip: tokens a jwtguard issuer signs with keys of each
// algorithm verify through its JWKS, fetched over a loopback server; the
// claims come through.
func TestRoundTrip(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"} {
		t.Run(alg, func(t *testing.T) {
			is := newIssuer(t, nil, signingKey(t, alg, 0)).listen()
			set := newSet(t, is.url)
			a := verifier(t, set)
			tok := is.token("admin")
			c, err := a.Authenticate(bearer(tok))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if c.Subject != "42" || c.Username != "alice" || len(c.Roles) != 1 || c.Roles[0] != "admin" {
				t.Errorf("claims %+v", c)
			}
			wantStatus(t, a, tok, http.StatusOK, "a good token")
			wantStatus(t, a, tok[:len(tok)-4]+"AAAA", http.StatusUnauthorized, "a bad signature")
			if keys := set.Keys(); len(keys) != 1 || keys[0].CanSign() || keys[0].Algorithm() != alg {
				t.Errorf("Keys() = %v", keys)
			}
		})
	}
}

// TestIssuerAudience: the verifying Auth's WithIssuer and WithAudience
// are checked on tokens whose keys come from a JWKS.
func TestIssuerAudience(t *testing.T) {
	is := newIssuer(t, []jwtguard.Option{jwtguard.WithIssuer("https://login.example"), jwtguard.WithAudience("api")}, signingKey(t, "ES256", 0)).listen()
	set := newSet(t, is.url)
	tok := is.token()
	for _, tc := range []struct {
		name string
		opts []jwtguard.Option
		want int
	}{
		{"same issuer and audience", []jwtguard.Option{jwtguard.WithIssuer("https://login.example"), jwtguard.WithAudience("api")}, http.StatusOK},
		{"another issuer", []jwtguard.Option{jwtguard.WithIssuer("https://evil.example"), jwtguard.WithAudience("api")}, http.StatusUnauthorized},
		{"another audience", []jwtguard.Option{jwtguard.WithIssuer("https://login.example"), jwtguard.WithAudience("billing")}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, verifier(t, set, tc.opts...), tok, tc.want, tc.name)
		})
	}
}

// TestRotationOverNetwork: a key added and activated at the issuer is
// learnt through the refresh that the first token naming it asks for;
// that token is refused at once, not held.
func TestRotationOverNetwork(t *testing.T) {
	old := signingKey(t, "RS256", 0)
	is := newIssuer(t, nil, old).listen()
	f := newFetches()
	set := newSet(t, is.url, f.hook(), jwks.WithUnknownKeyRefresh(jwks.MinUnknownKeyRefresh))
	a := verifier(t, set)
	oldTok := is.token()
	wantStatus(t, a, oldTok, http.StatusOK, "the old key's token")
	if err := f.next(t); err != nil {
		t.Fatalf("first fetch: %v", err)
	}

	next := signingKey(t, "RS256", 1)
	if err := is.keys.Add(next); err != nil {
		t.Fatal(err)
	}
	if err := is.keys.Activate(next.ID()); err != nil {
		t.Fatal(err)
	}
	newTok := is.token()
	wantStatus(t, a, newTok, http.StatusUnauthorized, "the new key's token before the refresh")
	if err := f.next(t); err != nil {
		t.Fatalf("the refresh: %v", err)
	}
	wantStatus(t, a, newTok, http.StatusOK, "the new key's token after the refresh")
	wantStatus(t, a, oldTok, http.StatusOK, "the old key's token, still published")
	if got := is.hits.Load(); got != 2 {
		t.Errorf("the issuer saw %d fetches, want 2", got)
	}
}

// TestFlood: 2000 tokens with random kids, from 8 goroutines, are all
// refused, and the issuer sees one fetch: the first. The refresh they ask
// for waits for the unknown-kid interval (a minute) after it.
func TestFlood(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	set := newSet(t, is.url)
	a := verifier(t, set)
	tok := is.token()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 8 {
		wg.Go(func() {
			for range 250 {
				kid := make([]byte, 12)
				rand.Read(kid)
				code := status(a, withHeader(tok, `{"alg":"ES256","kid":"`+hex.EncodeToString(kid)+`","typ":"JWT"}`))
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[http.StatusUnauthorized] != 2000 {
		t.Errorf("answers %v, want 2000 × 401", codes)
	}
	if got := is.hits.Load(); got > 2 {
		t.Errorf("the issuer saw %d fetches for 2000 unknown kids, want at most 2", got)
	}
	wantStatus(t, a, is.token(), http.StatusOK, "the issuer's token after the flood")
}

// TestDownAtStart: New fails when the issuer is down, naming the reason;
// with WithStartWithoutKeys it starts, and tokens are answered 503 (not
// 401: they may be good) until a fetch succeeds.
func TestDownAtStart(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	is.answer(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	_, err := jwks.New(context.Background(), is.url, jwks.WithLogger(quiet))
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("New with the issuer down: %v, want an error naming the 503", err)
	}

	f := newFetches()
	set := newSet(t, is.url, jwks.WithStartWithoutKeys(), f.hook())
	if err := f.next(t); err == nil {
		t.Fatal("the first fetch succeeded")
	}
	if set.Keys() != nil {
		t.Errorf("Keys() = %v before a good fetch", set.Keys())
	}
	if _, err := set.VerificationKey(context.Background(), "kid", "ES256"); !errors.Is(err, jwks.ErrNotReady) || errors.Is(err, jwtguard.ErrUnknownKey) {
		t.Errorf("VerificationKey before a good fetch: %v, want ErrNotReady", err)
	}
	a := verifier(t, set)
	tok := is.token()
	wantStatus(t, a, tok, http.StatusServiceUnavailable, "a token before the first good fetch")
	if _, err := a.Authenticate(bearer(tok)); !isUnavailable(err) {
		t.Errorf("Authenticate: %v, want ErrOverloaded", err)
	}

	is.answer(nil)
	for f.next(t) != nil { // retried after 1, 2, 4 … seconds
	}
	wantStatus(t, a, tok, http.StatusOK, "the token once the issuer is up")
}

// TestDownLater: an issuer that goes away leaves the last good set
// serving; the failed refresh is logged at Warn with its reason.
func TestDownLater(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	f := newFetches()
	var l logs
	set := newSet(t, is.url, f.hook(), jwks.WithLogger(l.logger()), jwks.WithUnknownKeyRefresh(jwks.MinUnknownKeyRefresh))
	f.next(t)
	a := verifier(t, set)
	tok := is.token()
	for _, down := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) }},
		{"connection closed", func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}},
	} {
		is.answer(down.h)
		wantStatus(t, a, issue(t, verifier(t, signingKey(t, "ES256", 0))), http.StatusUnauthorized, "an unknown kid, asking for a refresh")
		if err := f.next(t); err == nil {
			t.Fatalf("%s: the refresh succeeded", down.name)
		}
		wantStatus(t, a, tok, http.StatusOK, down.name+": the token, by the last good set")
	}
	if got := l.all(); !strings.Contains(got, "WARN jwks: fetching the JWKS failed; the last good key set stays") || !strings.Contains(got, "500 Internal Server Error") {
		t.Errorf("log:\n%s", got)
	}
}

// TestSlowEndpoint: a fetch is cut at the fetch timeout, and requests do
// not wait for it: while a fetch hangs, a known kid verifies and an
// unknown one is refused.
func TestSlowEndpoint(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	hang := func(entered chan<- struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-r.Context().Done() // until the client gives up
		}
	}
	entered := make(chan struct{}, 10)
	is.answer(hang(entered))
	if _, err := jwks.New(context.Background(), is.url, jwks.WithLogger(quiet), jwks.WithFetchTimeout(jwks.TestFetchTimeout)); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New on a hanging endpoint: %v, want the deadline", err)
	}
	<-entered

	is.answer(nil)
	f := newFetches()
	set := newSet(t, is.url, f.hook(), jwks.WithFetchTimeout(jwks.TestFetchTimeout), jwks.WithUnknownKeyRefresh(jwks.MinUnknownKeyRefresh))
	f.next(t)
	a := verifier(t, set)
	tok := is.token()
	is.answer(hang(entered))
	unknown := issue(t, verifier(t, signingKey(t, "ES256", 0)))
	wantStatus(t, a, unknown, http.StatusUnauthorized, "an unknown kid, asking for a refresh")
	<-entered // the refresh hangs now
	wantStatus(t, a, tok, http.StatusOK, "a known kid during the hanging fetch")
	wantStatus(t, a, unknown, http.StatusUnauthorized, "an unknown kid during the hanging fetch")
	if len(f.ch) != 0 {
		t.Fatal("the hanging fetch ended before the requests did")
	}
	if err := f.next(t); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the hanging fetch: %v, want the deadline", err)
	}
	wantStatus(t, a, tok, http.StatusOK, "a known kid after the fetch timed out")
}

// TestConcurrentUse: Verify from many goroutines while the set refreshes
// (run with -race).
func TestConcurrentUse(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	f := newFetches()
	set := newSet(t, is.url, f.hook(), jwks.WithUnknownKeyRefresh(jwks.MinUnknownKeyRefresh))
	f.next(t)
	a := verifier(t, set)
	tok := is.token()
	unknown := issue(t, verifier(t, signingKey(t, "ES256", 0)))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if status(a, tok) != http.StatusOK || status(a, unknown) != http.StatusUnauthorized {
					t.Error("a wrong answer during refreshes")
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			next := signingKey(t, "ES256", 0)
			if err := is.keys.Add(next); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	f.next(t) // the refresh the unknown kid asked for
}

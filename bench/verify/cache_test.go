package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/bench/internal/keybench"
)

// The verified-token cache's benchmarks (WithVerifiedTokenCache, issue 16
// §4): a token presented again skips its signature check and the decoding
// of its payload; its key is resolved again by kid, its time claims are
// checked again, and with WithSessions the store is asked on every
// request.

const (
	// cacheBudget is the cache of the hit benchmarks: 16 MiB, the size
	// WithVerifiedTokenCache's documentation takes as its example.
	cacheBudget = 16 << 20
	// missBudget and missTokens make a cache that is full of other tokens
	// whenever a token comes back: 128 KiB holds some 90 entries of an
	// RSA token (742 bytes, its 190 bytes of JSON and the fixed cost of
	// an entry), and 2048 tokens in turn, each dropping a random entry of
	// its shard to make room, leave a token's entry alive when it comes
	// round again with a chance of about e^-20.
	missBudget = 128 << 10
	missTokens = 2048
	// parallelTokens is how many tokens of one session the second
	// parallel benchmark spreads over the cache's 16 shards.
	parallelTokens = 64
)

// cacheSecret is the HS256 key's secret.
var cacheSecret = []byte("bench-cache-secret-0123456789abcdef")

// cachePassword is the benchmarks' user's password, for the logins that
// start the sessions.
const cachePassword = "correct horse battery staple"

// A cacheAlg is one algorithm of the cache's benchmarks and its key.
type cacheAlg struct {
	alg string
	key jwtguard.Key
}

// cacheAlgs are HS256 and keybench's RS256, ES256 and EdDSA keys.
// PS256 is left out: its tokens are RS256's in size and a hit never
// reaches the signature, so it would repeat RS256's figures.
func cacheAlgs(tb testing.TB) []cacheAlg {
	tb.Helper()
	hs, err := jwtguard.HMACKey("HS256", cacheSecret)
	if err != nil {
		tb.Fatal(err)
	}
	algs := []cacheAlg{{"HS256", hs}}
	for _, f := range fixtures(tb) {
		if f.Alg != "PS256" {
			algs = append(algs, cacheAlg{f.Alg, f.Key})
		}
	}
	return algs
}

// cacheUsers holds the benchmarks' user, with cachePassword hashed once
// at the default bcrypt cost.
var cacheUsers = sync.OnceValues(func() (jwtguard.UserWriter, error) {
	h, err := jwtguard.HashPassword(cachePassword)
	if err != nil {
		return nil, err
	}
	return jwtguard.NewMemoryStore(jwtguard.User{ID: keybench.Subject, Username: keybench.Username, PasswordHash: h, Roles: keybench.Roles})
})

// A cacheSetup is one algorithm's Auths, all for the same key, issuer and
// audience, and its tokens.
type cacheSetup struct {
	plain, cached         *jwtguard.Auth // without sessions
	sessions, sessCached  *jwtguard.Auth // WithSessions(store)
	store                 jwtguard.SessionStore
	token                 string   // keybench.Issue's: no sid, sessions off
	sessionTokens         []string // of one session: a login's, then refreshes'
	sessionID             string
	missUncached, missHit *jwtguard.Auth // the miss benchmarks': no cache, and a full one
	// missRequests are missTokens requests, each with a token of its own,
	// made on first use (signing 2048 RSA tokens takes seconds).
	missRequests func() ([]*http.Request, error)
}

// newCacheSetup makes c's Auths and tokens: a login through sessCached
// starts a session in store, and parallelTokens-1 refreshes give the
// session's other access tokens (sid and jti, as a login's).
func newCacheSetup(tb testing.TB, c cacheAlg) *cacheSetup {
	tb.Helper()
	s := &cacheSetup{store: jwtguard.NewMemorySessionStore()}
	newAuth := func(opts ...jwtguard.Option) *jwtguard.Auth {
		a, err := keybench.NewAuth(c.key, opts...)
		if err != nil {
			tb.Fatal(err)
		}
		return a
	}
	cache := jwtguard.WithVerifiedTokenCache(cacheBudget)
	sessions := []jwtguard.Option{jwtguard.WithSessions(s.store), jwtguard.WithLoginPolicy(jwtguard.LoginPolicy{NoBudget: true})}
	s.plain, s.cached = newAuth(), newAuth(cache)
	s.sessions, s.sessCached = newAuth(sessions...), newAuth(append(sessions, cache)...)
	s.missUncached, s.missHit = newAuth(), newAuth(jwtguard.WithVerifiedTokenCache(missBudget))
	var err error
	if s.token, err = keybench.Issue(s.plain); err != nil {
		tb.Fatal(err)
	}
	users, err := cacheUsers()
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"username": keybench.Username, "password": cachePassword})
	tr := cachePost(tb, s.sessCached.LoginHandler(users), string(body))
	refresh := s.sessCached.RefreshHandler(users)
	s.sessionTokens = append(s.sessionTokens, tr.AccessToken)
	for len(s.sessionTokens) < parallelTokens {
		body, _ := json.Marshal(map[string]string{"refresh_token": tr.RefreshToken})
		tr = cachePost(tb, refresh, string(body))
		s.sessionTokens = append(s.sessionTokens, tr.AccessToken)
	}
	cl, err := s.sessions.Authenticate(request(s.sessionTokens[0]))
	if err != nil {
		tb.Fatal(err)
	}
	if s.sessionID = cl.SessionID; s.sessionID == "" || cl.TokenID == "" {
		tb.Fatalf("the login's token has sid %q and jti %q; want both", cl.SessionID, cl.TokenID)
	}
	s.missRequests = sync.OnceValues(func() ([]*http.Request, error) {
		reqs := make([]*http.Request, missTokens)
		for i := range reqs {
			tok, err := keybench.Issue(s.plain)
			if err != nil {
				return nil, err
			}
			reqs[i] = request(tok)
		}
		return reqs, nil
	})
	return s
}

// cachePost posts body as JSON to h and returns its 200 answer.
func cachePost(tb testing.TB, h http.Handler, body string) jwtguard.TokenResponse {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/auth", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var tr jwtguard.TokenResponse
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" {
		tb.Fatalf("answer %s: %v", rec.Body, err)
	}
	return tr
}

// A cacheCount is what a benchmark expects of the cache: cacheOff (no
// cache), cacheHits (every measured request a hit) or cacheMisses (all
// but a few a miss).
type cacheCount int

const (
	cacheOff cacheCount = iota
	cacheHits
	cacheMisses
)

// checkCache stops b unless a's cache counted since before what want
// says for b.N requests: no cache at all, b.N hits and no miss, or at
// most 1% hits. The misses' benchmarks report hits/op.
func checkCache(b *testing.B, a *jwtguard.Auth, before jwtguard.Stats, want cacheCount) {
	b.Helper()
	st := a.Stats()
	hits, misses := st.TokenCacheHits-before.TokenCacheHits, st.TokenCacheMisses-before.TokenCacheMisses
	n := uint64(b.N)
	switch want {
	case cacheOff:
		if st.TokenCacheHits+st.TokenCacheMisses+uint64(st.TokenCacheEntries) != 0 {
			b.Fatalf("a cache: %d hits, %d misses, %d entries; want none", st.TokenCacheHits, st.TokenCacheMisses, st.TokenCacheEntries)
		}
	case cacheHits:
		if hits == 0 || hits != n || misses != 0 {
			b.Fatalf("%d requests: %d hits, %d misses; want every one a hit", n, hits, misses)
		}
	case cacheMisses:
		if hits*100 > n || hits+misses != n {
			b.Fatalf("%d requests: %d hits, %d misses; want (almost) every one a miss", n, hits, misses)
		}
		b.ReportMetric(float64(hits)/float64(n), "hits/op")
	}
}

// benchAuthenticate measures a.Authenticate of reqs in turn (one request
// for most benchmarks), after one pass over them, which fills the cache.
func benchAuthenticate(b *testing.B, a *jwtguard.Auth, want cacheCount, reqs ...*http.Request) {
	for _, r := range reqs {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
	before := a.Stats()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		c, err := a.Authenticate(reqs[i])
		if err != nil || c.Subject != keybench.Subject {
			b.Fatalf("refused: %v", err)
		}
		if i++; i == len(reqs) {
			i = 0
		}
	}
	checkCache(b, a, before, want)
}

// benchVerify measures the request through a.Verify into a handler that
// reads the claims from the context, as keybench.Fixture.BenchmarkVerify
// does.
func benchVerify(b *testing.B, a *jwtguard.Auth, want cacheCount, req *http.Request) {
	var sub string
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtguard.FromContext(r.Context()); ok {
			sub = c.Subject
		}
	}))
	w := keybench.NewDiscard()
	h.ServeHTTP(w, req)
	before := a.Stats()
	b.ReportAllocs()
	for b.Loop() {
		sub = ""
		w.Reset()
		h.ServeHTTP(w, req)
		if sub != keybench.Subject {
			b.Fatalf("refused: status %d", w.Code)
		}
	}
	checkCache(b, a, before, want)
}

// benchParallel measures a.Authenticate on every core at once
// (b.RunParallel, GOMAXPROCS goroutines), each goroutine going through
// toks in turn from its own starting point: with one token every request
// goes to one shard of the cache; with parallelTokens, to all 16.
func benchParallel(b *testing.B, a *jwtguard.Auth, toks []string) {
	for _, tok := range toks {
		if _, err := a.Authenticate(request(tok)); err != nil {
			b.Fatal(err)
		}
	}
	before := a.Stats()
	var start atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		reqs := make([]*http.Request, len(toks))
		for i, tok := range toks {
			reqs[i] = request(tok)
		}
		i := int(start.Add(int64(len(toks)/2+1))) % len(reqs)
		for pb.Next() {
			c, err := a.Authenticate(reqs[i])
			if err != nil || c.Subject != keybench.Subject {
				b.Errorf("refused: %v", err)
				return
			}
			if i++; i == len(reqs) {
				i = 0
			}
		}
	})
	checkCache(b, a, before, cacheHits)
}

// BenchmarkVerifiedTokenCache measures, for HS256, RS256, ES256 and
// EdDSA, what the verified-token cache saves on a token presented again
// and what it costs on a token it has not seen:
//
//   - Authenticate/uncached and /hit: the same token (keybench.Issue's,
//     no sid) through Authenticate without the cache, and with it, every
//     request a hit;
//   - Authenticate-2048/uncached and /miss: missTokens tokens in turn
//     without the cache, and with a cache of missBudget that is full of
//     other tokens whenever one comes round again, so that every request
//     is a miss, a full verification and an insertion that makes room;
//   - Authenticate-sessions/uncached and /hit: with WithSessions of a
//     NewMemorySessionStore (the in-process revocation view), a login's
//     token (sid and jti), which the store is asked about on every
//     request, cached or not;
//   - Authenticate-sessions/hit-parallel and /hit-parallel-64: the hit on
//     every core at once, with one token (one shard) and with 64 tokens
//     of the session (all shards);
//   - Verify-sessions/uncached and /hit: the middleware, sessions on,
//     into a handler that reads the claims from the context.
func BenchmarkVerifiedTokenCache(b *testing.B) {
	for _, c := range cacheAlgs(b) {
		s := newCacheSetup(b, c)
		tok, stok := request(s.token), request(s.sessionTokens[0])
		b.Run(c.alg+"/Authenticate/uncached", func(b *testing.B) { benchAuthenticate(b, s.plain, cacheOff, tok) })
		b.Run(c.alg+"/Authenticate/hit", func(b *testing.B) { benchAuthenticate(b, s.cached, cacheHits, tok) })
		b.Run(c.alg+"/Authenticate-2048/uncached", func(b *testing.B) {
			reqs, err := s.missRequests()
			if err != nil {
				b.Fatal(err)
			}
			benchAuthenticate(b, s.missUncached, cacheOff, reqs...)
		})
		b.Run(c.alg+"/Authenticate-2048/miss", func(b *testing.B) {
			reqs, err := s.missRequests()
			if err != nil {
				b.Fatal(err)
			}
			benchAuthenticate(b, s.missHit, cacheMisses, reqs...)
		})
		b.Run(c.alg+"/Authenticate-sessions/uncached", func(b *testing.B) { benchAuthenticate(b, s.sessions, cacheOff, stok) })
		b.Run(c.alg+"/Authenticate-sessions/hit", func(b *testing.B) { benchAuthenticate(b, s.sessCached, cacheHits, stok) })
		b.Run(c.alg+"/Authenticate-sessions/hit-parallel", func(b *testing.B) { benchParallel(b, s.sessCached, s.sessionTokens[:1]) })
		b.Run(c.alg+"/Authenticate-sessions/hit-parallel-64", func(b *testing.B) { benchParallel(b, s.sessCached, s.sessionTokens) })
		b.Run(c.alg+"/Verify-sessions/uncached", func(b *testing.B) { benchVerify(b, s.sessions, cacheOff, stok) })
		b.Run(c.alg+"/Verify-sessions/hit", func(b *testing.B) { benchVerify(b, s.sessCached, cacheHits, stok) })
	}
}

// TestVerifiedTokenCacheSanity: before the cache's figures mean anything,
// for each algorithm of BenchmarkVerifiedTokenCache, a token the cache
// has is served from it (a hit in Stats) with the claims of an uncached
// verification, a copy of it changed in one byte is refused, and a
// revoked session's token is refused although its entry is in the cache:
// the hit still asks the store.
func TestVerifiedTokenCacheSanity(t *testing.T) {
	for _, c := range cacheAlgs(t) {
		t.Run(c.alg, func(t *testing.T) {
			s := newCacheSetup(t, c)
			for _, tok := range []string{s.token, s.sessionTokens[0]} {
				a, uncached := s.cached, s.plain
				if tok != s.token {
					a, uncached = s.sessCached, s.sessions
				}
				want, err := uncached.Authenticate(request(tok))
				if err != nil {
					t.Fatal(err)
				}
				before := a.Stats()
				for range 2 {
					got, err := a.Authenticate(request(tok))
					if err != nil {
						t.Fatal(err)
					}
					if got.Subject != want.Subject || got.Username != want.Username || got.SessionID != want.SessionID ||
						got.TokenID != want.TokenID || !got.ExpiresAt.Equal(want.ExpiresAt) || strings.Join(got.Roles, ",") != strings.Join(want.Roles, ",") {
						t.Errorf("cached claims %+v; uncached %+v", got, want)
					}
				}
				if st := a.Stats(); st.TokenCacheHits-before.TokenCacheHits != 1 || st.TokenCacheEntries == 0 {
					t.Errorf("Stats %+v after two requests; want one hit", st)
				}
				if _, err := a.Authenticate(request(tamper(t, tok))); err == nil {
					t.Error("a tampered copy of a cached token is accepted")
				}
			}
			hits := s.sessCached.Stats().TokenCacheHits
			if err := s.store.RevokeSession(context.Background(), s.sessionID, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := s.sessCached.Authenticate(request(s.sessionTokens[0])); !errors.Is(err, jwtguard.ErrInvalidToken) {
				t.Errorf("the cached token of a revoked session: %v; want ErrInvalidToken", err)
			}
			if s.sessCached.Stats().TokenCacheHits != hits+1 {
				t.Error("the revoked session's token was not found in the cache: the test shows nothing")
			}
		})
	}
}

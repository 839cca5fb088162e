package jwks_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard/jwks"
)

// The tests here run in a synctest bubble, on its clock, fetching through
// handlerTransport.

// clock records when the issuer's endpoint is fetched, on the bubble's
// clock, from the start of the test.
type clock struct {
	mu    sync.Mutex
	start time.Time
	at    []time.Duration
}

func newClock() *clock { return &clock{start: time.Now()} }

func (c *clock) record(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.at = append(c.at, time.Since(c.start))
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	}
}

func (c *clock) times() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.at...)
}

// gaps are the durations between the fetches.
func (c *clock) gaps() []time.Duration {
	at := c.times()
	var gaps []time.Duration
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i]-at[i-1])
	}
	return gaps
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRefreshInterval: the set refreshes at the max-age of the issuer's
// Cache-Control (less Age), bounded to between a minute and an hour, an
// hour without one, and at WithRefreshInterval's interval when given.
func TestRefreshInterval(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cacheControl string
		age          string
		opts         []jwks.Option
		want         time.Duration
	}{
		{"jwtguard's JWKSHandler", "", "", nil, 5 * time.Minute},
		{"no Cache-Control", "-", "", nil, time.Hour},
		{"max-age=600", "public, max-age=600", "", nil, 10 * time.Minute},
		{"max-age less Age", "max-age=600", "120", nil, 8 * time.Minute},
		{"a quoted max-age", `max-age="900"`, "", nil, 15 * time.Minute},
		{"max-age=5: a minute at least", "max-age=5", "", nil, time.Minute},
		{"max-age of a day: an hour at most", "max-age=86400", "", nil, time.Hour},
		{"no-cache", "no-cache", "", nil, time.Minute},
		{"no-store", "private, no-store", "", nil, time.Minute},
		{"a max-age that is not a number", "max-age=soon", "", nil, time.Hour},
		{"WithRefreshInterval", "max-age=300", "", []jwks.Option{jwks.WithRefreshInterval(30 * time.Second)}, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := newIssuer(t, nil, signingKey(t, "ES256", 0))
				c := newClock()
				is.answer(c.record(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tc.cacheControl == "" {
						is.jwks.ServeHTTP(w, r)
						return
					}
					if tc.cacheControl != "-" {
						w.Header().Set("Cache-Control", tc.cacheControl)
					}
					if tc.age != "" {
						w.Header().Set("Age", tc.age)
					}
					b, _ := is.keys.MarshalJSON()
					w.Write(b)
				})))
				newSet(t, is.url, append([]jwks.Option{is.inMemory()}, tc.opts...)...)
				time.Sleep(3*tc.want + tc.want/2)
				synctest.Wait()
				if got := c.gaps(); !equalDurations(got, []time.Duration{tc.want, tc.want, tc.want}) {
					t.Errorf("fetched at %v: gaps %v, want 3 × %v", c.times(), got, tc.want)
				}
			})
		})
	}
}

// TestBackoff: a failing endpoint is retried after 1, 2, 4 … seconds, at
// most a minute apart, and once it answers, at its max-age again.
func TestBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		c := newClock()
		down := c.record(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }))
		is.answer(down)
		set := newSet(t, is.url, is.inMemory(), jwks.WithStartWithoutKeys())
		a := verifier(t, set)
		tok := is.token()
		time.Sleep(183*time.Second + time.Second/2)
		synctest.Wait()
		s := time.Second
		want := []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s}
		if got := c.gaps(); !equalDurations(got, want) {
			t.Errorf("retries after %v, want %v", got, want)
		}
		wantStatus(t, a, tok, http.StatusServiceUnavailable, "a token while the issuer is down")

		is.answer(c.record(is.jwks))
		time.Sleep(time.Minute)
		synctest.Wait()
		wantStatus(t, a, tok, http.StatusOK, "a token once the issuer is up")
		n := len(c.times())
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		if got := len(c.times()); got != n+1 {
			t.Errorf("%d fetches in the 5 minutes after the issuer came up, want 1", got-n)
		}
	})
}

// TestRotationProtocol: a rotation done as jwtguard.KeySet documents it
// (add, wait the JWKS's max-age, activate, remove later) never refuses a
// good token here: the new key is known before it signs, by the scheduled
// refresh alone. The removed key's tokens are refused from the refresh
// after its removal.
func TestRotationProtocol(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := signingKey(t, "RS256", 0)
		is := newIssuer(t, nil, old)
		c := newClock()
		is.answer(c.record(is.jwks))
		set := newSet(t, is.url, is.inMemory())
		a := verifier(t, set)
		oldTok := is.token()
		wantStatus(t, a, oldTok, http.StatusOK, "the old key's token")

		time.Sleep(10 * time.Second)
		next := signingKey(t, "RS256", 1)
		if err := is.keys.Add(next); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute) // step 2: the JWKS's max-age
		synctest.Wait()
		if err := is.keys.Activate(next.ID()); err != nil {
			t.Fatal(err)
		}
		newTok := is.token()
		wantStatus(t, a, newTok, http.StatusOK, "the new key's token as soon as it signs")
		wantStatus(t, a, oldTok, http.StatusOK, "the old key's token after the activation")

		if err := is.keys.Remove(old.ID()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, a, oldTok, http.StatusOK, "the old key's token until the next refresh")
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		wantStatus(t, a, oldTok, http.StatusUnauthorized, "the removed key's token")
		wantStatus(t, a, newTok, http.StatusOK, "the new key's token")
		if got, want := c.times(), []time.Duration{0, 5 * time.Minute, 10 * time.Minute}; !equalDurations(got, want) {
			t.Errorf("fetched at %v, want %v (no fetch for an unknown kid)", got, want)
		}
	})
}

// TestRotationUnknownKid: a key activated at once, without waiting (not
// the KeySet protocol), is learnt by the refresh that the first token with
// its kid asks for, made when the unknown-kid interval allows; that token
// is refused at once, and later ones verify.
func TestRotationUnknownKid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		c := newClock()
		is.answer(c.record(is.jwks))
		set := newSet(t, is.url, is.inMemory())
		a := verifier(t, set)

		time.Sleep(20 * time.Second)
		next := signingKey(t, "ES256", 0)
		is.keys.Add(next)
		is.keys.Activate(next.ID())
		tok := is.token()
		wantStatus(t, a, tok, http.StatusUnauthorized, "the new kid, before the refresh it asks for")
		synctest.Wait()
		if n := len(c.times()); n != 1 {
			t.Fatalf("%d fetches within the unknown-kid interval of the first, want 1", n)
		}
		time.Sleep(40 * time.Second) // a minute after the first fetch
		synctest.Wait()
		wantStatus(t, a, tok, http.StatusOK, "the new kid after the refresh")
		if got, want := c.times(), []time.Duration{0, time.Minute}; !equalDurations(got, want) {
			t.Errorf("fetched at %v, want %v", got, want)
		}

		// Much later, the refresh is made at once.
		time.Sleep(2 * time.Minute)
		third := signingKey(t, "ES256", 0)
		is.keys.Add(third)
		is.keys.Activate(third.ID())
		tok = is.token()
		wantStatus(t, a, tok, http.StatusUnauthorized, "the third kid, before the refresh")
		synctest.Wait()
		wantStatus(t, a, tok, http.StatusOK, "the third kid, right after")
	})
}

// TestFloodRate: tokens with random kids, five a second for ten minutes,
// cost one fetch a minute (WithUnknownKeyRefresh's default), never two
// within a minute.
func TestFloodRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		c := newClock()
		is.answer(c.record(is.jwks))
		set := newSet(t, is.url, is.inMemory())
		a := verifier(t, set)
		tok := is.token()
		for range 600 {
			for range 5 {
				kid := make([]byte, 8)
				rand.Read(kid)
				if code := status(a, withHeader(tok, `{"alg":"ES256","kid":"`+hex.EncodeToString(kid)+`"}`)); code != http.StatusUnauthorized {
					t.Fatalf("a random kid: %d", code)
				}
			}
			time.Sleep(time.Second)
		}
		synctest.Wait()
		gaps := c.gaps()
		for _, g := range gaps {
			if g < time.Minute {
				t.Errorf("two fetches %v apart, less than a minute (fetched at %v)", g, c.times())
			}
		}
		if n := len(c.times()); n > 11 {
			t.Errorf("%d fetches in 10 minutes of flood, want at most 11", n)
		}
	})
}

// TestSlowEndpointBounded: a fetch that hangs is cut at the fetch
// timeout, 5 seconds by default, after which the set retries; requests in
// the meantime are answered from the last good set.
func TestSlowEndpointBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		c := newClock()
		is.answer(c.record(is.jwks))
		f := newFetches()
		set := newSet(t, is.url, is.inMemory(), f.hook())
		f.next(t)
		a := verifier(t, set)
		tok := is.token()
		is.answer(c.record(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })))
		time.Sleep(5*time.Minute - time.Second)
		wantStatus(t, a, tok, http.StatusOK, "before the refresh")
		time.Sleep(time.Second) // the refresh starts, and hangs
		synctest.Wait()
		start := time.Now()
		wantStatus(t, a, tok, http.StatusOK, "during the hanging refresh")
		if err := f.next(t); err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Errorf("the hanging fetch: %v", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("the hanging fetch ended after %v, want the fetch timeout of 5s", d)
		}
		wantStatus(t, a, tok, http.StatusOK, "after the timeout")
	})
}

// TestNotModified: the set revalidates with the ETag the issuer gave; a
// 304, or the same document again, changes nothing and logs no new set.
func TestNotModified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		var (
			mu   sync.Mutex
			inms []string
		)
		var noETag atomic.Bool
		is.answer(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			inms = append(inms, r.Header.Get("If-None-Match"))
			mu.Unlock()
			if !noETag.Load() {
				is.jwks.ServeHTTP(w, r)
				return
			}
			b, _ := is.keys.MarshalJSON() // the same document, without ETag
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write(b)
		})
		var l logs
		set := newSet(t, is.url, is.inMemory(), jwks.WithLogger(l.logger()))
		a := verifier(t, set)
		tok := is.token()
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		noETag.Store(true)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		wantStatus(t, a, tok, http.StatusOK, "the token after revalidations")
		mu.Lock()
		defer mu.Unlock()
		if len(inms) != 4 || inms[0] != "" || inms[1] == "" || inms[2] != inms[1] {
			t.Errorf("If-None-Match of the fetches: %q, want none, then the ETag", inms)
		}
		if n := strings.Count(l.all(), "jwks: new key set"); n != 1 {
			t.Errorf("%d new key sets logged, want 1:\n%s", n, l.all())
		}
		if n := strings.Count(l.all(), "DEBUG jwks: the key set is unchanged"); n != 3 {
			t.Errorf("%d unchanged sets logged, want 3:\n%s", n, l.all())
		}
	})
}

// TestClose: Close stops the refreshes (and may be called twice); the
// set keeps verifying. The end of New's context stops them too, and says
// so at Info.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		set := newSet(t, is.url, is.inMemory())
		a := verifier(t, set)
		tok := is.token()
		set.Close()
		set.Close()
		time.Sleep(2 * time.Hour)
		wantStatus(t, a, issue(t, verifier(t, signingKey(t, "ES256", 0))), http.StatusUnauthorized, "an unknown kid after Close")
		time.Sleep(2 * time.Hour)
		if n := is.hits.Load(); n != 1 {
			t.Errorf("%d fetches, want the first only", n)
		}
		wantStatus(t, a, tok, http.StatusOK, "a token after Close")
	})
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		ctx, cancel := context.WithCancel(context.Background())
		var l logs
		set, err := jwks.New(ctx, is.url, is.inMemory(), jwks.WithLogger(l.logger()))
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		synctest.Wait()
		time.Sleep(2 * time.Hour)
		if n := is.hits.Load(); n != 1 {
			t.Errorf("%d fetches after the context ended, want the first only", n)
		}
		if !strings.Contains(l.all(), "INFO jwks: refreshes stopped: the context given to New is done") {
			t.Errorf("log:\n%s", l.all())
		}
		set.Close()
	})
}

// TestGarbageLater: a refresh that gets garbage keeps the last good set.
func TestGarbageLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, nil, signingKey(t, "ES256", 0))
		var l logs
		set := newSet(t, is.url, is.inMemory(), jwks.WithLogger(l.logger()))
		a := verifier(t, set)
		tok := is.token()
		for _, g := range garbage(t) {
			is.answer(g.h)
			time.Sleep(time.Hour)
			synctest.Wait()
			wantStatus(t, a, tok, http.StatusOK, g.name+": the token, by the last good set")
		}
		if n := strings.Count(l.all(), "WARN jwks: fetching the JWKS failed; the last good key set stays"); n < len(garbage(t)) {
			t.Errorf("%d failed fetches logged:\n%s", n, l.all())
		}
	})
}

// garbage are answers of a JWKS endpoint that give no key, and what New's
// error says of each.
func garbage(t testing.TB) []struct {
	name, want string
	h          http.HandlerFunc
} {
	es, _ := privateECJWK(t, "leaked")
	huge := `{"keys":[` + strings.Repeat(" ", 1<<20) + `]}`
	return []struct {
		name, want string
		h          http.HandlerFunc
	}{
		{"not JSON", "not a JWK Set", serveDoc([]byte("<html>hello</html>"))},
		{"a JSON array", "not a JWK Set", serveDoc([]byte(`[{"kty":"EC"}]`))},
		{"no keys member", `no "keys" array`, serveDoc([]byte(`{"kids":[]}`))},
		{"keys null", `no "keys" array`, serveDoc([]byte(`{"keys":null}`))},
		{"no key", "no key to verify with", serveDoc([]byte(`{"keys":[]}`))},
		{"text after the document", "not a JWK Set", serveDoc([]byte(`{"keys":[]} {"keys":[]}`))},
		{"bad keys only", "no key to verify with", serveDoc([]byte(`{"keys":[{"kty":"RSA","n":"!!","e":"AQAB"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},{"kty":"WAT"}]}`))},
		{"a symmetric key only", "no key to verify with", serveDoc(document(t, map[string]any{"kty": "oct", "kid": "hs", "k": b64.EncodeToString(make([]byte, 32))}))},
		{"a private key only", "no key to verify with", serveDoc(document(t, es))},
		{"over the size limit", "is over the limit", serveDoc([]byte(huge))},
		{"over the size limit, by its Content-Length", "bytes, over the limit", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(huge)))
			io.WriteString(w, huge)
		}},
		{"over the size limit, chunked", "is over the limit", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[`))
			for range 1 << 10 {
				w.Write([]byte(strings.Repeat(" ", 1<<10)))
				http.NewResponseController(w).Flush()
			}
			w.Write([]byte(`]}`))
		}},
		{"a body cut short", "reading the document", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, `{"keys":[`)
			http.NewResponseController(w).Flush()
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
		}},
		{"a 404", "404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"a 304 never asked for", "304", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) }},
	}
}

// TestGarbageAtStart: New refuses each garbage answer, with its reason,
// over a loopback server.
func TestGarbageAtStart(t *testing.T) {
	is := newIssuer(t, nil, signingKey(t, "ES256", 0)).listen()
	for _, g := range garbage(t) {
		t.Run(g.name, func(t *testing.T) {
			is.answer(g.h)
			var l logs
			_, err := jwks.New(context.Background(), is.url, jwks.WithLogger(l.logger()))
			if err == nil || !strings.Contains(err.Error(), g.want) {
				t.Errorf("New: %v, want an error with %q", err, g.want)
			}
			if strings.Contains(l.all(), `"kty"`) || strings.Contains(err.Error(), `"kty"`) || len(l.all()) > 2000 {
				t.Errorf("the log or error quotes the document:\n%s\n%v", l.all(), err)
			}
		})
	}
}

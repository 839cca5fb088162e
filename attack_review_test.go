package jwtguard_test

// Attack review of issue 13's rewrite of the verification path (branch
// attack-review). Each test names the claim of the rewrite it tries to
// break; those that fail at the branch's base commit show a finding.

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// TestAttackKeptClaimsDoNotPinTheRequestContext: a handler may keep the
// claims past the request (TestVerifyClaimsOutliveTheRequest: a session
// cache keyed by jti, an audit queue, a background job). Keeping them must
// not keep the request's context alive: the claims are now a field of the
// verifiedToken, which is the context handed to the handler and embeds the
// request's, so *Claims pins every value that middleware put in that
// context (a request-scoped logger, a DB transaction, the *http.Request,
// a buffered body) and its parents. At 9d563b5 the claims and the context
// were separate allocations and this passes.
func TestAttackKeptClaimsDoNotPinTheRequestContext(t *testing.T) {
	a := vtAuth(t)
	type bigKey struct{}
	var kept []*jwtguard.Claims
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		kept = append(kept, c)
	}))
	const requests = 20
	freed := make(chan struct{}, requests)
	for range requests {
		func() {
			big := new([1 << 20]byte) // what a middleware put in the request's context
			runtime.AddCleanup(big, func(chan struct{}) { freed <- struct{}{} }, freed)
			ctx := context.WithValue(context.Background(), bigKey{}, big)
			if rec := vtServe(h, vtGet("/r", "Bearer "+vtToken(nil)).WithContext(ctx)); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
		}()
	}
	n := 0
	for deadline := time.Now().Add(2 * time.Second); n < requests && time.Now().Before(deadline); {
		runtime.GC()
		select {
		case <-freed:
			n++
		case <-time.After(20 * time.Millisecond):
		}
	}
	runtime.KeepAlive(kept)
	if n < requests {
		t.Errorf("%d of %d request contexts (1 MiB each) still live while only their claims are kept", requests-n, requests)
	}
	if kept[0].Subject != "user-1" {
		t.Errorf("kept claims: %+v", kept[0])
	}
}

// inPlaceUpper is a TextUnmarshaler that upper-cases its input in place
// before copying it: encoding/json hands UnmarshalText (and UnmarshalJSON)
// a slice of the text given to Unmarshal, here the buffer the claims'
// strings are views of.
type inPlaceUpper string

func (u *inPlaceUpper) UnmarshalText(b []byte) error {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	*u = inPlaceUpper(b)
	return nil
}

// TestAttackDecodeCannotRewriteTheClaims: Claims.Decode must not be able to
// change the verified claims. Claims.Decode now hands encoding/json the
// payload buffer that Subject, Roles and the other string claims are unsafe
// views of (at 9d563b5 it decoded a fresh copy of the segment each time), so
// a custom unmarshaler that writes to its input rewrites the "immutable"
// strings of the verified claims, after Authorize has checked them, and the
// JSON every later Decode reads.
func TestAttackDecodeCannotRewriteTheClaims(t *testing.T) {
	a := vtAuth(t)
	var sub, again string
	var roles []string
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		var v struct {
			Sub   inPlaceUpper   `json:"sub"`
			Roles []inPlaceUpper `json:"roles"`
		}
		if err := c.Decode(&v); err != nil {
			t.Error(err)
		}
		sub = c.Subject
		roles = c.Roles
		var decoded struct {
			Sub string `json:"sub"`
		}
		_ = c.Decode(&decoded)
		again = decoded.Sub
	}))
	rec := vtServe(h, vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": "alice", "roles": []string{"user"}})))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if sub != "alice" || !slices.Equal(roles, []string{"user"}) || again != "alice" {
		t.Errorf("after Decode into an in-place unmarshaler: Subject %q, Roles %q, sub decoded again %q; want alice, [user], alice", sub, roles, again)
	}
}

// TestAttackEmptyListsAsBefore: "roles":[] and "aud":[] gave the handler
// empty, non-nil Roles and Audience at 9d563b5 (so json.Marshal of the
// claims wrote [] and reflect.DeepEqual held against []string{}); the
// copy-out into the verifiedToken's arrays (appendTo, the len(roles) > 0
// guard) makes them nil. Not a security matter: a change in what handlers
// see that the rewrite says it does not make (TestAttackReviewAnswersAsBefore
// finds it and nothing else in its corpus).
func TestAttackEmptyListsAsBefore(t *testing.T) {
	a := vtAuth(t)
	var c *jwtguard.Claims
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c, _ = jwtguard.FromContext(r.Context()) }))
	if rec := vtServe(h, vtGet("/r", "Bearer "+vtToken(map[string]any{"roles": []string{}, "aud": []string{}}))); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if c.Roles == nil || c.Audience == nil {
		t.Errorf(`"roles":[] and "aud":[]: Roles nil %v, Audience nil %v; both were empty, non-nil, at 9d563b5`, c.Roles == nil, c.Audience == nil)
	}
}

// TestAttackConcurrentClaimsStayTheirOwn (held): the pooled Payload, the
// claims' arrays and the views of each token's buffer, under concurrent
// requests with tokens of every list length, escaped and plain strings,
// expired and refused tokens in between, and Decode: every request's claims
// are its own, during its request and after every other. Run with -race.
func TestAttackConcurrentClaimsStayTheirOwn(t *testing.T) {
	a := vtAuth(t, jwtguard.WithAudience("api"))
	type kept struct {
		c    *jwtguard.Claims
		want string
	}
	var mu sync.Mutex
	var all []kept
	describe := func(c *jwtguard.Claims) string {
		var v map[string]any
		err := c.Decode(&v)
		return fmt.Sprintf("%s|%s|%q|%q|%q|%v|%v", c.Subject, c.Username, c.Roles, c.Audience, c.Scopes, v["n"], err)
	}
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		got := describe(c)
		if want := r.Header.Get("X-Want"); got != want {
			t.Errorf("during the request: %s, want %s", got, want)
		}
		runtime.Gosched()
		mu.Lock()
		all = append(all, kept{c, got})
		mu.Unlock()
	}))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				n := g*1000 + i
				sub := fmt.Sprintf("user-%d", n)
				if n%2 == 0 {
					sub += "-\\u00e9" // escaped: a copy, not a view
				}
				roles := []string{"r" + fmt.Sprint(n), "a", "b", "c", "d", "e"}[:n%7]
				aud := []string{"api", "x" + fmt.Sprint(n), "y"}[:1+n%3]
				extra := map[string]any{"sub": sub, "username": fmt.Sprintf("u%d", n), "roles": roles, "aud": aud, "scope": fmt.Sprintf("s%d t", n), "n": n}
				if n%5 == 0 {
					extra["role"] = fmt.Sprintf("role-%d", n)
				}
				tok := vtToken(extra)
				// The claims as the handler must see them: the same token
				// through Authenticate, whose claims are not the pool's.
				c, err := a.Authenticate(vtGet("/r", "Bearer "+tok))
				if err != nil {
					t.Error(err)
					return
				}
				want := describe(c)
				r := vtGet("/r", "Bearer "+tok)
				r.Header.Set("X-Want", want)
				if rec := vtServe(h, r); rec.Code != http.StatusOK {
					t.Errorf("status %d", rec.Code)
				}
				// Refused and expired tokens in between.
				vtServe(h, vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": "x", "exp": vtNow.Add(-time.Hour).Unix(), "aud": "api", "roles": []string{"evil", "admin"}})))
				vtServe(h, vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": "evil", "roles": []string{"admin"}, "aud": "other"})))
			}
		}()
	}
	wg.Wait()
	for _, k := range all {
		if got := describe(k.c); got != k.want {
			t.Errorf("after all requests: %s, want %s", got, k.want)
		}
	}
}

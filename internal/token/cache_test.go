package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// swapKeys is a Resolver of one key by kid that a test can change, or make
// fail.
type swapKeys struct {
	key  atomic.Pointer[Key]
	down atomic.Bool
}

var errDown = errors.New("the key source is down")

func (s *swapKeys) Resolve(_ context.Context, kid, _ string) (*Key, error) {
	if s.down.Load() {
		return nil, errDown
	}
	k := s.key.Load()
	if k == nil || kid != k.ID {
		return nil, ErrUnknownKey
	}
	return k, nil
}

// clock is a settable clock for Config.Now.
type clock struct{ unix atomic.Int64 }

func (c *clock) now() time.Time   { return time.Unix(c.unix.Load(), 0) }
func (c *clock) set(t time.Time)  { c.unix.Store(t.Unix()) }
func newClock(t time.Time) *clock { c := new(clock); c.set(t); return c }
func edKey(t testing.TB, id string) *Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewPrivateKey("EdDSA", id, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// cachedVerifier returns a Verifier of keys with a cache, and one without
// on the same configuration, to compare answers with.
func cachedVerifier(keys Resolver, now func() time.Time, cache *Cache) (cached, plain *Verifier) {
	cfg := Config{Keys: keys, Audience: "api", Leeway: 10 * time.Second, Now: now}
	plain = NewVerifier(cfg)
	cfg.Cache = cache
	return NewVerifier(cfg), plain
}

func mustSign(t testing.TB, k *Key, p *Payload) string {
	t.Helper()
	tok, err := Sign(k, "", p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCacheServesOnlyWhatVerified: a verified token is served from the
// cache with the payload it was verified with; a token that differs from
// it in any byte, or is signed by another key, or fails a check, is
// refused and never added.
func TestCacheServesOnlyWhatVerified(t *testing.T) {
	k := edKey(t, "k1")
	keys := new(swapKeys)
	keys.key.Store(k)
	c := NewCache(1 << 20)
	v, plain := cachedVerifier(keys, func() time.Time { return testNow }, c)
	want := &Payload{Subject: "alice", Audience: Audience{"api"}, Roles: []string{"admin", "ops"}, ExpiresAt: Time{testNow.Add(time.Minute)}}
	tok := mustSign(t, k, want)
	first, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 1 || st.Entries != 1 {
		t.Fatalf("stats after two verifications: %+v, want 1 hit, 1 miss, 1 entry", st)
	}
	fresh, _ := plain.Verify(context.Background(), tok)
	for _, p := range []*Payload{first, second} {
		if p.Subject != fresh.Subject || !reflect.DeepEqual(p.Audience, fresh.Audience) || !reflect.DeepEqual(p.Roles, fresh.Roles) ||
			!p.ExpiresAt.Equal(fresh.ExpiresAt.Time) || string(p.JSON) != string(fresh.JSON) {
			t.Errorf("payload %+v, want %+v", p, fresh)
		}
	}
	// Changing what a cached payload's caller was given changes nothing
	// in the cache.
	second.Roles[0] = "root"
	if third, _ := v.Verify(context.Background(), tok); third.Roles[0] != "admin" {
		t.Errorf("the cached roles were changed through a caller's payload: %v", third.Roles)
	}

	other := edKey(t, "k1")
	refused := map[string]string{
		"signed by another key under the same kid": mustSign(t, other, want),
		"another audience":                         mustSign(t, k, &Payload{Subject: "alice", Audience: Audience{"other"}, ExpiresAt: Time{testNow.Add(time.Minute)}}),
		"not yet valid":                            mustSign(t, k, &Payload{Subject: "alice", Audience: Audience{"api"}, NotBefore: Time{testNow.Add(time.Hour)}, ExpiresAt: Time{testNow.Add(2 * time.Hour)}}),
		"expired":                                  mustSign(t, k, &Payload{Subject: "alice", Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(-time.Hour)}}),
		"with a trailing newline":                  tok + "\n",
		"with a leading space":                     " " + tok,
		"cut short":                                tok[:len(tok)-1],
	}
	for i := range len(tok) {
		for _, b := range []byte{'A', 'B', '-', '_'} {
			if tok[i] == '.' || tok[i] == b {
				continue
			}
			refused[fmt.Sprintf("byte %d changed to %q", i, b)] = tok[:i] + string(b) + tok[i+1:]
			break
		}
	}
	entries := c.Stats().Entries
	for name, bad := range refused {
		for range 2 {
			_, err := v.Verify(context.Background(), bad)
			_, perr := plain.Verify(context.Background(), bad)
			if err == nil {
				t.Errorf("%s: accepted", name)
			} else if Reason(err) != Reason(perr) {
				t.Errorf("%s: refused for %s, uncached for %s", name, Reason(err), Reason(perr))
			}
		}
	}
	if st := c.Stats(); st.Entries != entries || st.Hits != 2 {
		t.Errorf("after the refusals: %+v, want %d entries and no new hit", st, entries)
	}
}

// TestCacheCollision: an entry is served only for the very token it was
// made for, and only to its own Verifier: a forged token that landed in
// the slot of a verified one (as a hash collision would put it) is
// verified afresh, and refused.
func TestCacheCollision(t *testing.T) {
	k := edKey(t, "k1")
	c := NewCache(1 << 20)
	v, _ := cachedVerifier(Static{k}, func() time.Time { return testNow }, c)
	good := mustSign(t, k, &Payload{Subject: "alice", Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(time.Minute)}})
	forged := mustSign(t, edKey(t, "k1"), &Payload{Subject: "mallory", Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(time.Minute)}})
	p, err := v.Verify(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	c.addAt(maphash.String(c.seed, forged), v, good, header{alg: "EdDSA", kid: "k1"}, k, p)
	if _, err := v.Verify(context.Background(), forged); Reason(err) != ReasonSignature {
		t.Errorf("a forged token in a verified token's slot: %v, want a bad signature", err)
	}
	// Another Verifier sharing the cache (another issuer's rules) is not
	// served the first one's entry: its own audience refuses it.
	w := NewVerifier(Config{Keys: Static{k}, Audience: "admin", Now: func() time.Time { return testNow }, Cache: c})
	if _, err := w.Verify(context.Background(), good); Reason(err) != ReasonAudience {
		t.Errorf("a token another Verifier cached: %v, want a wrong audience", err)
	}
}

// TestCacheTime: a cached token is accepted exactly while an uncached one
// is, within the leeway past exp, and is answered as expired (with its
// payload, as uncached) as soon as it is; the cache then forgets it.
func TestCacheTime(t *testing.T) {
	k := edKey(t, "k1")
	clk := newClock(testNow)
	c := NewCache(1 << 20)
	v, plain := cachedVerifier(Static{k}, clk.now, c)
	exp := testNow.Add(time.Minute)
	tok := mustSign(t, k, &Payload{Subject: "alice", Audience: Audience{"api"}, IssuedAt: Time{testNow}, ExpiresAt: Time{exp}})
	for _, at := range []time.Duration{0, time.Minute, time.Minute + 9*time.Second, time.Minute + 10*time.Second, time.Hour} {
		clk.set(testNow.Add(at))
		p, err := v.Verify(context.Background(), tok)
		_, perr := plain.Verify(context.Background(), tok)
		if (err == nil) != (perr == nil) || errors.Is(err, ErrExpired) != errors.Is(perr, ErrExpired) {
			t.Errorf("at +%v: cached %v, uncached %v", at, err, perr)
		}
		if errors.Is(err, ErrExpired) && (p == nil || p.Subject != "alice") {
			t.Errorf("at +%v: an expired cached token's payload is %+v, want alice's", at, p)
		}
	}
	if st := c.Stats(); st.Entries != 0 || st.Hits != 3 {
		t.Errorf("after expiry: %+v, want no entry, 3 hits (and an expired lookup)", st)
	}
	// A clock set back before iat (a test's, or a corrected one) is
	// checked against the cached token too.
	clk.set(testNow)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clk.set(testNow.Add(-time.Minute))
	if _, err := v.Verify(context.Background(), tok); err == nil || errors.Is(err, ErrExpired) {
		t.Errorf("a cached token before its iat: %v, want invalid", err)
	}
}

// TestCacheKeyChanges: a cached token is checked against its key source on
// every hit: once its kid names no key, or another key, it is refused (and
// forgotten), and a source that is down is reported as down, not answered
// from the cache.
func TestCacheKeyChanges(t *testing.T) {
	k := edKey(t, "k1")
	keys := new(swapKeys)
	keys.key.Store(k)
	c := NewCache(1 << 20)
	v, _ := cachedVerifier(keys, func() time.Time { return testNow }, c)
	tok := mustSign(t, k, &Payload{Subject: "alice", Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(time.Minute)}})
	verify := func() error { _, err := v.Verify(context.Background(), tok); return err }
	if err := verify(); err != nil {
		t.Fatal(err)
	}

	keys.down.Store(true)
	if err := verify(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("with the source down: %v, want ErrUnavailable", err)
	}
	keys.down.Store(false)
	if err := verify(); err != nil || c.Stats().Entries != 1 {
		t.Errorf("with the source back: %v, %d entries; want the entry kept", err, c.Stats().Entries)
	}

	// Retired: its kid names no key.
	keys.key.Store(edKey(t, "k2"))
	if err := verify(); Reason(err) != ReasonUnknownKey {
		t.Errorf("after its key was removed: %v, want an unknown key", err)
	}
	if n := c.Stats().Entries; n != 0 {
		t.Errorf("%d entries after its key was removed, want 0", n)
	}
	keys.key.Store(k)
	if err := verify(); err != nil {
		t.Fatalf("its key back: %v", err)
	}
	// The same key made anew (a source that builds its Key for every
	// call, a JWKS fetched again): still served from the cache.
	hits := c.Stats().Hits
	keys.key.Store(k.WithID("k1"))
	if err := verify(); err != nil || c.Stats().Hits != hits+1 {
		t.Errorf("the same key anew: %v, %d hits (want %d)", err, c.Stats().Hits, hits+1)
	}
	keys.key.Store(k.PublicOnly())
	if err := verify(); err != nil || c.Stats().Hits != hits+2 {
		t.Errorf("its public half: %v, %d hits (want %d)", err, c.Stats().Hits, hits+2)
	}
	// Replaced: another key under the same kid.
	keys.key.Store(edKey(t, "k1"))
	if err := verify(); Reason(err) != ReasonSignature {
		t.Errorf("after its kid was given another key: %v, want a bad signature", err)
	}
}

// TestCacheBudget: the cache holds no more than its budget, however many
// tokens are verified, and every one still verifies.
func TestCacheBudget(t *testing.T) {
	k := NewHMACKey("HS256", "", testSecret)
	c := NewCache(MinCacheSize)
	v, _ := cachedVerifier(Static{k}, func() time.Time { return testNow }, c)
	for i := range 2000 {
		tok := mustSign(t, k, &Payload{Subject: fmt.Sprint("user-", i), Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(time.Minute)}})
		for range 2 {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := c.Stats()
	if st.Bytes > MinCacheSize || st.Entries < 16 || st.Hits < 2000 {
		t.Errorf("stats %+v: want at most %d bytes, some entries, every second verification a hit", st, MinCacheSize)
	}
	// A shard full of expired entries makes room from them first.
	v.now = func() time.Time { return testNow.Add(time.Hour) }
	before := st.Entries
	tok := mustSign(t, k, &Payload{Subject: "late", Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(2 * time.Hour)}})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Entries > before || st.Bytes > MinCacheSize {
		t.Errorf("after adding to a full cache: %+v", st)
	}
	if e, _ := c.get(v, tok); e == nil {
		t.Error("the new token was not added")
	}
}

// TestCacheHitAllocations: a hit (Cached) allocates nothing.
func TestCacheHitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	k := edKey(t, "k1")
	v, _ := cachedVerifier(Static{k}, func() time.Time { return testNow }, NewCache(1<<20))
	tok := mustSign(t, k, &Payload{Subject: "alice", Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(time.Minute)}})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if p, found, err := v.Cached(context.Background(), tok, testNow); !found || err != nil || p.Subject != "alice" {
			t.Fatal(found, err)
		}
	}); n != 0 {
		t.Errorf("a cache hit: %v allocations, want 0", n)
	}
}

// TestCacheConcurrent: verifications, additions, evictions and key
// changes at once (for the race detector), every answer the right one.
func TestCacheConcurrent(t *testing.T) {
	k := edKey(t, "k1")
	keys := new(swapKeys)
	keys.key.Store(k)
	c := NewCache(MinCacheSize)
	v, _ := cachedVerifier(keys, func() time.Time { return testNow }, c)
	var toks []string
	for i := range 64 {
		toks = append(toks, mustSign(t, k, &Payload{Subject: fmt.Sprint("user-", i), Audience: Audience{"api"}, ExpiresAt: Time{testNow.Add(time.Minute)}}))
	}
	stranger := edKey(t, "k1")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				tok := toks[(i*7+g)%len(toks)]
				p, err := v.Verify(context.Background(), tok)
				// While the key is swapped out, tokens are refused; a
				// token accepted is always answered with its own claims.
				if err == nil && p.Subject != fmt.Sprint("user-", (i*7+g)%len(toks)) {
					t.Errorf("token of user-%d answered for %s", (i*7+g)%len(toks), p.Subject)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			if i%2 == 0 {
				keys.key.Store(stranger)
			} else {
				keys.key.Store(k)
			}
		}
		keys.key.Store(k)
	})
	wg.Wait()
	for _, tok := range toks {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("with its key back: %v", err)
		}
	}
	if st := c.Stats(); st.Bytes > MinCacheSize {
		t.Errorf("stats %+v over the budget", st)
	}
}

// TestCacheBudgetIsTheHeap: what the cache counts is what its entries
// hold on the heap (within a fifth), for plain claims and for claims whose
// escapes make them copies of their own rather than views of the JSON.
func TestCacheBudgetIsTheHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	for name, role := range map[string]string{
		"plain":   `"https://idp.example.com/groups/engineering-%02d-xxxxxxxxxxxxxxxxxxxx"`,
		"escaped": `"https:\/\/idp.example.com\/groups\/engineering-%02d-xxxxxxxxxxxxxxxxxxxx"`,
	} {
		t.Run(name, func(t *testing.T) {
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			k, _ := NewPrivateKey("EdDSA", "k1", priv)
			c := NewCache(64 << 20)
			v := NewVerifier(Config{Keys: Static{k}, Audience: "api", Now: func() time.Time { return testNow }, Cache: c})
			var roles []string
			for i := range 12 {
				roles = append(roles, fmt.Sprintf(role, i))
			}
			header := seg(`{"alg":"EdDSA","kid":"k1"}`)
			toks := make([]string, 4000)
			for i := range toks {
				in := header + "." + seg(fmt.Sprintf(`{"sub":"user-%d","aud":"api","exp":%d,"roles":[%s]}`, i, testNow.Add(time.Hour).Unix(), strings.Join(roles, ",")))
				toks[i] = in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for _, tok := range toks {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			st := c.Stats()
			held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			if st.Entries != int64(len(toks)) || float64(held) > 1.2*float64(st.Bytes) {
				t.Errorf("%d entries hold %d bytes on the heap, counted as %d (%.2f times)", st.Entries, held, st.Bytes, float64(held)/float64(st.Bytes))
			}
			runtime.KeepAlive(toks)
		})
	}
}

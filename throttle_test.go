package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
)

// ltClock is a settable clock for the throttle tests.
type ltClock struct {
	mu  sync.Mutex
	now time.Time
}

func newLTClock() *ltClock { return &ltClock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)} }

func (c *ltClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ltClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// ltLoginFrom posts a login from remote, with extra headers.
func ltLoginFrom(h http.Handler, remote, body string, headers ...string) *httptest.ResponseRecorder {
	r := ltRequest(http.MethodPost, "application/json", body)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

const (
	ltAlice      = `{"username":"alice","password":"password123"}`
	ltAliceWrong = `{"username":"alice","password":"guess"}`
	ltAdmin      = `{"username":"admin","password":"password123"}`
)

func ltWant(t *testing.T, rec *httptest.ResponseRecorder, status int, what string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status %d, want %d (%s)", what, rec.Code, status, strings.TrimSpace(rec.Body.String()))
	}
}

func TestAccountThrottle(t *testing.T) {
	clock := newLTClock()
	a := ltAuth(t, jwtguard.WithClock(clock.Now), ltAccount(3, time.Minute))
	h := a.LoginHandler(ltStore(t))

	for i := range 3 {
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "wrong guess "+string(rune('1'+i)))
	}
	rec := ltLoginFrom(h, "192.0.2.9:1", ltAliceWrong)
	ltWant(t, rec, 429, "fourth guess, from another address")
	if ltErrorBody(t, rec) != "too_many_requests" || rec.Header().Get("Retry-After") != "60" {
		t.Errorf("429 body %s, Retry-After %q; want too_many_requests and 60", rec.Body, rec.Header().Get("Retry-After"))
	}
	// The throttle slows the account whatever the password...
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAlice), 429, "right password while throttled")
	// ...but not other accounts.
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAdmin), 200, "another account")

	clock.Advance(59 * time.Second)
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAlice), 429, "after 59 s")
	clock.Advance(time.Second)
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAlice), 200, "after 60 s: never locked for good")
	// That success cost nothing: one wrong guess is still allowed, then not.
	ltWant(t, ltLoginFrom(h, "192.0.2.9:1", ltAliceWrong), 401, "guess after the refill")
	ltWant(t, ltLoginFrom(h, "192.0.2.9:1", ltAliceWrong), 429, "next guess")
}

// An attacker who keeps an account's bucket empty, polling as fast as it
// refills, does not keep the owner out: logins from the address of the
// owner's last successful login count against a bucket of their own.
func TestAccountThrottleDoesNotLockOutTheReturningOwner(t *testing.T) {
	clock := newLTClock()
	h := ltAuth(t, jwtguard.WithClock(clock.Now), ltAccount(3, time.Minute)).LoginHandler(ltStore(t))
	ltWant(t, ltLoginFrom(h, "198.51.100.1:1", ltAlice), 200, "alice, before the attack")
	for minute := range 60 {
		clock.Advance(time.Minute)
		for range 5 { // the attacker takes every token as it comes
			ltLoginFrom(h, "203.0.113.7:1", ltAliceWrong)
		}
		if minute%10 == 9 {
			ltWant(t, ltLoginFrom(h, "198.51.100.1:2", ltAlice), 200, "alice from her address during the attack")
		}
	}
	// From a new address she waits with the attacker: the account's bucket
	// is empty.
	ltWant(t, ltLoginFrom(h, "198.51.100.200:1", ltAlice), 429, "alice from a new address during the attack")
	// Her own bucket still stops guesses from her address.
	for range 3 {
		ltWant(t, ltLoginFrom(h, "198.51.100.1:3", ltAliceWrong), 401, "a guess from alice's address")
	}
	ltWant(t, ltLoginFrom(h, "198.51.100.1:3", ltAliceWrong), 429, "a fourth guess from alice's address")
}

func TestAccountThrottleIsOnByDefault(t *testing.T) {
	// On a frozen clock: ten bcrypt comparisons under -race on a loaded
	// machine can take over a second, which made Retry-After 29.
	now := time.Now()
	h := ltAuth(t, jwtguard.WithClock(func() time.Time { return now })).LoginHandler(ltStore(t))
	for range 10 {
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "guess within the default burst")
	}
	rec := ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong)
	ltWant(t, rec, 429, "guess past the default burst")
	if ra := rec.Header().Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After = %q, want 30", ra)
	}
}

func TestSuccessfulLoginsAreNotThrottled(t *testing.T) {
	h := ltAuth(t, ltAccount(2, time.Hour), ltAddress(2, time.Hour)).LoginHandler(ltStore(t))
	for range 10 {
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAlice), 200, "repeated good login")
	}
}

func TestThrottleOff(t *testing.T) {
	h := ltAuth(t, ltAccount(0, 0)).LoginHandler(ltStore(t))
	for range 30 {
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "guess with the throttle off")
	}
}

func TestAddressThrottle(t *testing.T) {
	clock := newLTClock()
	h := ltAuth(t, jwtguard.WithClock(clock.Now), ltAccount(0, 0),
		ltAddress(2, 10*time.Second)).LoginHandler(ltStore(t))
	// A new username each time does not get past the address limit.
	ltWant(t, ltLoginFrom(h, "198.51.100.7:1000", `{"username":"u1","password":"x"}`), 401, "first")
	ltWant(t, ltLoginFrom(h, "198.51.100.7:2000", `{"username":"u2","password":"x"}`), 401, "second, another port")
	rec := ltLoginFrom(h, "198.51.100.7:3000", `{"username":"u3","password":"x"}`)
	ltWant(t, rec, 429, "third")
	if rec.Header().Get("Retry-After") != "10" {
		t.Errorf("Retry-After = %q, want 10", rec.Header().Get("Retry-After"))
	}
	// Forwarding headers from an untrusted peer are ignored.
	ltWant(t, ltLoginFrom(h, "198.51.100.7:1", `{"username":"u4","password":"x"}`, "X-Forwarded-For", "203.0.113.50", "Forwarded", "for=203.0.113.51"), 429, "spoofed forwarding headers")
	// Other addresses are not affected, and a good login still costs nothing.
	ltWant(t, ltLoginFrom(h, "198.51.100.8:1", ltAlice), 200, "another address")
	// IPv6 clients are keyed by /64.
	ltWant(t, ltLoginFrom(h, "[2001:db8:1:2::1]:1", `{"username":"u","password":"x"}`), 401, "v6 first")
	ltWant(t, ltLoginFrom(h, "[2001:db8:1:2::ffff]:1", `{"username":"u","password":"x"}`), 401, "v6 second, same /64")
	ltWant(t, ltLoginFrom(h, "[2001:db8:1:2:aaaa::1]:1", `{"username":"u","password":"x"}`), 429, "v6 third, same /64")
	ltWant(t, ltLoginFrom(h, "[2001:db8:1:3::1]:1", `{"username":"u","password":"x"}`), 401, "v6, next /64")
	clock.Advance(10 * time.Second)
	ltWant(t, ltLoginFrom(h, "198.51.100.7:1", `{"username":"u5","password":"x"}`), 401, "after the refill")
}

func TestAddressThrottleBehindTrustedProxies(t *testing.T) {
	h := ltAuth(t, ltAccount(0, 0), ltAddress(1, time.Hour),
		ltTrustedProxies("10.0.0.0/8", "192.0.2.10")).LoginHandler(ltStore(t))
	wrong := `{"username":"alice","password":"x"}`
	tests := []struct {
		name    string
		remote  string
		headers []string
		want    int
	}{
		{"client A via the proxy", "10.1.1.1:5000", []string{"X-Forwarded-For", "203.0.113.1"}, 401},
		{"client A again", "10.2.2.2:5000", []string{"X-Forwarded-For", "203.0.113.1"}, 429},
		{"client B via the proxy", "10.1.1.1:5000", []string{"X-Forwarded-For", "203.0.113.2"}, 401},
		{"client A behind two trusted proxies", "192.0.2.10:1", []string{"X-Forwarded-For", "203.0.113.1, 10.9.9.9"}, 429},
		{"client A prepends a spoofed address", "10.1.1.1:5000", []string{"X-Forwarded-For", "198.18.0.1, 203.0.113.1"}, 429},
		{"X-Forwarded-For is read, Forwarded ignored (client C)", "10.1.1.1:5000", []string{"Forwarded", "for=203.0.113.1", "X-Forwarded-For", "203.0.113.99"}, 401},
		{"Forwarded alone is ignored: keyed as the proxy", "10.1.1.1:5000", []string{"Forwarded", `for="[2001:db8::1]:4711";proto=https`}, 401},
		{"several X-Forwarded-For fields", "10.1.1.1:5000", []string{"X-Forwarded-For", "203.0.113.3", "X-Forwarded-For", "203.0.113.1"}, 429},
		{"the proxy with no header is keyed as itself", "10.1.1.1:5000", nil, 429},
		{"an unreadable hop stops the walk at the proxy", "10.1.1.1:5000", []string{"X-Forwarded-For", "garbage"}, 429},
	}
	for _, tc := range tests {
		rec := ltLoginFrom(h, tc.remote, wrong, tc.headers...)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
}

// Refusals that are not wrong guesses (overload, store failure) give their
// tokens back.
func TestThrottleRefundsNonGuesses(t *testing.T) {
	a := ltAuth(t, ltAccount(1, time.Hour), ltConcurrency(1), ltWait(0))
	failing := ltStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
		return jwtguard.User{}, errors.New("store down")
	})
	h := a.LoginHandler(failing)
	for range 3 {
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 503, "store down")
	}
	// The account's single token is still there.
	h = a.LoginHandler(ltStore(t))
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "first real guess")
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "second real guess")
}

// A store may match usernames without regard to case (a SQL collation, say):
// changing the case of the username does not give a guesser fresh tokens.
func TestAccountThrottleIgnoresUsernameCase(t *testing.T) {
	h := ltAuth(t, ltAccount(2, time.Hour)).LoginHandler(ltStore(t))
	for i, name := range []string{"alice", "Alice", "ALICE", "aLiCe"} {
		want := 401
		if i >= 2 {
			want = 429
		}
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"`+name+`","password":"x"}`), want, name)
	}
}

// Logins refused for want of a comparison slot were not guesses: they give
// their throttle tokens back.
func TestThrottleRefundsOverloadedLogins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltAuth(t, ltAccount(1, time.Hour), ltConcurrency(1), ltWait(0))
		release, _ := ltHoldFirstCompare(a)
		h := a.LoginHandler(ltStore(t))
		done := make(chan struct{})
		go func() { ltLoginFrom(h, "192.0.2.1:1", ltAdmin); close(done) }()
		synctest.Wait()
		for range 3 {
			ltWant(t, ltLoginFrom(h, "192.0.2.2:1", ltAliceWrong), 503, "a guess while the slot is busy")
		}
		close(release)
		<-done
		ltWant(t, ltLoginFrom(h, "192.0.2.2:1", ltAliceWrong), 401, "the first real guess")
		ltWant(t, ltLoginFrom(h, "192.0.2.2:1", ltAliceWrong), 429, "the second")
	})
}

// The reviewed attack on the throttle's memory, through LoginHandler: an
// account's bucket is drained, then a flood of logins under fresh usernames
// (or from fresh addresses) tries to push it out of a small table so that
// the account gets a fresh burst. Logins refused before any comparison
// leave no key behind, and a full table forgets fuller buckets first, so
// the attacked account stays throttled.
func TestThrottleSurvivesASprayOfFreshKeys(t *testing.T) {
	long := strings.Repeat("p", 72+1)
	spray := func(i int, password string) string {
		return fmt.Sprintf(`{"username":"spray-%d","password":%q}`, i, password)
	}
	sprayAddr := func(i int) string { return fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255) }
	tests := []struct {
		name     string
		opts     []jwtguard.Option
		n        int
		status   int // of each sprayed login
		body     func(i int) string
		victimIP string
	}{
		{"account, passwords over 72 bytes", nil, 3000, 401,
			func(i int) string { return spray(i, long) }, "192.0.2.1:1"},
		{"account, unknown users compared", nil, 300, 401,
			func(i int) string { return spray(i, "guess") }, "192.0.2.1:1"},
		{"address, passwords over 72 bytes", []jwtguard.Option{ltAccount(0, 0), ltAddress(3, time.Hour)}, 3000, 401,
			func(i int) string { return spray(i, long) }, "203.0.113.7:1"},
		{"address, unknown users compared", []jwtguard.Option{ltAccount(0, 0), ltAddress(3, time.Hour)}, 300, 401,
			func(i int) string { return spray(i, "guess") }, "203.0.113.7:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]jwtguard.Option{jwtguard.WithClock(newLTClock().Now), ltCapacity(64),
				ltAccount(3, time.Hour)}, tc.opts...)
			h := ltAuth(t, opts...).LoginHandler(ltStore(t))
			for i := range 3 {
				ltWant(t, ltLoginFrom(h, tc.victimIP, ltAliceWrong), 401, fmt.Sprintf("guess %d", i+1))
			}
			ltWant(t, ltLoginFrom(h, tc.victimIP, ltAliceWrong), 429, "the drained bucket")
			for i := range tc.n {
				if rec := ltLoginFrom(h, sprayAddr(i), tc.body(i)); rec.Code != tc.status {
					t.Fatalf("sprayed login %d: status %d, want %d", i, rec.Code, tc.status)
				}
			}
			ltWant(t, ltLoginFrom(h, tc.victimIP, ltAliceWrong), 429, "the drained bucket after the spray")
			ltWant(t, ltLoginFrom(h, tc.victimIP, ltAlice), 429, "the right password after the spray")
		})
	}
	// Logins refused for want of password-hashing budget (503) were not
	// guesses either: they give their tokens back and leave no key.
	t.Run("account, logins refused by the password budget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// A burst of 3 comparisons for everyone, then one every 20
			// minutes or so; no waiting.
			h := ltAuth(t, jwtguard.WithClock(newLTClock().Now), ltCapacity(64),
				ltAccount(3, time.Hour), ltBudget(0.001, 4),
				ltWait(0)).LoginHandler(ltStore(t))
			for i := range 3 {
				ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, fmt.Sprintf("guess %d", i+1))
			}
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "the drained bucket")
			for i := range 3000 {
				if rec := ltLoginFrom(h, sprayAddr(i), spray(i, "guess")); rec.Code != 503 {
					t.Fatalf("sprayed login %d: status %d, want 503", i, rec.Code)
				}
			}
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "the drained bucket after the spray")
		})
	})
}

// ltFoldingStore finds users as strings.EqualFold does, after dropping
// dots (as some mail providers do): a store that matches more spellings
// than the throttle's case fold.
func ltFoldingStore(t *testing.T) jwtguard.UserStore {
	s := ltStore(t)
	return ltStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
		name := strings.ReplaceAll(username, ".", "")
		for _, known := range []string{"alice", "admin", "mallory"} {
			if strings.EqualFold(name, known) {
				return s.LookupUser(ctx, known)
			}
		}
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	})
}

// Usernames that strings.EqualFold calls equal share one bucket, beyond
// ASCII case: the long s, the Kelvin sign, the final sigma, the micro sign.
// The usernames here are unknown, so only the username bucket counts.
func TestAccountThrottleFoldsUsernames(t *testing.T) {
	tests := []struct {
		name      string
		spellings []string
	}{
		{"long s", []string{"sam", "\u017fam", "SAM", "\u017fAM"}},
		{"Kelvin sign", []string{"kate", "\u212aate", "KATE", "\u212aATE"}},
		{"final sigma", []string{"\u03c3\u03c9\u03c3", "\u03c3\u03c9\u03c2", "\u03a3\u03a9\u03a3", "\u03c2\u03c9\u03c2"}},
		{"micro sign", []string{"\u03bcu", "\u00b5u", "\u039cU", "\u00b5U"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := ltAuth(t, ltAccount(2, time.Hour)).LoginHandler(ltFoldingStore(t))
			for i, name := range tc.spellings {
				want := 401
				if i >= 2 {
					want = 429
				}
				ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"`+name+`","password":"x"}`), want, name)
			}
		})
	}
}

// Spellings that the store maps to one user and the fold does not (here,
// dots) share the bucket of the user's ID: a 429 from it looks exactly like
// one from the username's bucket, comes before any comparison, and gives
// the other tokens back.
func TestAccountThrottleSharesTheUserIDBucket(t *testing.T) {
	a := ltAuth(t, jwtguard.WithClock(newLTClock().Now), ltAccount(2, time.Hour),
		ltAddress(3, time.Hour))
	release, calls := ltHoldFirstCompare(a)
	close(release)
	h := a.LoginHandler(ltFoldingStore(t))
	guess := func(remote, name string) *httptest.ResponseRecorder {
		return ltLoginFrom(h, remote, `{"username":"`+name+`","password":"x"}`)
	}
	ltWant(t, guess("192.0.2.1:1", "alice"), 401, "alice")
	ltWant(t, guess("192.0.2.1:1", "a.lice"), 401, "a.lice")
	byID := guess("192.0.2.1:1", "al.ice")
	ltWant(t, byID, 429, "al.ice: the user ID's bucket is empty")
	ltWant(t, guess("192.0.2.1:1", "alice"), 429, "alice: a token left in its username bucket, none in the ID's")
	if n := calls.Load(); n != 2 {
		t.Errorf("%d comparisons, want 2: the ID bucket refuses before comparing", n)
	}
	// The refusals gave the address's tokens back: it has one left.
	ltWant(t, guess("192.0.2.1:1", "ad.min"), 401, "another user, the address's third token")
	ltWant(t, guess("192.0.2.1:1", "nob.ody"), 429, "the address's bucket is empty")

	// A username bucket's 429, for an unknown user, from elsewhere.
	ltWant(t, guess("192.0.2.2:1", "nobody"), 401, "nobody")
	ltWant(t, guess("192.0.2.2:1", "nobody"), 401, "nobody")
	byName := guess("192.0.2.2:1", "nobody")
	if byID.Code != byName.Code || byID.Body.String() != byName.Body.String() ||
		byID.Header().Get("Retry-After") != byName.Header().Get("Retry-After") || byID.Header().Get("Retry-After") != "3600" {
		t.Errorf("ID bucket 429: %d %q Retry-After %q; username bucket 429: %d %q Retry-After %q",
			byID.Code, byID.Body, byID.Header().Get("Retry-After"), byName.Code, byName.Body, byName.Header().Get("Retry-After"))
	}
	if st := a.Stats(); st.LoginsThrottled != 4 {
		t.Errorf("Throttled = %d, want 4", st.LoginsThrottled)
	}
}

// The owner logging in from the address of their last successful login
// has an ID bucket of their own too, so other spellings cannot lock them
// out.
func TestAccountThrottleUserIDBucketSparesTheReturningOwner(t *testing.T) {
	h := ltAuth(t, jwtguard.WithClock(newLTClock().Now), ltAccount(2, time.Hour)).LoginHandler(ltFoldingStore(t))
	ltWant(t, ltLoginFrom(h, "198.51.100.1:1", ltAlice), 200, "alice, before the attack")
	for i, name := range []string{"a.lice", "al.ice", "ali.ce", "alic.e"} {
		rec := ltLoginFrom(h, "203.0.113.7:1", `{"username":"`+name+`","password":"x"}`)
		if want := map[bool]int{true: 401, false: 429}[i < 2]; rec.Code != want {
			t.Fatalf("%s: %d, want %d", name, rec.Code, want)
		}
	}
	ltWant(t, ltLoginFrom(h, "198.51.100.1:2", ltAlice), 200, "alice from her address during the attack")
	ltWant(t, ltLoginFrom(h, "198.51.100.99:1", ltAlice), 429, "alice from a new address during the attack")
}

// A client address that cannot be read is never the returning owner's:
// otherwise every such client (the attacker too) would share the owner's
// own bucket, and get a burst of guesses on top of the account's.
func TestReturningOwnerNeedsAReadableAddress(t *testing.T) {
	for _, remote := range []string{"not-an-address", ""} {
		t.Run(fmt.Sprintf("RemoteAddr %q", remote), func(t *testing.T) {
			h := ltAuth(t, jwtguard.WithClock(newLTClock().Now), ltAccount(3, time.Hour)).LoginHandler(ltStore(t))
			ltWant(t, ltLoginFrom(h, remote, ltAlice), 200, "alice, from an unreadable address")
			for i := range 3 {
				ltWant(t, ltLoginFrom(h, remote, ltAliceWrong), 401, fmt.Sprintf("guess %d from an unreadable address", i+1))
			}
			ltWant(t, ltLoginFrom(h, remote, ltAlice), 429, "alice again: she has no bucket of her own there")
			ltWant(t, ltLoginFrom(h, "203.0.113.7:1", ltAliceWrong), 429, "a guess from elsewhere: the account's bucket is the one spent")
		})
	}
}

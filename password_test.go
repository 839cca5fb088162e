package jwtguard_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
	"golang.org/x/crypto/bcrypt"
)

// ltBudgetAuth is an Auth whose comparisons cost no time, with the
// throttles off, so that only the password budget decides.
func ltBudgetAuth(t *testing.T, opts ...jwtguard.Option) *jwtguard.Auth {
	t.Helper()
	a := ltAuth(t, append([]jwtguard.Option{ltAccount(0, 0)}, opts...)...)
	jwtguard.SetPasswordCompare(a, bcrypt.CompareHashAndPassword)
	return a
}

// ltTimed posts body from remote and returns the answer and how long it took
// (virtual time inside a synctest bubble).
func ltTimed(h http.Handler, remote, body string) (int, string, time.Duration) {
	start := time.Now()
	rec := ltLoginFrom(h, remote, body)
	return rec.Code, rec.Header().Get("Retry-After"), time.Since(start)
}

func TestPasswordBudgetAdmitsHoldsAndRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 comparison a second: 0.8/s with a burst of 1 for everyone.
		a := ltBudgetAuth(t, ltBudget(1, 1), ltWait(2*time.Second))
		h := a.LoginHandler(ltStore(t))

		if code, _, took := ltTimed(h, "192.0.2.1:1", ltAlice); code != 200 || took != 0 {
			t.Fatalf("first login: %d after %v, want 200 at once", code, took)
		}
		// The next comparison is 1.25 s away: within the 2 s wait, so the
		// login is held that long and then admitted.
		if code, _, took := ltTimed(h, "192.0.2.2:1", ltAdmin); code != 200 || took != 1250*time.Millisecond {
			t.Fatalf("second login: %d after %v, want 200 after 1.25s", code, took)
		}
		// Two more at once: the first is held 1.25 s, the second would start
		// 2.5 s from now, beyond the wait: it is held the whole 2 s (the
		// tarpit) and refused with Retry-After.
		type result struct {
			code int
			ra   string
			took time.Duration
		}
		first := make(chan result)
		go func() {
			c, ra, d := ltTimed(h, "192.0.2.3:1", ltAlice)
			first <- result{c, ra, d}
		}()
		synctest.Wait()
		code, ra, took := ltTimed(h, "192.0.2.4:1", ltAlice)
		if code != 503 || ra != "2" || took != 2*time.Second {
			t.Errorf("login past the budget: %d, Retry-After %q, after %v; want 503, 2, after 2s", code, ra, took)
		}
		if r := <-first; r.code != 200 || r.took != 1250*time.Millisecond {
			t.Errorf("held login: %d after %v, want 200 after 1.25s", r.code, r.took)
		}
		st := a.Stats()
		if st.LoginsAdmitted != 3 || st.LoginsHeld != 3 || st.LoginsRefused != 1 || st.LoginsWaiting != 0 || st.PasswordBudget != 1 {
			t.Errorf("stats = %+v, want 3 admitted, 3 held, 1 refused, 0 waiting, budget 1/s", st)
		}
	})
}

func TestPasswordBudgetBoundsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltBudgetAuth(t, ltBudget(0.1, 1), ltMaxWaiting(2))
		h := a.LoginHandler(ltStore(t))
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAlice), 200, "the burst")
		done := make(chan int, 2)
		for i := range 2 {
			go func() { done <- ltLoginFrom(h, "192.0.2.9:"+string(rune('1'+i)), ltAlice).Code }()
		}
		synctest.Wait()
		if w := a.Stats().LoginsWaiting; w != 2 {
			t.Fatalf("%d logins waiting, want 2", w)
		}
		code, ra, took := ltTimed(h, "192.0.2.5:1", ltAlice)
		if code != 503 || ra == "" || took != 0 {
			t.Errorf("third waiter: %d, Retry-After %q, after %v; want 503 with Retry-After at once", code, ra, took)
		}
		for range 2 {
			if c := <-done; c != 503 {
				t.Errorf("tarpitted login: %d, want 503", c)
			}
		}
	})
}

// When the budget is spent, a user who logs in from the address of their
// last successful login draws on the returning users' share and gets in at
// once; the same account from a new address waits with everyone else.
// (bench/cmd/loginflood shows the same under a real flood.)
func TestPasswordBudgetKeepsAShareForReturningUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 comparison a second: 0.8/s (burst 1) for everyone, 0.2/s
		// (burst 1) kept for returning users.
		a := ltBudgetAuth(t, ltBudget(1, 1))
		h := a.LoginHandler(ltStore(t))
		ltWant(t, ltLoginFrom(h, "198.51.100.1:1", ltAlice), 200, "alice, before")
		time.Sleep(10 * time.Second) // both pools full again

		// An attacker's guess spends the general pool: the next comparison
		// for anyone else is 1.25 s away, beyond the 1 s wait.
		ltWant(t, ltLoginFrom(h, "203.0.113.9:1", `{"username":"guess","password":"x"}`), 401, "a guess")
		if code, _, took := ltTimed(h, "198.51.100.1:2", ltAlice); code != 200 || took != 0 {
			t.Errorf("returning alice: %d after %v, want 200 at once", code, took)
		}
		if code, _, took := ltTimed(h, "198.51.100.77:1", ltAlice); code != 503 || took != time.Second {
			t.Errorf("alice from a new address: %d after %v, want 503 after the 1s wait like everyone else", code, took)
		}
	})
}

func TestPasswordBudgetWarnsOperatorsAtMostEveryTenSeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		a := ltBudgetAuth(t, ltBudget(0.01, 1), ltWait(0),
			jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		h := a.LoginHandler(ltStore(t))
		for range 5 {
			ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong)
		}
		if n := strings.Count(logs.String(), "password hashing at capacity"); n != 1 {
			t.Errorf("%d warnings for 4 refusals within a second, want 1", n)
		}
		time.Sleep(10 * time.Second)
		ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong)
		ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong)
		if n := strings.Count(logs.String(), "password hashing at capacity"); n != 2 {
			t.Errorf("%d warnings after 10 s more, want 2", n)
		}
		if st := a.Stats(); st.LoginsRefused != 6 {
			t.Errorf("refused = %d, want 6 (all but the burst)", st.LoginsRefused)
		}
	})
}

// The default budget is a share of the cores divided by the measured time of
// a comparison.
func TestPasswordBudgetFollowsMeasuredCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltAuth(t, ltAccount(0, 0), ltCPUShare(0.5))
		cores := float64(runtime.GOMAXPROCS(0))
		// Before any comparison: cost 4 is estimated at 60 ms / 2^6.
		want := 0.5 * cores / (0.060 / 64)
		if got := a.Stats().PasswordBudget; math.Abs(got-want) > 1e-6*want {
			t.Fatalf("initial budget %v/s, want %v/s", got, want)
		}
		jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
			time.Sleep(100 * time.Millisecond) // a slow machine
			return bcrypt.CompareHashAndPassword(hash, pw)
		})
		ltWant(t, ltLoginFrom(a.LoginHandler(ltStore(t)), "192.0.2.1:1", ltAlice), 200, "login")
		want = 0.5 * cores / 0.1
		if got := a.Stats().PasswordBudget; math.Abs(got-want) > 1e-6*want {
			t.Errorf("budget after a 100 ms comparison: %v/s, want %v/s", got, want)
		}
	})
}

func TestPasswordBudgetOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltBudgetAuth(t, ltBudget(0, 0))
		h := a.LoginHandler(ltStore(t))
		for range 50 {
			if code, _, took := ltTimed(h, "192.0.2.1:1", ltAlice); code != 200 || took != 0 {
				t.Fatalf("login without a budget: %d after %v", code, took)
			}
		}
		if st := a.Stats(); st.PasswordBudget != 0 || st.LoginsHeld != 0 {
			t.Errorf("stats = %+v, want no budget and nothing held", st)
		}
	})
}

// A login that took budget and then found no comparison slot gives the
// budget back: refusals that never compared do not spend it.
func TestPasswordBudgetGivesBackWhatARefusedLoginTook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 0.8/s for everyone with a burst of 4; one slot; no waiting.
		a := ltAuth(t, ltAccount(0, 0), ltBudget(1, 5),
			ltConcurrency(1), ltWait(0))
		release, _ := ltHoldFirstCompare(a)
		h := a.LoginHandler(ltStore(t))
		done := make(chan int)
		go func() { done <- ltLoginFrom(h, "192.0.2.1:1", ltAlice).Code }()
		synctest.Wait() // holds the slot and one token of four
		for i := range 5 {
			ltWant(t, ltLoginFrom(h, "192.0.2.2:1", ltAdmin), 503, fmt.Sprintf("login %d while the slot is busy", i))
		}
		close(release)
		if c := <-done; c != 200 {
			t.Fatalf("held login: %d", c)
		}
		for i := range 3 {
			if code, _, took := ltTimed(h, "192.0.2.3:1", ltAdmin); code != 200 || took != 0 {
				t.Fatalf("login %d after the refusals: %d after %v, want 200 at once (their budget was given back)", i, code, took)
			}
		}
		ltWant(t, ltLoginFrom(h, "192.0.2.3:1", ltAdmin), 503, "the fifth login: the burst is spent")
	})
}

// An account logging in again and again from its own address draws on the
// returning users' share at most once a minute, so it cannot spend the share
// kept for everyone else's returning users.
func TestPasswordBudgetReturningShareIsDrawnOncePerMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltBudgetAuth(t, ltBudget(1, 1))
		h := a.LoginHandler(ltStore(t))
		guess := `{"username":"guess","password":"x"}`
		ltWant(t, ltLoginFrom(h, "198.51.100.1:1", ltAlice), 200, "alice, once")
		time.Sleep(10 * time.Second)
		ltWant(t, ltLoginFrom(h, "198.51.100.9:1", ltAdmin), 200, "admin (mallory), once")
		time.Sleep(2 * time.Minute)

		ltLoginFrom(h, "203.0.113.1:1", guess) // spends the general pool
		if code, _, took := ltTimed(h, "198.51.100.9:2", ltAdmin); code != 200 || took != 0 {
			t.Fatalf("mallory's first returning login: %d after %v, want 200 at once", code, took)
		}
		time.Sleep(10 * time.Second) // both pools full again
		ltLoginFrom(h, "203.0.113.1:1", guess)
		if code, _, _ := ltTimed(h, "198.51.100.9:3", ltAdmin); code != 503 {
			t.Errorf("mallory again within the minute: %d, want 503 (no second draw)", code)
		}
		if code, _, took := ltTimed(h, "198.51.100.1:2", ltAlice); code != 200 || took != 0 {
			t.Errorf("returning alice: %d after %v, want 200 at once: mallory did not spend her share", code, took)
		}
	})
}

// A user whose stored hash is not bcrypt (a single-sign-on account with an
// empty hash, say) is answered and timed like an unknown user, and its
// instant failures do not open the budget.
func TestLoginUnusableStoredHash(t *testing.T) {
	var logs bytes.Buffer
	a := ltAuth(t, ltAccount(0, 0), ltCPUShare(0.1),
		jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	var compared []string
	jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
		compared = append(compared, string(hash))
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	sso := ltStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
		if username == "sso-only" {
			return jwtguard.User{ID: "u-sso", Username: username}, nil
		}
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	})
	h := a.LoginHandler(sso)
	before := a.Stats().PasswordBudget
	unknown := ltLoginFrom(h, "192.0.2.1:1", `{"username":"nobody","password":"x"}`)
	for range 20 {
		rec := ltLoginFrom(h, "192.0.2.1:1", `{"username":"sso-only","password":"x"}`)
		if rec.Code != unknown.Code || rec.Body.String() != unknown.Body.String() {
			t.Fatalf("sso-only user: %d %s; unknown user: %d %s", rec.Code, rec.Body, unknown.Code, unknown.Body)
		}
	}
	if len(compared) != 21 || compared[1] != compared[0] {
		t.Errorf("%d comparisons; want 21, the sso-only ones against the dummy hash", len(compared))
	}
	if after := a.Stats().PasswordBudget; after > 2*before {
		t.Errorf("budget went from %.1f/s to %.1f/s", before, after)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "u-sso") {
		t.Errorf("the operator was not told:\n%s", logs.String())
	}
}

// ltBadHashes are stored hashes that bcrypt.Cost accepts, or nearly, and
// that cannot be compared with: made from a valid cost-4 hash.
func ltBadHashes(t *testing.T) map[string][]byte {
	good := ltHash(t, "password123")
	with := func(i int, c byte) []byte {
		h := bytes.Clone(good)
		h[i] = c
		return h
	}
	return map[string][]byte{
		"salt with a byte outside the alphabet": with(7, '!'),
		"salt with base64 padding":              with(28, '='),
		"salt with a standard-base64 byte":      with(10, '+'),
		"hash part with a byte outside":         with(59, '*'),
		"59 bytes":                              good[:59],
		"61 bytes":                              append(bytes.Clone(good), 'a'),
		"$2x$ prefix":                           with(2, 'x'),
		"$3a$ prefix":                           with(1, '3'),
		"one-digit cost":                        append([]byte("$2a$4$"), good[7:]...),
		"cost 03":                               with(5, '3'),
		"cost 32":                               append([]byte("$2a$32$"), good[7:]...),
		"no $ after the cost":                   with(6, 'a'),
		"empty":                                 nil,
	}
}

// A found user whose stored hash is not a whole bcrypt hash (a bad salt
// makes bcrypt fail at once inside the comparison) is answered like a wrong
// password: a dummy comparison, 401, the throttle's token spent, and the
// reason in the operator log at Error level, with the user ID and without
// the hash.
func TestLoginStoredHashThatCannotBeCompared(t *testing.T) {
	for name, hash := range ltBadHashes(t) {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			a := ltAuth(t, ltAccount(1, time.Hour), jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			var compared [][]byte
			jwtguard.SetPasswordCompare(a, func(h, pw []byte) error {
				compared = append(compared, h)
				return bcrypt.CompareHashAndPassword(h, pw)
			})
			store := ltStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
				if username == "broken" {
					return jwtguard.User{ID: "u-broken", Username: username, PasswordHash: hash}, nil
				}
				return jwtguard.User{}, jwtguard.ErrUserNotFound
			})
			h := a.LoginHandler(store)
			unknown := ltLoginFrom(h, "192.0.2.1:1", `{"username":"nobody","password":"password123"}`)
			rec := ltLoginFrom(h, "192.0.2.1:1", `{"username":"broken","password":"password123"}`)
			if rec.Code != 401 || rec.Body.String() != unknown.Body.String() {
				t.Fatalf("status %d %s; want 401 like an unknown user (%s)", rec.Code, rec.Body, unknown.Body)
			}
			if len(compared) != 2 || !bytes.Equal(compared[1], compared[0]) {
				t.Errorf("%d comparisons; want 2, the second against the dummy hash", len(compared))
			}
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"broken","password":"password123"}`), 429, "the next guess: the token was spent")
			log := logs.String()
			if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "u-broken") || !strings.Contains(log, "usable bcrypt hash") {
				t.Errorf("the operator was not told:\n%s", log)
			}
			if len(hash) > 20 && strings.Contains(log, string(hash[7:29])) {
				t.Errorf("the log carries the hash:\n%s", log)
			}
		})
	}
}

package jwtguard_test

// Tests for the findings of the second review of the login defences, each
// an attack or a broken promise that failed before its fix.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
)

// A wave of logins held in the tarpit, none of them compared, must not push
// an attacked account's drained bucket out of the throttle's memory: only
// idle buckets count against the capacity.
func TestThrottleSurvivesAWaveOfHeldLogins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := ltAuth(t, jwtguard.WithClock(newLTClock().Now), ltCapacity(100),
			ltAccount(3, time.Hour), ltBudget(0.001, 4), ltWait(time.Second)).LoginHandler(ltStore(t))
		for i := range 3 {
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, fmt.Sprintf("guess %d", i+1))
		}
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "the fourth guess")
		var wg sync.WaitGroup
		for i := range 150 {
			wg.Go(func() {
				// The budget is spent: each waits a second and gets 503.
				ltLoginFrom(h, fmt.Sprintf("10.0.%d.%d:1", i>>8, i&255), fmt.Sprintf(`{"username":"spray-%d","password":"x"}`, i))
			})
		}
		wg.Wait()
		time.Sleep(2 * time.Hour) // synctest's clock: the budget refills; the throttle's clock stands still
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "a guess after the wave")
	})
}

// A trusted proxy that cannot name the client (RFC 7239 "unknown", an
// obfuscated name, X-Forwarded-For: unknown) gives an address every such
// client shares: never the returning owner's, never remembered.
func TestReturningOwnerNeedsAKnownForwardedAddress(t *testing.T) {
	for _, tc := range []struct{ header, owner, attacker string }{
		{"Forwarded", "for=unknown", "for=_hidden"},
		{"Forwarded", `for="_x"`, "for=unknown"},
		{"X-Forwarded-For", "unknown", "unknown"},
	} {
		t.Run(tc.header+" "+tc.owner, func(t *testing.T) {
			h := ltAuth(t, jwtguard.WithClock(newLTClock().Now), ltAccount(3, time.Hour),
				ltPolicy(func(p *jwtguard.LoginPolicy) { p.TrustedProxies, p.ForwardedHeader = []string{"10.0.0.1"}, tc.header })).LoginHandler(ltStore(t))
			ltWant(t, ltLoginFrom(h, "10.0.0.1:1", ltAlice, tc.header, tc.owner), 200, "the owner, through the proxy")
			guesses := 0
			for _, hop := range []string{tc.attacker, "203.0.113.7"} {
				for range 10 {
					if ltLoginFrom(h, "10.0.0.1:2", ltAliceWrong, tc.header, hop).Code == 401 {
						guesses++
					}
				}
			}
			if guesses != 3 {
				t.Errorf("%d guesses compared, want the account's 3", guesses)
			}
		})
	}
}

// countingThrottle admits everything and records the keys it is asked for,
// and optionally fails with its context's error, as a Throttle that
// honours cancellation does.
type countingThrottle struct {
	mu      sync.Mutex
	takes   int
	keys    []string
	ctxFail bool
}

func (c *countingThrottle) Take(ctx context.Context, key string, l jwtguard.Limit, now time.Time) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.takes++
	c.keys = append(c.keys, key)
	if c.ctxFail {
		return 0, ctx.Err()
	}
	return 0, nil
}
func (c *countingThrottle) Done(context.Context, string, jwtguard.Limit, bool, time.Time) error {
	return nil
}
func (c *countingThrottle) Remember(_ context.Context, account, addr string, _ time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, account, addr)
	return nil
}
func (c *countingThrottle) LastLogin(ctx context.Context, account string) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, account)
	if c.ctxFail {
		return "", time.Time{}, ctx.Err()
	}
	return "", time.Time{}, nil
}

// A login for an unknown user makes the same Throttle calls as one for a
// known user (a slow shared Throttle must not tell them apart by time), and
// every key is printable ASCII fit for a text column.
func TestThrottleCallsDoNotTellUsersApart(t *testing.T) {
	ct := &countingThrottle{}
	h := ltAuth(t, ltPolicy(func(p *jwtguard.LoginPolicy) { p.Throttle = ct })).LoginHandler(ltStore(t))
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "a known user, wrong password")
	known := ct.takes
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"nobody","password":"guess"}`), 401, "an unknown user")
	if unknown := ct.takes - known; unknown != known {
		t.Errorf("Take calls: %d for a known user, %d for an unknown one", known, unknown)
	}
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAlice, "X-Unused", ""), 200, "a success")
	for _, k := range ct.keys {
		if len(k) > 80 || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			t.Errorf("key %q is not printable ASCII of at most 80 bytes", k)
		}
	}
}

// A Throttle that honours cancellation reports the client's going away:
// that is no store failure, logged at Debug, not Error.
func TestThrottleCancellationIsNotAFailure(t *testing.T) {
	var logs bytes.Buffer
	a := ltAuth(t, jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		ltPolicy(func(p *jwtguard.LoginPolicy) { p.Throttle = &countingThrottle{ctxFail: true} }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	a.LoginHandler(ltStore(t)).ServeHTTP(rec, ltRequest("POST", "application/json", ltAliceWrong).WithContext(ctx))
	if rec.Code != 503 {
		t.Errorf("status %d, want 503", rec.Code)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "cancelled") {
		t.Errorf("log %q: want the cancellation at Debug, no Error", logs.String())
	}
}

// Limits whose arithmetic would overflow, and contradictory fields, are
// refused rather than silently turning a defence off or ignoring a field.
func TestLoginPolicyRefusesOverflowAndContradictions(t *testing.T) {
	for name, p := range map[string]jwtguard.LoginPolicy{
		"40-year interval":             {Account: jwtguard.Limit{Burst: 10, Every: 40 * 365 * 24 * time.Hour}},
		"MaxInt64 interval":            {Account: jwtguard.Limit{Burst: 2, Every: 1<<63 - 1}},
		"address MaxInt64 interval":    {Address: jwtguard.Limit{Burst: 10, Every: 1<<63 - 1}},
		"budget burst without a rate":  {BudgetBurst: 100},
		"NoBudget with a rate":         {NoBudget: true, BudgetRate: 5},
		"NoBudget with a share":        {NoBudget: true, CPUShare: 0.2},
		"NoWait with a wait":           {NoWait: true, Wait: 5 * time.Second},
		"Off with a burst":             {Address: jwtguard.Limit{Burst: 5, Off: true}},
		"account Off with an interval": {Account: jwtguard.Limit{Every: time.Minute, Off: true}},
	} {
		if _, err := jwtguard.New(testKey(t, ltSecret), jwtguard.WithLoginPolicy(p)); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	// The longest allowed lockout still refuses, and says when to come back.
	h := ltAuth(t, jwtguard.WithClock(newLTClock().Now), ltAccount(1, 50*365*24*time.Hour)).LoginHandler(ltStore(t))
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "the one guess")
	rec := ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong)
	ltWant(t, rec, 429, "the second")
	if ra := rec.Header().Get("Retry-After"); len(ra) < 9 {
		t.Errorf("Retry-After %q, want about 50 years of seconds", ra)
	}
}

// Stats.LoginsHeld counts logins that waited, not those refused at once.
func TestStatsHeldCountsOnlyWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltAuth(t, ltAccount(0, 0), ltBudget(0.001, 1), ltWait(0))
		h := a.LoginHandler(ltStore(t))
		for range 5 {
			ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong)
		}
		if st := a.Stats(); st.LoginsHeld != 0 || st.LoginsRefused != 4 {
			t.Errorf("held %d, refused %d; want 0 held (NoWait), 4 refused", st.LoginsHeld, st.LoginsRefused)
		}
	})
}

// A username with a control character is no one's name (some stores fail
// on NUL): 400, and the UserStore is not asked.
func TestLoginRefusesControlCharactersInUsernames(t *testing.T) {
	asked := false
	h := ltAuth(t).LoginHandler(ltStoreFunc(func(context.Context, string) (jwtguard.User, error) {
		asked = true
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	}))
	for _, name := range []string{`al\u0000ice`, `alice\n`, `al\tice`, `alice\u007f`, `\u001b[31m`} {
		ltWant(t, ltLogin(h, `{"username":"`+name+`","password":"pw"}`), 400, name)
	}
	if asked {
		t.Error("the store was asked for a username with a control character")
	}
}

// An unknown member's name is client text (a password typed into the wrong
// field): the operator's log says the body was malformed without quoting it.
func TestLoginDoesNotLogUnknownMemberNames(t *testing.T) {
	var logs bytes.Buffer
	a := ltAuth(t, jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ltWant(t, ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"x","correct-horse-battery":"y"}`), 400, "an unknown member")
	if strings.Contains(logs.String(), "correct-horse") || !strings.Contains(logs.String(), "none of") {
		t.Errorf("log %q", logs.String())
	}
}

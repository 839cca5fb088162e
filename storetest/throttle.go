package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Throttle runs the Throttle conformance tests against throttles made by
// newThrottle (a fresh, empty one for each subtest). Each subtest is named
// Group/Rule and each of its failures begins with the rule it checks; see
// the package documentation for what the suite decides.
func Throttle(t *testing.T, newThrottle func(t *testing.T) jwtguard.Throttle) {
	for _, g := range throttleSuite {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					th := newThrottle(t)
					if th == nil {
						t.Fatal("newThrottle returned nil")
					}
					tc.run(&tenv{t: t, rule: tc.rule, ctx: t.Context(), th: th})
				})
			}
		})
	}
}

// The limits of the throttle subtests: the login policy's default, and
// two others.
var (
	limit  = jwtguard.Limit{Burst: 3, Every: 30 * time.Second}
	single = jwtguard.Limit{Burst: 1, Every: time.Minute}
	wide   = jwtguard.Limit{Burst: 10, Every: 5 * time.Second}
)

type throttleTest struct {
	name string
	rule string
	run  func(e *tenv)
}

var throttleSuite = []struct {
	name  string
	tests []throttleTest
}{
	{"Burst", []throttleTest{
		{"TakesBurst", "a fresh bucket gives Burst tokens at one instant, and no more", testBurstTakesBurst},
		{"Wait", "an empty bucket's Take returns the time until its next token: Every after it emptied at once", testBurstWait},
		{"WaitShrinks", "the wait shrinks as time passes: Every − elapsed", testBurstWaitShrinks},
		{"RefusedTakesNothing", "a Take that returns a wait takes nothing: repeated refusals do not push the next token back", testBurstRefusedTakesNothing},
	}},
	{"Refill", []throttleTest{
		{"OneEvery", "an emptied bucket gains one token every Every: one Take then, and the next waits Every", testRefillOneEvery},
		{"EdgeBefore", "a microsecond before Every has passed, the bucket is still empty (wait 1µs)", testRefillEdgeBefore},
		{"Full", "Burst × Every after it emptied, the bucket gives Burst tokens again", testRefillFull},
		{"NotBeyondBurst", "a bucket holds at most Burst tokens however long it rests", testRefillNotBeyondBurst},
	}},
	{"Done", []throttleTest{
		{"RefundRestores", "Done with refund gives the token back: the bucket gives Burst tokens again", testDoneRefundRestores},
		{"RefundOne", "a refund gives back one token, not the bucket: of Burst taken, one refunded, one more Take succeeds", testDoneRefundOne},
		{"RefundCapped", "a refund after the bucket refilled does not raise it beyond Burst", testDoneRefundCapped},
		{"KeepSpends", "Done without refund keeps the token spent", testDoneKeepSpends},
	}},
	{"Keys", []throttleTest{
		{"Independent", "each key has a bucket of its own: an emptied bucket leaves other keys' alone", testKeysIndependent},
		{"Long", "keys are told apart in full: 80-byte keys of printable ASCII that differ in their last byte have buckets of their own", testKeysLong},
	}},
	{"Limits", []throttleTest{
		{"Burst", "a bucket holds the Burst of its Limit: 1 and 10", testLimitsBurst},
		{"Every", "a bucket refills at the Every of its Limit", testLimitsEvery},
	}},
	{"Concurrent", []throttleTest{
		{"NeverExceedsBurst", "of concurrent Takes on a fresh bucket, exactly Burst take a token", testConcurrentNeverExceedsBurst},
		{"Refunds", "concurrent Takes each refunded leave the bucket full", testConcurrentRefunds},
	}},
	{"LastLogin", []throttleTest{
		{"Unknown", "LastLogin of an account never remembered is \"\" and the zero time", testLastLoginUnknown},
		{"Remembered", "LastLogin returns the address and time that Remember recorded", testLastLoginRemembered},
		{"Latest", "a later Remember replaces the address and time", testLastLoginLatest},
		{"PerAccount", "Remember records for that account only", testLastLoginPerAccount},
	}},
}

// A tenv is one throttle subtest's throttle and helpers.
type tenv struct {
	t    *testing.T
	rule string
	ctx  context.Context
	th   jwtguard.Throttle
}

func (e *tenv) errorf(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf("%s: %s", e.rule, fmt.Sprintf(format, args...))
}

func (e *tenv) fatalf(format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("%s: %s", e.rule, fmt.Sprintf(format, args...))
}

// key is a new random key in the login policy's form (a namespace byte,
// then printable ASCII).
func (e *tenv) key() string { return "u" + rand.Text() }

// take is Take(key, l, now), failing the test on an error.
func (e *tenv) take(key string, l jwtguard.Limit, now time.Time) time.Duration {
	e.t.Helper()
	wait, err := e.th.Take(e.ctx, key, l, now)
	if err != nil {
		e.fatalf("Take(%s) at %s = %v", l2s(l), when(now), err)
	}
	return wait
}

// done is Done(key, l, refund, now), failing the test on an error.
func (e *tenv) done(key string, l jwtguard.Limit, refund bool, now time.Time) {
	e.t.Helper()
	if err := e.th.Done(e.ctx, key, l, refund, now); err != nil {
		e.fatalf("Done(%s, refund %v) at %s = %v", l2s(l), refund, when(now), err)
	}
}

// spend takes n tokens at now, each a guess (Done without refund), failing
// the test unless each Take took one.
func (e *tenv) spend(key string, l jwtguard.Limit, now time.Time, n int, why string) {
	e.t.Helper()
	for i := range n {
		if wait := e.take(key, l, now); wait != 0 {
			e.fatalf("Take %d of %d (%s) at %s = wait %v; want a token", i+1, n, why, when(now), wait)
		}
		e.done(key, l, false, now)
	}
}

// refused checks that Take at now takes nothing and returns want.
func (e *tenv) refused(key string, l jwtguard.Limit, now time.Time, want time.Duration, why string) {
	e.t.Helper()
	wait := e.take(key, l, now)
	if wait == 0 {
		e.done(key, l, false, now)
		e.errorf("Take (%s) at %s took a token; want it refused with wait %v", why, when(now), want)
		return
	}
	if wait != want {
		e.errorf("Take (%s) at %s = wait %v; want %v", why, when(now), wait, want)
	}
}

func l2s(l jwtguard.Limit) string { return fmt.Sprintf("burst %d every %v", l.Burst, l.Every) }

// ---- Burst ----

func testBurstTakesBurst(e *tenv) {
	for _, l := range []jwtguard.Limit{limit, wide} {
		k := e.key()
		e.spend(k, l, t0, l.Burst, "a fresh bucket")
		if wait := e.take(k, l, t0); wait <= 0 {
			e.errorf("Take (%s) past the burst at one instant = wait %v; want a positive wait, nothing taken", l2s(l), wait)
		}
	}
}

func testBurstWait(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, limit.Burst, "a fresh bucket")
	e.refused(k, limit, t0, limit.Every, "the burst spent at this instant")
}

func testBurstWaitShrinks(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, limit.Burst, "a fresh bucket")
	e.refused(k, limit, at(10*time.Second), limit.Every-10*time.Second, "10s after the burst was spent")
	e.refused(k, limit, at(29*time.Second+999*time.Millisecond), time.Millisecond, "1ms before the next token")
}

func testBurstRefusedTakesNothing(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, limit.Burst, "a fresh bucket")
	for range 5 {
		e.refused(k, limit, t0, limit.Every, "again at the same instant")
	}
	e.spend(k, limit, at(limit.Every), 1, "the next token, on time despite the refusals")
}

// ---- Refill ----

func testRefillOneEvery(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, limit.Burst, "a fresh bucket")
	now := at(limit.Every)
	e.spend(k, limit, now, 1, "the token gained in Every")
	e.refused(k, limit, now, limit.Every, "the gained token spent")
}

func testRefillEdgeBefore(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, limit.Burst, "a fresh bucket")
	e.refused(k, limit, at(limit.Every-tick), tick, "a microsecond before the next token")
	e.spend(k, limit, at(limit.Every), 1, "the next token, at Every")
}

func testRefillFull(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, limit.Burst, "a fresh bucket")
	now := at(time.Duration(limit.Burst) * limit.Every)
	e.spend(k, limit, now, limit.Burst, "Burst × Every later")
	e.refused(k, limit, now, limit.Every, "the refilled burst spent")
}

func testRefillNotBeyondBurst(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, 1, "a fresh bucket")
	now := at(100 * limit.Every)
	e.spend(k, limit, now, limit.Burst, "after a long rest")
	e.refused(k, limit, now, limit.Every, "Burst spent after a long rest")
}

// ---- Done ----

func testDoneRefundRestores(e *tenv) {
	k := e.key()
	for range 2 * limit.Burst {
		if wait := e.take(k, limit, t0); wait != 0 {
			e.fatalf("Take at t0 after refunds = wait %v; want a token, each refunded", wait)
		}
		e.done(k, limit, true, t0)
	}
	e.spend(k, limit, t0, limit.Burst, "after refunded logins")
	e.refused(k, limit, t0, limit.Every, "the burst spent")
}

func testDoneRefundOne(e *tenv) {
	k := e.key()
	for i := range limit.Burst {
		if wait := e.take(k, limit, t0); wait != 0 {
			e.fatalf("Take %d at t0 = wait %v; want a token", i+1, wait)
		}
		e.done(k, limit, i == limit.Burst-1, t0)
	}
	e.spend(k, limit, t0, 1, "the one refunded token")
	e.refused(k, limit, t0, limit.Every, "the refunded token spent")
}

func testDoneRefundCapped(e *tenv) {
	k := e.key()
	if wait := e.take(k, limit, t0); wait != 0 {
		e.fatalf("Take at t0 = wait %v; want a token", wait)
	}
	// The login ends after the bucket refilled (a long tarpit, a slow
	// store): the refund must not add a token beyond the burst.
	now := at(limit.Every)
	e.done(k, limit, true, now)
	e.spend(k, limit, now, limit.Burst, "after the late refund")
	e.refused(k, limit, now, limit.Every, "Burst spent after a late refund")
}

func testDoneKeepSpends(e *tenv) {
	k := e.key()
	e.spend(k, limit, t0, 1, "a fresh bucket")
	e.spend(k, limit, t0, limit.Burst-1, "the rest of the burst")
	e.refused(k, limit, t0, limit.Every, "every token spent")
}

// ---- Keys ----

func testKeysIndependent(e *tenv) {
	a, b := e.key(), e.key()
	e.spend(a, limit, t0, limit.Burst, "key a")
	e.refused(a, limit, t0, limit.Every, "key a spent")
	e.spend(b, limit, t0, limit.Burst, "key b, beside an empty key a")
	addr := "a" + a[1:] // the same text in another namespace
	e.spend(addr, limit, t0, limit.Burst, "key a's text in another namespace")
}

func testKeysLong(e *tenv) {
	// Every printable ASCII byte but space, braces and separators included.
	var sb strings.Builder
	for c := byte('!'); sb.Len() < 79; c++ {
		sb.WriteByte(c)
	}
	base := sb.String()
	a, b := base+"a", base+"b"
	e.spend(a, limit, t0, limit.Burst, "an 80-byte key")
	e.refused(a, limit, t0, limit.Every, "the 80-byte key spent")
	e.spend(b, limit, t0, limit.Burst, "another 80-byte key, differing in its last byte")
}

// ---- Limits ----

func testLimitsBurst(e *tenv) {
	k := e.key()
	e.spend(k, single, t0, 1, "burst 1")
	e.refused(k, single, t0, single.Every, "burst 1 spent")
	k = e.key()
	e.spend(k, wide, t0, wide.Burst, "burst 10")
	e.refused(k, wide, t0, wide.Every, "burst 10 spent")
}

func testLimitsEvery(e *tenv) {
	k := e.key()
	e.spend(k, single, t0, 1, "burst 1 every minute")
	e.refused(k, single, at(59*time.Second), time.Second, "59s later")
	e.spend(k, single, at(time.Minute), 1, "a minute later")
	k = e.key()
	e.spend(k, wide, t0, wide.Burst, "burst 10 every 5s")
	e.spend(k, wide, at(wide.Every), 1, "5s later")
	e.refused(k, wide, at(wide.Every), wide.Every, "the token of 5s spent")
}

// ---- Concurrent ----

func testConcurrentNeverExceedsBurst(e *tenv) {
	for round := range rounds / 8 {
		k := e.key()
		var took atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 4*workers)
		for range 2 * workers {
			wg.Go(func() {
				wait, err := e.th.Take(e.ctx, k, wide, t0)
				if err != nil {
					errs <- err
					return
				}
				if wait == 0 {
					took.Add(1)
					if err := e.th.Done(e.ctx, k, wide, false, t0); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			e.fatalf("round %d: a concurrent Take or Done failed: %v", round, err)
		}
		if n := int(took.Load()); n != wide.Burst {
			e.fatalf("round %d: %d of %d concurrent Takes at one instant took a token; want exactly the burst, %d", round, n, 2*workers, wide.Burst)
		}
	}
}

func testConcurrentRefunds(e *tenv) {
	k := e.key()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range 8 {
				wait, err := e.th.Take(e.ctx, k, limit, t0)
				if err == nil && wait == 0 {
					err = e.th.Done(e.ctx, k, limit, true, t0)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.fatalf("a concurrent Take or Done failed: %v", err)
	}
	e.spend(k, limit, t0, limit.Burst, "after concurrent refunded logins")
	e.refused(k, limit, t0, limit.Every, "the burst spent")
}

// ---- LastLogin ----

func (e *tenv) lastLogin(account string) (string, time.Time) {
	e.t.Helper()
	addr, at, err := e.th.LastLogin(e.ctx, account)
	if err != nil {
		e.fatalf("LastLogin = %v", err)
	}
	return addr, at
}

func (e *tenv) remember(account, addr string, now time.Time) {
	e.t.Helper()
	if err := e.th.Remember(e.ctx, account, addr, now); err != nil {
		e.fatalf("Remember(%q) at %s = %v", addr, when(now), err)
	}
}

func testLastLoginUnknown(e *tenv) {
	if addr, at := e.lastLogin(e.key()); addr != "" || !at.IsZero() {
		e.errorf("LastLogin of an unknown account = %q, %s; want \"\" and the zero time", addr, when(at))
	}
}

func testLastLoginRemembered(e *tenv) {
	acct := e.key()
	e.remember(acct, "192.0.2.1", at(time.Second))
	if addr, got := e.lastLogin(acct); addr != "192.0.2.1" || !got.Equal(at(time.Second)) {
		e.errorf("LastLogin = %q, %s; want \"192.0.2.1\", t0+1s", addr, when(got))
	}
}

func testLastLoginLatest(e *tenv) {
	acct := e.key()
	e.remember(acct, "192.0.2.1", t0)
	e.remember(acct, "2001:db8::/64", at(time.Hour))
	if addr, got := e.lastLogin(acct); addr != "2001:db8::/64" || !got.Equal(at(time.Hour)) {
		e.errorf("LastLogin after two Remembers = %q, %s; want the later, \"2001:db8::/64\", t0+1h", addr, when(got))
	}
}

func testLastLoginPerAccount(e *tenv) {
	a, b := e.key(), e.key()
	e.remember(a, "192.0.2.1", t0)
	if addr, got := e.lastLogin(b); addr != "" || !got.IsZero() {
		e.errorf("LastLogin of another account = %q, %s; want \"\", the zero time", addr, when(got))
	}
	e.remember(b, "192.0.2.2", at(time.Second))
	if addr, got := e.lastLogin(a); addr != "192.0.2.1" || !got.Equal(t0) {
		e.errorf("LastLogin of the first account after another's Remember = %q, %s; want \"192.0.2.1\", t0", addr, when(got))
	}
}

package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

// The Throttle suite tested against itself, as the Sessions suite is: a
// careful throttle (a fixture of this test, not the login policy's
// in-memory one, which the root package's tests run the suite against)
// passes it, and each mutant, which breaks one rule, fails that rule's
// subtests.

// TestThrottleReference: the careful throttle passes every subtest.
func TestThrottleReference(t *testing.T) {
	storetest.Throttle(t, func(t *testing.T) jwtguard.Throttle { return newBuckets("") })
}

// throttleMutantEnv names the mutant that TestThrottleMutantChild runs the
// suite against.
const throttleMutantEnv = "STORETEST_THROTTLE_MUTANT"

// TestThrottleMutantChild runs the suite against one mutant, in the
// process that TestThrottleMutants starts; it is skipped otherwise.
func TestThrottleMutantChild(t *testing.T) {
	bug := os.Getenv(throttleMutantEnv)
	if bug == "" {
		t.Skip("run by TestThrottleMutants")
	}
	if bug == "none" {
		bug = ""
	}
	storetest.Throttle(t, func(t *testing.T) jwtguard.Throttle { return newBuckets(bug) })
}

// throttleMutants maps each bug of the throttle to subtests it must fail
// (at least).
var throttleMutants = map[string][]string{
	"no-limit":             {"Burst/TakesBurst", "Burst/Wait", "Limits/Burst"},
	"burst-plus-one":       {"Burst/TakesBurst", "Burst/Wait", "Concurrent/NeverExceedsBurst"},
	"wait-whole":           {"Burst/Wait", "Burst/WaitShrinks"},
	"wait-fixed":           {"Burst/WaitShrinks", "Refill/EdgeBefore"},
	"refused-spends":       {"Burst/RefusedTakesNothing"},
	"no-refill":            {"Refill/OneEvery", "Refill/Full", "Limits/Every"},
	"refill-early":         {"Refill/EdgeBefore"},
	"accumulates":          {"Refill/NotBeyondBurst"},
	"refund-ignored":       {"Done/RefundRestores", "Done/RefundOne", "Concurrent/Refunds"},
	"refund-all":           {"Done/RefundOne"},
	"refund-uncapped":      {"Done/RefundCapped"},
	"keep-refunds":         {"Done/KeepSpends", "Burst/TakesBurst"},
	"shared-keys":          {"Keys/Independent"},
	"key-namespace-only":   {"Keys/Independent"},
	"key-truncated":        {"Keys/Long"},
	"ignores-burst":        {"Limits/Burst"},
	"ignores-every":        {"Limits/Every"},
	"nonatomic":            {"Concurrent/NeverExceedsBurst"},
	"lastlogin-unknown":    {"LastLogin/Unknown"},
	"remember-ignored":     {"LastLogin/Remembered", "LastLogin/Latest"},
	"remember-drops-time":  {"LastLogin/Remembered", "LastLogin/Latest"},
	"remember-keeps-first": {"LastLogin/Latest"},
	"remember-shared":      {"LastLogin/PerAccount"},
}

var throttleResult = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): TestThrottleMutantChild/(\S+/\S+) `)

// throttleChild runs the suite against a mutant in a new process and
// returns the subtests that passed and failed.
func throttleChild(t *testing.T, bug string) (passed, failed []string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestThrottleMutantChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), throttleMutantEnv+"="+bug)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the suite against mutant %s: %v", bug, err)
	}
	for _, m := range throttleResult.FindAllStringSubmatch(string(out), -1) {
		switch m[1] {
		case "PASS":
			passed = append(passed, m[2])
		case "FAIL":
			failed = append(failed, m[2])
		}
	}
	if len(passed)+len(failed) == 0 || (err == nil) != (len(failed) == 0) {
		t.Fatalf("mutant %s: cannot read the suite's results (exit %v):\n%s", bug, err, out)
	}
	return passed, failed
}

// TestThrottleMutants: each mutant fails the subtests of the rule it
// breaks, and every subtest fails for some mutant.
func TestThrottleMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process for each mutant")
	}
	all, failed := throttleChild(t, "none")
	if len(failed) > 0 {
		t.Fatalf("the careful throttle fails %v", failed)
	}
	caught := map[string]bool{}
	for _, want := range throttleMutants {
		for _, name := range want {
			if !slices.Contains(all, name) {
				t.Errorf("mutants expect a failure of %s, which the suite does not have", name)
			}
			caught[name] = true
		}
	}
	for _, name := range all {
		if !caught[name] {
			t.Errorf("no mutant fails %s", name)
		}
	}
	bugs := make([]string, 0, len(throttleMutants))
	for bug := range throttleMutants {
		bugs = append(bugs, bug)
	}
	sort.Strings(bugs)
	for _, bug := range bugs {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			passed, failed := throttleChild(t, bug)
			if len(passed)+len(failed) != len(all) {
				t.Errorf("mutant %s: %d of the suite's %d subtests ran", bug, len(passed)+len(failed), len(all))
			}
			for _, name := range throttleMutants[bug] {
				if !slices.Contains(failed, name) {
					t.Errorf("mutant %s passes %s", bug, name)
				}
			}
			t.Logf("fails %s", strings.Join(failed, " "))
		})
	}
}

// ---- the careful throttle and its mutants ----

// buckets is a GCRA throttle: each key's bucket is the instant it is full
// again.
type buckets struct {
	bug   string
	mu    sync.Mutex
	full  map[string]time.Time
	last  map[string]login
	first map[string]time.Time // "no-refill": each key's first Take
	bonus map[string]int       // "refund-uncapped": tokens refunded beyond the burst
}

type login struct {
	addr string
	at   time.Time
}

func newBuckets(bug string) *buckets {
	return &buckets{bug: bug, full: map[string]time.Time{}, last: map[string]login{}, first: map[string]time.Time{}, bonus: map[string]int{}}
}

func (b *buckets) is(bug string) bool { return b.bug == bug }

// id is the bucket key of key.
func (b *buckets) id(key string) string {
	switch {
	case b.is("shared-keys"):
		return ""
	case b.is("key-namespace-only"):
		return key[1:]
	case b.is("key-truncated") && len(key) > 16:
		return key[:16]
	}
	return key
}

func (b *buckets) limit(l jwtguard.Limit) (burst int, every time.Duration) {
	burst, every = l.Burst, l.Every
	if b.is("ignores-burst") {
		burst = 3
	}
	if b.is("ignores-every") {
		every = 30 * time.Second
	}
	if b.is("burst-plus-one") {
		burst++
	}
	return burst, every
}

func (b *buckets) Take(_ context.Context, key string, l jwtguard.Limit, now time.Time) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.is("no-limit") {
		return 0, nil
	}
	burst, every := b.limit(l)
	window := time.Duration(burst-1) * every
	k := b.id(key)
	if b.bonus[k] > 0 {
		b.bonus[k]--
		return 0, nil
	}
	if b.is("no-refill") {
		// Time never refills the bucket: it stays at its first Take.
		if first, ok := b.first[k]; ok {
			now = first
		} else {
			b.first[k] = now
		}
	}
	full, ok := b.full[k]
	if !ok || full.Before(now) && !b.is("accumulates") {
		full = now // "accumulates" banks the time the bucket rested
	}
	wait := full.Sub(now) - window
	if b.is("refill-early") {
		wait -= time.Microsecond
	}
	if wait > 0 {
		switch {
		case b.is("refused-spends"):
			b.full[k] = full.Add(every)
		case b.is("wait-whole"):
			wait = wait.Truncate(time.Second) + time.Second
		case b.is("wait-fixed"):
			wait = every
		}
		return wait, nil
	}
	if b.is("nonatomic") {
		// Decide on what was read, then write after the others read too.
		b.mu.Unlock()
		time.Sleep(time.Millisecond)
		b.mu.Lock()
	}
	b.full[k] = full.Add(every)
	return 0, nil
}

func (b *buckets) Done(_ context.Context, key string, l jwtguard.Limit, refund bool, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.is("keep-refunds") {
		refund = !refund
	}
	if !refund || b.is("refund-ignored") {
		return nil
	}
	k := b.id(key)
	full, ok := b.full[k]
	if !ok {
		return nil
	}
	_, every := b.limit(l)
	if b.is("refund-all") {
		delete(b.full, k)
		return nil
	}
	full = full.Add(-every)
	if !full.After(now) && b.is("refund-uncapped") {
		// A counting bucket's refund without a cap: a token beyond the
		// burst.
		delete(b.full, k)
		b.bonus[k]++
		return nil
	}
	if !full.After(now) {
		delete(b.full, k)
		return nil
	}
	b.full[k] = full
	return nil
}

func (b *buckets) Remember(_ context.Context, account, addr string, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.is("remember-ignored") {
		return nil
	}
	if b.is("remember-shared") {
		account = ""
	}
	if _, ok := b.last[account]; ok && b.is("remember-keeps-first") {
		return nil
	}
	if b.is("remember-drops-time") {
		now = time.Time{}
	}
	b.last[account] = login{addr, now}
	return nil
}

func (b *buckets) LastLogin(_ context.Context, account string) (string, time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.is("remember-shared") {
		account = ""
	}
	l, ok := b.last[account]
	if !ok && b.is("lastlogin-unknown") {
		return "?", time.Time{}, nil
	}
	return l.addr, l.at, nil
}

package guard

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// guess takes a token from key's bucket and keeps it, as a login whose
// password was compared does; it reports whether a token was there.
func guess(tab *limiterTable, key string, now time.Time) bool {
	if tab.take(key, now) > 0 {
		return false
	}
	tab.release(key, false, now)
	return true
}

// free takes a token from key's bucket and gives it back, as a login
// refused before any comparison does.
func free(tab *limiterTable, key string, now time.Time) bool {
	if tab.take(key, now) > 0 {
		return false
	}
	tab.release(key, true, now)
	return true
}

// However many keys an attacker sprays, the table holds at most its
// capacity, and the bucket of a key being throttled outlives fuller ones.
func TestLimiterTableIsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newLimiterTable(1, time.Minute, 100)
	if !guess(tab, "victim", now) {
		t.Fatal("victim's first attempt throttled")
	}
	for i := range 10_000 {
		guess(tab, fmt.Sprintf("spray-%d", i), now)
		if i%50 == 0 {
			guess(tab, "victim", now) // the victim is being attacked too
		}
	}
	if n := tab.len(); n > 100 {
		t.Fatalf("table holds %d keys, want at most 100", n)
	}
	if guess(tab, "victim", now) {
		t.Error("the victim's bucket was forgotten while in use")
	}
	// An hour later every bucket is full again; new keys replace them
	// without growing the table.
	later := now.Add(time.Hour)
	for i := range 200 {
		guess(tab, fmt.Sprintf("late-%d", i), later)
	}
	if n := tab.len(); n > 100 {
		t.Fatalf("table holds %d keys, want at most 100", n)
	}
}

// The table-level form of the reviewed attack: drain a victim's bucket,
// then send many logins under fresh keys. Logins that never reach a
// comparison (a password over 72 bytes, no budget) leave no key behind;
// logins that do (guesses) fill the table with buckets one token short of
// full, and a full table forgets those before the drained victim.
func TestLimiterTableSprayDoesNotRefillAVictim(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		spray func(tab *limiterTable, key string, now time.Time) bool
		keys  int // keys left in the table after the spray, besides the victim
	}{
		{"refused before a comparison", free, 0},
		{"guesses", guess, 63},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := newLimiterTable(3, time.Hour, 64)
			for range 3 {
				guess(tab, "victim", now)
			}
			if guess(tab, "victim", now) {
				t.Fatal("the drained victim got a guess")
			}
			for i := range 10_000 {
				at := now.Add(time.Duration(i) * time.Millisecond)
				if !tc.spray(tab, fmt.Sprintf("spray-%d", i), at) {
					t.Fatalf("spray %d throttled", i)
				}
			}
			end := now.Add(10 * time.Second)
			if got := tab.tokens("victim", end); got >= 1 {
				t.Errorf("the victim holds %.2f tokens after the spray, want under 1", got)
			}
			if guess(tab, "victim", end) {
				t.Error("the spray bought the victim a fresh guess")
			}
			if n := tab.len() - 1; n != tc.keys {
				t.Errorf("the spray left %d keys, want %d", n, tc.keys)
			}
		})
	}
}

// A full table forgets the fullest bucket, whatever the order of use.
func TestLimiterTableEvictsTheFullest(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newLimiterTable(4, time.Minute, 3)
	spend := func(key string, n int) {
		for range n {
			if !guess(tab, key, now) {
				t.Fatalf("%s throttled", key)
			}
		}
	}
	spend("two-left", 2)
	spend("one-left", 3)
	spend("three-left", 1) // the most recently used, and the fullest
	spend("new", 1)
	if tab.tokens("three-left", now) != 4 || tab.tokens("two-left", now) != 2 || tab.tokens("one-left", now) != 1 {
		t.Errorf("tokens: three-left %v (want forgotten: 4), two-left %v, one-left %v",
			tab.tokens("three-left", now), tab.tokens("two-left", now), tab.tokens("one-left", now))
	}
	if n := tab.len(); n != 3 {
		t.Errorf("table holds %d keys, want 3", n)
	}
}

// A key that a login in flight holds a token from is never forgotten, so
// no login's guess is lost to eviction; the table grows past its capacity
// by the logins in flight and shrinks back when they end.
func TestLimiterTableKeepsKeysInFlight(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newLimiterTable(2, time.Hour, 4)
	for i := range 10 {
		if tab.take(fmt.Sprintf("k%d", i), now) > 0 {
			t.Fatalf("k%d throttled", i)
		}
	}
	if n := tab.len(); n != 10 {
		t.Fatalf("%d keys while 10 logins hold one each, want 10", n)
	}
	for i := range 10 {
		tab.release(fmt.Sprintf("k%d", i), false, now) // each was a guess
	}
	for i := range 10 {
		if got := tab.tokens(fmt.Sprintf("k%d", i), now); got != 1 {
			t.Errorf("k%d holds %v tokens, want 1", i, got)
		}
	}
	guess(tab, "next", now)
	if n := tab.len(); n != 4 {
		t.Errorf("%d keys once the logins ended, want the capacity 4", n)
	}
	// Two logins hold the same new key: the first refund leaves it, the
	// second's guess keeps it.
	tab.take("shared", now)
	tab.take("shared", now)
	tab.release("shared", true, now)
	if got := tab.tokens("shared", now); got != 1 {
		t.Errorf("shared holds %v tokens after one refund, want 1", got)
	}
	if tab.take("shared", now) > 0 {
		t.Error("the refunded token is not there")
	} else {
		tab.release("shared", true, now)
	}
	tab.release("shared", false, now)
	if got := tab.tokens("shared", now); got != 1 {
		t.Errorf("shared holds %v tokens after the guess, want 1", got)
	}
}

// Each kind of key has its tables of its own, so that addresses cannot
// push out accounts when the two limits are equal.
func TestMemoryKeepsKindsApart(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(4)
	l := Limit{Burst: 10, Every: 30 * time.Second}
	ctx := context.Background()
	m.Take(ctx, "uvictim", l, now)
	m.Done(ctx, "uvictim", l, false, now) // a guess: kept
	for i := range 8 {
		k := fmt.Sprintf("a192.0.2.%d", i)
		m.Take(ctx, k, l, now)
		m.Done(ctx, k, l, false, now)
	}
	if n := m.Len("uvictim", l); n != 1 {
		t.Errorf("the account table holds %d keys after 8 addresses, want the victim's 1", n)
	}
	if n := m.Len("a", l); n > 4 {
		t.Errorf("the address table holds %d keys, want at most its capacity 4", n)
	}
}

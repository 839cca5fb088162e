package storetest

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// ReplayCache runs the ReplayCache conformance tests against caches made
// by newCache (a fresh, empty one for each subtest, with room for at least
// 1,000 proofs). Each subtest is named Group/Rule and each of its failures
// begins with the rule it checks. Times are fixed instants, passed as
// arguments, as for the other suites; a cache compares them to the
// microsecond at least. Its answer when full is the cache's own to test:
// the suite cannot fill a database.
func ReplayCache(t *testing.T, newCache func(t *testing.T) jwtguard.ReplayCache) {
	for _, g := range replaySuite {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					c := newCache(t)
					if c == nil {
						t.Fatal("newCache returned nil")
					}
					tc.run(&renv{t: t, rule: tc.rule, c: c})
				})
			}
		})
	}
}

type replayTest struct {
	name string
	rule string
	run  func(e *renv)
}

var replaySuite = []struct {
	name  string
	tests []replayTest
}{
	{"Add", []replayTest{
		{"Fresh", "a proof never recorded is recorded: AddProof returns nil", testReplayFresh},
		{"Replayed", "a proof recorded and unexpired is refused with ErrProofReplayed, at once and a microsecond before it expires", testReplayReplayed},
		{"Expired", "a record expires at its expiry: the proof is recorded again then, and refused again after that", testReplayExpired},
		{"RefusedChangesNothing", "a refused replay does not move the record's expiry", testReplayRefusedChangesNothing},
	}},
	{"IDs", []replayTest{
		{"Independent", "ids are told apart in full: ids that differ in their first or last byte have records of their own", testReplayIndependent},
		{"Many", "a thousand proofs are recorded and each is refused when sent again", testReplayMany},
	}},
	{"Concurrent", []replayTest{
		{"OneWins", "of concurrent AddProofs of one id, exactly one returns nil and the others ErrProofReplayed", testReplayOneWins},
	}},
}

// An renv is one replay subtest's cache and helpers.
type renv struct {
	t    *testing.T
	rule string
	c    jwtguard.ReplayCache
}

func (e *renv) errorf(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf(e.rule+": "+format, args...)
}

func newProofID() jwtguard.ProofID {
	var id jwtguard.ProofID
	rand.Read(id[:])
	return id
}

// add is AddProof(id, expires, now).
func (e *renv) add(id jwtguard.ProofID, expires, now time.Time) error {
	return e.c.AddProof(e.t.Context(), id, expires, now)
}

// fresh checks that AddProof records id.
func (e *renv) fresh(id jwtguard.ProofID, expires, now time.Time, why string) {
	e.t.Helper()
	if err := e.add(id, expires, now); err != nil {
		e.errorf("AddProof (%s) at %s, expiring %s = %v; want nil", why, when(now), when(expires), err)
	}
}

// replayed checks that AddProof refuses id as a replay.
func (e *renv) replayed(id jwtguard.ProofID, expires, now time.Time, why string) {
	e.t.Helper()
	if err := e.add(id, expires, now); !errors.Is(err, jwtguard.ErrProofReplayed) {
		e.errorf("AddProof (%s) at %s, expiring %s = %v; want ErrProofReplayed", why, when(now), when(expires), err)
	}
}

func testReplayFresh(e *renv) {
	e.fresh(newProofID(), t0.Add(time.Minute), t0, "a new proof")
}

func testReplayReplayed(e *renv) {
	id := newProofID()
	exp := t0.Add(time.Minute)
	e.fresh(id, exp, t0, "first")
	e.replayed(id, exp, t0, "the same instant")
	e.replayed(id, exp.Add(time.Minute), t0.Add(30*time.Second), "half a minute on, with a later expiry")
	e.replayed(id, exp.Add(time.Minute), exp.Add(-time.Microsecond), "a microsecond before the expiry")
}

func testReplayExpired(e *renv) {
	id := newProofID()
	exp := t0.Add(time.Minute)
	e.fresh(id, exp, t0, "first")
	e.fresh(id, exp.Add(time.Minute), exp, "at the first record's expiry")
	e.replayed(id, exp.Add(time.Minute), exp.Add(time.Second), "a second after it was recorded again")
}

func testReplayRefusedChangesNothing(e *renv) {
	id := newProofID()
	exp := t0.Add(time.Minute)
	e.fresh(id, exp, t0, "first")
	e.replayed(id, exp.Add(time.Hour), t0.Add(time.Second), "a replay with an expiry an hour later")
	e.fresh(id, exp.Add(time.Minute), exp, "at the first record's expiry: the replay did not extend it")
}

func testReplayIndependent(e *renv) {
	id := newProofID()
	exp := t0.Add(time.Minute)
	e.fresh(id, exp, t0, "first")
	first, last := id, id
	first[0] ^= 1
	last[len(last)-1] ^= 0x80
	e.fresh(first, exp, t0, "an id that differs in its first byte")
	e.fresh(last, exp, t0, "an id that differs in its last byte")
	e.replayed(id, exp, t0, "the first again")
}

func testReplayMany(e *renv) {
	ids := make([]jwtguard.ProofID, 1000)
	exp := t0.Add(time.Minute)
	for i := range ids {
		ids[i] = newProofID()
		if err := e.add(ids[i], exp, t0); err != nil {
			e.errorf("AddProof of proof %d of %d = %v; want nil", i+1, len(ids), err)
			return
		}
	}
	for i, id := range ids {
		if err := e.add(id, exp, t0.Add(time.Second)); !errors.Is(err, jwtguard.ErrProofReplayed) {
			e.errorf("AddProof of proof %d again = %v; want ErrProofReplayed", i+1, err)
			return
		}
	}
}

func testReplayOneWins(e *renv) {
	const rounds, racers = 32, 16
	for range rounds {
		id := newProofID()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			nils     int
			failures []error
		)
		for range racers {
			wg.Go(func() {
				err := e.add(id, t0.Add(time.Minute), t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					nils++
				case !errors.Is(err, jwtguard.ErrProofReplayed):
					failures = append(failures, err)
				}
			})
		}
		wg.Wait()
		if nils != 1 || len(failures) > 0 {
			e.errorf("%d concurrent AddProofs of one id: %d returned nil, and errors other than ErrProofReplayed: %v; want exactly one nil", racers, nils, failures)
			return
		}
	}
}

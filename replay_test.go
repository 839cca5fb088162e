package jwtguard_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

func TestMemoryReplayCache(t *testing.T) {
	storetest.ReplayCache(t, func(*testing.T) jwtguard.ReplayCache { return jwtguard.NewMemoryReplayCache(4096) })
}

// TestMemoryReplayCacheFull: a full cache refuses a new proof with
// ErrReplayCacheFull rather than drop an unexpired one, and takes new
// proofs again once old ones expire.
func TestMemoryReplayCacheFull(t *testing.T) {
	const size = 64
	c := jwtguard.NewMemoryReplayCache(size)
	ctx := t.Context()
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	var held []jwtguard.ProofID
	full := 0
	for range 40 * size {
		var id jwtguard.ProofID
		rand.Read(id[:])
		switch err := c.AddProof(ctx, id, t0.Add(time.Minute), t0); {
		case err == nil:
			held = append(held, id)
		case errors.Is(err, jwtguard.ErrReplayCacheFull):
			full++
		default:
			t.Fatalf("AddProof = %v", err)
		}
	}
	if len(held) > size || full == 0 {
		t.Fatalf("%d proofs held of a cache of %d, %d refused as full; want at most %d held, the others refused", len(held), size, full, size)
	}
	// Every one held is still refused: none was dropped to make room.
	for i, id := range held {
		if err := c.AddProof(ctx, id, t0.Add(time.Minute), t0.Add(59*time.Second)); !errors.Is(err, jwtguard.ErrProofReplayed) {
			t.Fatalf("proof %d held, sent again while full = %v; want ErrProofReplayed", i, err)
		}
	}
	// Once they expire, new proofs are taken again.
	var id jwtguard.ProofID
	rand.Read(id[:])
	if err := c.AddProof(ctx, id, t0.Add(2*time.Minute), t0.Add(time.Minute)); err != nil {
		t.Fatalf("AddProof after the others expired = %v; want nil", err)
	}
	if err := c.AddProof(ctx, id, t0.Add(2*time.Minute), t0.Add(time.Minute)); !errors.Is(err, jwtguard.ErrProofReplayed) {
		t.Fatalf("AddProof again = %v; want ErrProofReplayed", err)
	}
}

// TestMemoryReplayCacheRefusesPastExpiry: an expiry not after now is an
// error of the caller's, never a record that is expired at once.
func TestMemoryReplayCacheRefusesPastExpiry(t *testing.T) {
	c := jwtguard.NewMemoryReplayCache(64)
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	var id jwtguard.ProofID
	err := c.AddProof(t.Context(), id, t0, t0)
	if err == nil || errors.Is(err, jwtguard.ErrProofReplayed) || errors.Is(err, jwtguard.ErrReplayCacheFull) {
		t.Fatalf("AddProof expiring now = %v; want an error of its own", err)
	}
}

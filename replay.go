package jwtguard

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A ProofID names one DPoP proof to a [ReplayCache]: the SHA-256 of the
// proof key's RFC 7638 thumbprint and the proof's jti. A cache keeps these
// hashes, never the proofs; a jti is scoped to its key, so that nobody can
// spend another client's jti by sending it in a proof of their own.
type ProofID [32]byte

// proofID returns the ProofID of the proof with jti made by the key whose
// thumbprint is jkt.
func proofID(jkt, jti string) ProofID {
	h := sha256.New()
	h.Write([]byte("jwtguard dpop jti\x00"))
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var id ProofID
	h.Sum(id[:0])
	return id
}

// A ReplayCache remembers the DPoP proofs ([WithDPoP]) that have been
// accepted, each for as long as it could be accepted, so that a proof is
// accepted once: a copied proof sent again is refused. [NewMemoryReplayCache]
// is one process's (the default); services with several replicas share
// one (the Redis store of jwtguard/stores/redis is a ReplayCache), or a
// proof accepted by one replica is accepted by the others too.
//
// The conformance suite storetest.ReplayCache states every rule below as a
// test; a cache must pass it.
type ReplayCache interface {
	// AddProof records id until expires, which is after now. It returns
	// nil when id was not recorded (or its record had expired at now), and
	// the record is then made in the same atomic step: of any number of
	// concurrent calls with one id, across processes when they share the
	// cache, exactly one returns nil. It returns an error wrapping
	// [ErrProofReplayed] when id is recorded and its record has not
	// expired at now, and one wrapping [ErrReplayCacheFull] when it
	// cannot record id without dropping a record that has not expired:
	// a cache never forgets an unexpired proof to make room. Any other
	// error is a failure of the cache; the request is refused (fail
	// closed), with 503.
	AddProof(ctx context.Context, id ProofID, expires, now time.Time) error
}

var (
	// ErrProofReplayed is a [ReplayCache]'s answer for a proof it holds:
	// the request is refused as a replay (401 invalid_dpop_proof).
	ErrProofReplayed = errors.New("jwtguard: the DPoP proof was used before")
	// ErrReplayCacheFull is a [ReplayCache]'s answer when it has no room
	// for another proof: the request is answered with a use_dpop_nonce
	// challenge, which DPoP clients retry once, rather than an unexpired
	// proof dropped (which would let its replay through).
	ErrReplayCacheFull = errors.New("jwtguard: the DPoP replay cache is full")
)

// defaultReplayEntries is the size of the default memory replay cache:
// with the default proof age of a minute, some 2,000 proofs a second,
// in about 10 MiB.
const defaultReplayEntries = 1 << 17

// replayShards is the number of independently locked parts of a memory
// replay cache.
const replayShards = 16

// NewMemoryReplayCache returns a [ReplayCache] in this process's memory
// that holds at most maxEntries proofs (at least 16); each costs some 80
// bytes. Expired proofs make room for new ones; when every one held is
// unexpired, AddProof answers [ErrReplayCacheFull].
func NewMemoryReplayCache(maxEntries int) ReplayCache {
	if maxEntries < replayShards {
		maxEntries = replayShards
	}
	c := &memoryReplay{}
	for i := range c.shards {
		c.shards[i].max = maxEntries / replayShards
		c.shards[i].m = make(map[ProofID]int64)
	}
	return c
}

// memoryReplay is NewMemoryReplayCache's cache: shards by the id's first
// byte (a hash), each a map of ids to their expiry, swept for expired
// entries when full.
type memoryReplay struct {
	shards [replayShards]replayShard
}

type replayShard struct {
	mu  sync.Mutex
	m   map[ProofID]int64 // expiry, Unix nanoseconds
	max int
	// soonest is the earliest expiry among m's entries as of the last
	// sweep (or a lower bound of it): a full shard whose soonest entry
	// has not expired is full without a sweep, so that a flood against a
	// full cache costs each proof a lookup, not a walk of the shard.
	soonest int64
}

// AddProof implements [ReplayCache].
func (c *memoryReplay) AddProof(_ context.Context, id ProofID, expires, now time.Time) error {
	if !expires.After(now) {
		return fmt.Errorf("jwtguard: memory replay cache: a proof that expires at %v, not after now (%v)", expires, now)
	}
	s := &c.shards[id[0]%replayShards]
	exp, at := expires.UnixNano(), now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[id]; ok {
		if old > at {
			return ErrProofReplayed
		}
		s.m[id] = exp
		s.soonest = min(s.soonest, exp)
		return nil
	}
	if len(s.m) >= s.max {
		if s.soonest > at {
			return ErrReplayCacheFull
		}
		s.sweep(at)
		if len(s.m) >= s.max {
			return ErrReplayCacheFull
		}
	}
	if len(s.m) == 0 || exp < s.soonest {
		s.soonest = exp
	}
	s.m[id] = exp
	return nil
}

// sweep drops the entries expired at now and sets soonest.
func (s *replayShard) sweep(now int64) {
	soonest := int64(1<<63 - 1)
	for id, exp := range s.m {
		if exp <= now {
			delete(s.m, id)
			continue
		}
		soonest = min(soonest, exp)
	}
	s.soonest = soonest
}

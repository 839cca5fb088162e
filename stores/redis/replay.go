package redis

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
)

// replaySlack is how long past its expiry a proof's key is kept, by
// Redis's clock, for the clocks of the servers and of Redis to disagree:
// the record, not the key's time to live, says whether a proof has
// expired, so a key that outlives its record costs memory but nothing
// else, and one that went early would let the proof's replay through.
const replaySlack = time.Minute

// maxLuaMicros bounds the times AddProof takes: Lua's numbers (doubles)
// hold every microsecond exactly below 2^53, which is the year 2255.
const maxLuaMicros = 1 << 53

// The replay keys are <prefix>r:<hex ProofID>, without a hash tag: a
// script touches one key, named in KEYS, so on a Cluster the proofs
// spread across the shards by their hashes. The value is the record's
// expiry in Unix microseconds, rounded toward the future.

// addProofScript: KEYS proof; ARGV now, expires (µs), the key's time to
// live (ms). 0: recorded; 1: recorded already and unexpired at now (the
// record is left as it is). A value that is not a number fails the script
// (tonumber is nil), which fails the call: closed.
//
// It has no shebang line, so that Redis runs it when its memory is full
// and refuses only its SET: a replay is still answered as one, and a new
// proof fails with OOM, which AddProof reports as ErrReplayCacheFull.
var addProofScript = goredis.NewScript(`
local now = tonumber(ARGV[1])
local old = redis.call('GET', KEYS[1])
if old and tonumber(old) > now then return 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 0
`)

func (s *Store) proofKey(id jwtguard.ProofID) string {
	return s.prefix + "r:" + hex.EncodeToString(id[:])
}

// AddProof records the DPoP proof id until expires, as
// [jwtguard.ReplayCache] says, in one script: of concurrent calls with one
// id, from any number of Stores on the server and prefix, exactly one
// returns nil, and the others an error wrapping
// [jwtguard.ErrProofReplayed]. Whether a record has expired is decided by
// now, to the microsecond, never by Redis's clock: now is rounded toward
// the past and expires toward the future, so an expiry within a
// microsecond holds until its end (a fresh proof may be refused for that
// microsecond; a replay is never accepted early). A refused replay leaves
// the record as it was. The key holds the id's hash and the expiry, and lives a
// minute past expires (as far ahead of Redis's clock as expires is of
// now, the minute for clocks that disagree), so that what the Store keeps
// is bounded by the proofs of the acceptance window; keep the clocks of
// the servers and of Redis in step (NTP).
//
// When Redis's memory is full (maxmemory with the noeviction policy, its
// answer OOM), a new proof is refused with an error wrapping
// [jwtguard.ErrReplayCacheFull], and a recorded one is still refused as a
// replay. The server must never evict a record: an evicted proof's replay
// would be accepted. That is the maxmemory-policy noeviction that [Open]
// and [New] already require (any allkeys-* or volatile-* policy may evict
// these keys, which all have a time to live): they refuse such a server
// with [ErrNotDurable] rather than warn, as a forgotten proof is as bad as
// a forgotten revocation, and they read the policy from INFO where CONFIG
// is refused (managed services). They check once, when the Store opens: a
// policy changed later is not noticed. A Store opened with
// [AcceptNonDurable] on a server that evicts does not protect against
// replays when the server fills up.
func (s *Store) AddProof(ctx context.Context, id jwtguard.ProofID, expires, now time.Time) error {
	if now.IsZero() || expires.IsZero() {
		return errors.New("jwtguard/redis: add proof: a replay cache needs times, not the zero time")
	}
	if !expires.After(now) {
		return fmt.Errorf("jwtguard/redis: add proof: a proof that expires at %v, not after now (%v)", expires, now)
	}
	at, exp := micros(now), microsUp(expires)
	if at <= -maxLuaMicros || exp >= maxLuaMicros {
		return fmt.Errorf("jwtguard/redis: add proof: the times %v and %v are beyond what the store keeps exactly", now, expires)
	}
	// The key's time to live in ms, rounded up, with the slack.
	ttl := (exp-at+999)/1000 + replaySlack.Milliseconds()
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, err := addProofScript.Run(ctx, s.c, []string{s.proofKey(id)}, at, exp, ttl).Int()
	switch {
	case goredis.IsOOMError(err):
		return fmt.Errorf("%w (Redis: %v)", jwtguard.ErrReplayCacheFull, err)
	case err != nil:
		return fmt.Errorf("jwtguard/redis: add proof: %w", err)
	case n == 1:
		return jwtguard.ErrProofReplayed
	case n != 0:
		return fmt.Errorf("jwtguard/redis: add proof: unexpected answer %d", n)
	}
	return nil
}

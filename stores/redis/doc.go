// Package redis keeps jwtguard's sessions, login throttles and DPoP replay
// cache in Redis, on github.com/redis/go-redis/v9, so that rotation,
// revocation, throttling and replay detection hold across the replicas of a
// service. A [Store] is a [jwtguard.SessionStore] for
// [jwtguard.WithSessions] (refresh-token families, reuse detection, logout,
// the access-token denylist and the revocation check of Verify), a
// [jwtguard.Throttle] for [jwtguard.LoginPolicy].Throttle (the per-account
// and per-address budgets of failed logins, and the memory of each
// account's last successful login) and a [jwtguard.ReplayCache] for DPoP
// (the proofs accepted, so that a copied proof is refused on every
// replica). It passes the conformance suites storetest.Sessions,
// storetest.Throttle and storetest.ReplayCache. Users stay in a user store
// of their own (the SQLite or PostgreSQL store, or yours).
//
// # Atomicity
//
// Every method that reads and writes is one Lua script, which Redis runs
// alone (EVALSHA, loaded on first use): of any number of concurrent
// rotations of one refresh token, from any number of processes, exactly
// one wins and the others are reuse, which revokes the session; a login
// racing a "log out everywhere" is refused or revoked, never left live;
// concurrent failed logins never take more than the bucket holds; of
// concurrent uses of one DPoP proof exactly one is accepted.
// [Store.Revoked], Verify's check on every request, is one script too: one
// round trip. The client does not retry a command whose answer it lost (a
// rotation run twice would be reuse), and every call is bounded by the
// Store's timeout ([WithTimeout], 1 second by default) on top of its
// context, so that a server that stops answering fails logins, refreshes
// and Verify's check (each answered 503: closed, never open) within that
// time rather than hanging them.
//
// # Durability
//
// A store that forgets a revocation lets a revoked session's tokens work
// again, so [Open] checks that the server has AOF persistence on
// (appendonly yes: writes survive a restart; appendfsync everysec, the
// default, may lose the last second of them on a crash of the machine) and
// will not evict keys when its memory is full (maxmemory-policy noeviction:
// a full server refuses writes, which fail the calls, rather than dropping
// keys). The replay cache needs the same: every proof's key has a time to
// live, so any allkeys-* or volatile-* policy may evict a proof before it
// expires, and its replay would then be accepted; with noeviction a full
// server refuses new proofs, which [Store.AddProof] answers with
// [jwtguard.ErrReplayCacheFull], never by forgetting one. It reads CONFIG
// GET, or INFO where CONFIG is disabled (managed services), and refuses a
// server that fails either check with [ErrNotDurable]; [AcceptNonDurable]
// opens it anyway with a warning logged. Replicas are asynchronous: a
// failover may lose the latest writes (a logout, a rotation) that the old
// primary had not sent.
//
// # What it keeps, and for how long
//
// Only the SHA-256 of each refresh token ([jwtguard.TokenHash]), never a
// token; times to the microsecond, rounded toward the past (the end of
// an access token's denial toward the future). Each key expires: a
// session and its token hashes a day after its ExpiresAt, the mark of a
// "log out everywhere" an hour and a minute after it was made, an access
// token's denial a minute after its end, a throttle's bucket when it is
// full again, an account's last login after 30 days, and a DPoP proof's
// record (the SHA-256 of its key's thumbprint and its jti, with its
// expiry) a minute after the proof's expiry. The expiries
// run on Redis's clock, each as far ahead of it as the time it follows is
// of the call's time (the times of the calls are arguments, as the
// interfaces say; a denial, whose call has no time, expires by Redis's
// clock), so keep the clocks of the servers and of Redis in step (NTP). It
// bounds what one client or account can make it keep, as the memory
// store does: a user's 101st session drops their oldest, and a session
// keeps the hashes of its current token, of the one its latest rotation
// spent and of 64 older ones (an older one presented again is refused as
// invalid, no longer reported as reuse).
//
// # Keys, Cluster and Sentinel
//
// Every key begins with the Store's prefix ([WithPrefix], "jwtguard:" by
// default). The session keys follow with the hash tag {s}, so that they all
// hash to one slot of a Redis Cluster: the scripts touch several of them at
// once (a token's session, the user's sessions), and some of those keys are
// named from what a script reads, which a Cluster allows only within one
// slot. On a Cluster the sessions therefore live on one shard (its primary
// takes all their load; the throttle's keys spread across shards, and so do
// the DPoP proofs' keys, <prefix>r:<hex of the proof's hash>). The package
// is tested on a single server and on a Cluster of one node (which checks
// that each script's keys share a slot, but not how a client routes them
// among several shards). A single primary, with replicas and Sentinel (a
// go-redis failover client given to [New]) or a managed service's failover,
// is the deployment it is made for. [Open] makes a client for one server
// from a URL; [New] takes a go-redis client of any kind.
package redis

// Package storetest is the conformance suite of [jwtguard.SessionStore]
// ([Sessions]), of [jwtguard.UserWriter] ([Users]), of
// [jwtguard.Throttle] ([Throttle]) and of [jwtguard.ReplayCache] ([ReplayCache]): every rule that the interfaces' doc
// comments state is a subtest that fails against a store that breaks it.
// Every store, the in-memory ones and each database backend, runs them
// from tests of its own:
//
//	func TestMemorySessionStore(t *testing.T) {
//		storetest.Sessions(t, func(t *testing.T) jwtguard.SessionStore {
//			return jwtguard.NewMemorySessionStore()
//		})
//	}
//
// [Benchmark] measures every backend's hot paths the same way: Revoked,
// RotateSession and LookupUser, under concurrency, with their p50 and p99
// latencies. It times each call with two reads of the clock, which add
// some tens of nanoseconds to a call (more on a virtual machine whose
// clock is slow to read): noise for a database, not for the memory
// stores, whose figures are therefore higher than their own benchmarks'.
//
// Run it under the race detector (go test -race): the concurrency subtests
// rotate one token from many goroutines at once, in 128 rounds, but a store
// whose check and update are not one atomic step can still be lucky in a
// run; the race detector catches the unguarded accesses such a store
// usually makes, and -count=N gives it N chances to be caught.
//
// # What the suite asks of newStore
//
// newStore is called once for each subtest and must return a store that
// holds nothing the suite can see; a database backend can open a fresh
// schema or table prefix and register its removal with t.Cleanup. The
// subtests run one after another, never in parallel. Session IDs, user IDs,
// token hashes and access-token IDs are all random (crypto/rand), so a
// backend that shares one database among subtests does not collide with
// itself, though it must still start each subtest from an empty store
// for the results to mean anything.
//
// The contexts passed to the store are the subtests' [testing.T.Context]:
// they are not cancelled while a call runs, and the suite does not test
// how a store honours cancellation.
//
// # Time
//
// The suite never reads the clock and never sleeps: it passes every time
// as an argument, all of them fixed instants in March 2031 (UTC) that are
// whole seconds apart, except where it approaches an edge, which it does
// to within a microsecond. A store must therefore keep and compare times
// to the microsecond at least (PostgreSQL's resolution is enough); it may
// change a time's location, as the suite compares instants with
// [time.Time.Equal].
//
// # Where the doc comments leave a choice
//
// The suite settles these as follows, and tests both sides of each edge:
//
//   - A session is ended at its ExpiresAt: a refresh at ExpiresAt is
//     refused, one a microsecond before it is not, and Revoked refuses its
//     access tokens from ExpiresAt on.
//   - A session is idle when IdleTimeout has passed since LastUsedAt: a
//     refresh at LastUsedAt+IdleTimeout is refused. An IdleTimeout of 0
//     means no idle timeout.
//   - The grace window after a rotation at time r, for a call with grace
//     g, contains the instants now with 0 ≤ now−r < g: a retry at r+g is
//     reuse, one a microsecond before it is not, and so is one at a time
//     before r (clocks that disagree). A grace of 0 has no window, not
//     even at the instant of the rotation.
//   - A store refuses the zero time, in CreateSession's CreatedAt and
//     ExpiresAt and as the now of RotateSession, RevokeSession and
//     RevokeUserSessions (a RevokedAt of zero reads as not revoked), and a
//     session with a negative IdleTimeout, an empty ID or an empty user ID.
//   - Only the token that the session's latest rotation spent may be
//     retried inside the window (the issue's "only the immediately
//     previous token"); an older spent token is reuse however recent.
//   - A token denied by DenyAccessToken until u is revoked at instants
//     before u and not at u or after.
//   - A session revoked at r is revoked at r (the suite asks at r and
//     later, never earlier).
//   - A failed CreateSession stores nothing; a refused RotateSession stores
//     nothing under its next and, but for revoking the session on reuse,
//     changes nothing (a rotation to a next the store holds included). The
//     error for a next the store holds may be any non-nil error.
//   - RevokeUserSessions of a user without sessions is not an error, keeps
//     the first RevokedAt of a session revoked already, and leaves the
//     user's later logins alone.
//   - RevokeUserSessions at r marks the user (with sessions or without):
//     CreateSession of a session of theirs with CreatedAt at r or before
//     fails with [jwtguard.ErrSessionRevoked] and stores nothing, one a
//     microsecond after r is stored; other users' sessions are not
//     refused; of two marks the later holds, whichever call came last;
//     and a mark is still kept after calls an hour less a microsecond
//     after r (the suite never asks later than that, when a store may
//     have forgotten it).
//   - A spent token of a session past its ExpiresAt or idle is
//     [jwtguard.ErrRefreshTokenInvalid] and does not revoke the session:
//     that rule comes before reuse detection.
//
// The suite leaves untested what the doc comments do not settle: what a
// superseded token of a revoked session is, and whether Revoked refuses
// the access tokens of an idle session. It does not yet test that a retry
// does not extend the window (the contract says so), and does not run
// revocations concurrently with rotations.
//
// # The user suite
//
// [Users] asks of newStore what Sessions does: a fresh, empty store for
// each subtest, which run one after another. It checks that
//
//   - LookupUser matches usernames as strings.EqualFold does, beyond
//     ASCII too (the Kelvin sign is K, final sigma is σ; ß is not SS, the
//     dotless ı is not I, a composed é is not e and a combining accent, a
//     full-width letter is not its ASCII one), and returns the username in
//     the letter case CreateUser was given; LookupUserByID matches IDs
//     exactly; a username or ID no user has is [jwtguard.ErrUserNotFound];
//   - CreateUser of a username taken in any letter case, or of an ID
//     taken, is [jwtguard.ErrUserExists] and stores nothing, and of 16
//     concurrent creations of one username (in 8 rounds) exactly one
//     succeeds; a user without an ID or a username is refused, and so is
//     a PasswordHash that is not a bcrypt hash (60 bytes, a cost bcrypt
//     reads), so that no store keeps a plaintext password: the interface
//     does not say so, but every store of this module refuses one;
//   - SetPasswordHash changes the hash that both lookups return and
//     nothing else, is ErrUserNotFound for an ID no user has, and refuses
//     what is not a bcrypt hash;
//   - what a store keeps and what it hands out are copies.
//
// Concurrent creations from several Stores on one database (several
// processes) are the backend's own test to write: the suite has one store
// at a time.
//
// # The Throttle suite
//
// [Throttle] states the rules of [jwtguard.Throttle] and of the login
// policy's in-memory throttle, which a shared one replaces: a bucket of
// Burst tokens at one instant, gaining one every Every and never holding
// more than Burst; Take returns 0 when it took a token and otherwise the
// wait until the next one, (full − now) − (Burst−1)·Every in the terms of
// the generic cell rate algorithm, taking nothing; Done with refund gives
// the token back (never beyond the burst, however late it comes), without
// refund keeps it spent; keys of at most 80 bytes of printable ASCII are
// buckets of their own; of concurrent Takes on a fresh bucket exactly
// Burst succeed; and LastLogin returns the address and time that the
// latest Remember recorded for that account. newThrottle is called once a
// subtest, as newStore is, and must return a throttle that holds nothing
// the suite can see (a fresh key prefix will do: the suite's keys are
// random). Its times are t0 plus whole milliseconds, or a microsecond
// from an edge, so a throttle must keep times to the microsecond; its
// Limits are whole seconds. It leaves untested what the interface leaves
// to a throttle: when it forgets a full bucket or an old login, and how a
// failing Take takes nothing.
package storetest

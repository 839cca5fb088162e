// Package sqlite keeps jwtguard's users and sessions in one SQLite
// database file, on modernc.org/sqlite (SQLite translated to Go: no cgo,
// no C compiler, cross-compiles like the rest of the program). A [Store]
// is a [jwtguard.SessionStore] for [jwtguard.WithSessions] (refresh-token
// families, reuse detection, logout, the revocation check of Verify) and
// a [jwtguard.UserWriter] for the login, refresh and register handlers,
// so that registered users and issued sessions survive a restart with
// nothing to set up beside the file. It passes the conformance suite
// storetest.Sessions.
//
// Several processes may open the same file on a local file system: every
// method is one transaction, rotations take SQLite's write lock from
// their start (BEGIN IMMEDIATE), so that of any number of concurrent
// refreshes of one token, from any process, exactly one wins and reuse
// detection still revokes the session. Writes wait for each other up to a
// busy timeout ([WithBusyTimeout]); reads (the revocation check, user
// lookups) do not wait for writes (WAL mode). A SQLite file is one
// machine's store: replicas on several machines need a shared backend.
//
// # What it keeps
//
// Only the SHA-256 of each refresh token ([jwtguard.TokenHash]), never a
// token; bcrypt password hashes as given. Times are kept as Unix
// microseconds, rounded toward the past (a session ends, and a mark
// covers a login, up to a microsecond early, never late), and the end of
// an access token's denial toward the future. It bounds what one client
// or account can make it keep, as the memory store does: a user's 101st
// session drops their oldest, and a session remembers the hashes of its
// 64 newest spent tokens (an older one presented again is refused as
// invalid, no longer reported as reuse). At most once a minute, by the
// times its rotations are given, a rotation sweeps out the sessions a day
// past their end with their token hashes, the access-token denials that
// have run out, and the marks of RevokeUserSessions an hour old (see
// [Store.RevokeUserSessions]), a few hundred rows of each at a time. The
// file does not shrink by itself: run VACUUM when it matters.
//
// # Schema
//
// The schema is versioned in a schema_version table and migrated by
// [Open], in one transaction: a new file gets every table, an older one
// the migrations it lacks, an up-to-date one nothing; a file that a newer
// version of this package migrated is refused ([ErrSchemaTooNew]) rather
// than misread. Back the file up with SQLite's online backup or
// VACUUM INTO, not by copying it while it is open (its -wal file holds
// the latest transactions).
package sqlite

// Package postgres keeps jwtguard's users and sessions in a PostgreSQL
// database (PostgreSQL 11 or later; tested with 15), on github.com/jackc/pgx/v5 and its pool,
// pgxpool. A [Store] is a [jwtguard.SessionStore] for
// [jwtguard.WithSessions] (refresh-token families, reuse detection,
// logout, the revocation check of Verify) and a [jwtguard.UserWriter] for
// the login, refresh and register handlers, shared by every replica of a
// service that opens it on the same database and schema. It passes the
// conformance suites storetest.Sessions and storetest.Users.
//
// # Connecting
//
// [Open] takes a connection string, as a URL or in libpq's key=value
// form, and pgxpool's settings in it (pool_max_conns, pool_min_conns,
// pool_max_conn_lifetime, ...), with the PG* environment variables for
// what it leaves out:
//
//	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"))
//	// DATABASE_URL=postgres://jwtguard:secret@db.internal:5432/app?sslmode=verify-full&pool_max_conns=20
//
// Use sslmode=verify-full (or verify-ca) for a database across a network:
// the tables hold every bcrypt hash. The pool holds up to
// max(4, number of CPUs) connections unless pool_max_conns says
// otherwise. The Store's tables live in a schema of their own, "jwtguard"
// unless [WithSchema] names another, so that they keep apart from the
// application's tables in one database. Open's errors name the host, the
// port, the database and the schema, never the password.
//
// # Guarantees
//
// Every method is one statement or one transaction (READ COMMITTED) and
// is atomic; a transaction that fails is rolled back. A rotation locks
// its session's row (SELECT … FOR UPDATE) before it reads the presented
// token's state, so that of any number of concurrent refreshes of one
// token, from any number of Stores and processes, exactly one rotates and
// the others are reuse, which revokes the session. CreateSession and
// RevokeUserSessions of one user take a transaction-scoped advisory lock
// of the user, so that a login that read the user before a revocation of
// their sessions either is revoked by it or is refused by its mark. A
// username is unique as strings.EqualFold compares names: its folded form
// ([jwtguard.UsernameKey], computed in Go) is kept in the column name_key
// under a UNIQUE constraint, so that of concurrent registrations of one
// name exactly one succeeds. The revocation check of Verify ([Store.Revoked])
// is one SELECT in one round trip: pgx prepares the statement on a
// connection's first use and keeps it. (A connection pooler in
// transaction mode, such as PgBouncer, needs the connection string's
// default_query_exec_mode=exec or simple_protocol instead, which costs
// Revoked no extra round trip but a parse on the server.)
//
// # Timeouts
//
// Every call, [Open] included, is bounded by the Store's timeout
// ([WithTimeout], 2 seconds by default) on top of its context: waiting for
// a connection of the pool, connecting, and every round trip. A database
// that goes away (a host gone from the network, a server frozen, killed
// or overloaded) makes calls fail within that time rather than hang, with
// an error that says whether the timeout or the caller's context ended
// the call; the connection that a call was using is then closed, and the
// pool opens new ones once the database answers again. As with any
// database across a network, a call that failed on its timeout may still
// have been carried out by the server, when the server had read it before
// the connection closed: a write is then done or not done whole, never in
// part.
//
// # What it keeps
//
// Only the SHA-256 of each refresh token ([jwtguard.TokenHash]), never a
// token; bcrypt password hashes as given (CreateUser and SetPasswordHash
// refuse anything else). Times are timestamptz, rounded to the
// microsecond toward the past before they are sent (a session ends, and a
// mark covers a login, up to a microsecond early, never late), the end of
// an access token's denial toward the future; a session's RevokedAt is
// stored as given, revoked or not. It bounds what one client or account
// can make it keep, as the memory store does: a user's 101st session
// drops their oldest, and a session remembers the hashes of its 64 newest
// spent tokens (an older one presented again is refused as invalid, no
// longer reported as reuse). At most once a minute, by the times its
// rotations are given, a Store sweeps out the sessions a day past their
// end with their token hashes, the access-token denials that have run out
// and the marks of RevokeUserSessions an hour old (see
// [Store.RevokeUserSessions]), in batches of a few hundred rows of each
// kind; one Store of a schema sweeps at a time. Autovacuum reclaims the
// space of deleted rows.
//
// # Schema
//
// The schema holds seven tables: users, sessions, tokens (the hashes,
// with a foreign key to sessions that cascades), marks and forgotten_mark
// (RevokeUserSessions' marks), denials, and schema_version. [Open]
// migrates it in one transaction, holding an advisory lock of the
// schema's name, so that replicas that start at once migrate one after
// another: a new schema gets every table, an older one the migrations it
// lacks, an up-to-date one is only read; a schema that a newer version of
// this package migrated is refused ([ErrSchemaTooNew]) rather than
// misread. Back it up with pg_dump --schema=jwtguard, or with the
// database.
//
// # Privileges
//
// The role that first opens a database needs CREATE on it (to create the
// schema; or create the schema beforehand and give the role CREATE on
// it), and so does the first Open after an upgrade of this package that
// adds a migration. Once the schema is up to date, Open only reads it: a
// role that owns nothing needs USAGE on the schema and SELECT, INSERT,
// UPDATE and DELETE on its tables:
//
//	CREATE SCHEMA jwtguard AUTHORIZATION jwtguard_owner;
//	-- Open once as jwtguard_owner, then:
//	GRANT USAGE ON SCHEMA jwtguard TO app;
//	GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA jwtguard TO app;
//
// Advisory locks need no privilege.
package postgres

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are the schema's versions: migrations[i] takes a schema from
// version i to i+1. A released migration is never edited; a change is a
// new one appended. {s} stands for the schema's quoted name.
var migrations = []string{
	// 1: users, sessions and their token hashes, revocation marks, denied
	// access tokens. Durations are nanoseconds.
	`
CREATE TABLE {s}.users (
	id            text COLLATE "C" PRIMARY KEY,
	username      text NOT NULL,
	-- the username case-folded as strings.EqualFold compares (jwtguard.UsernameKey)
	name_key      text COLLATE "C" NOT NULL CONSTRAINT users_name_key_key UNIQUE,
	password_hash bytea NOT NULL,
	roles         text[] NOT NULL,
	disabled      boolean NOT NULL
);

CREATE TABLE {s}.sessions (
	id            text COLLATE "C" PRIMARY KEY,
	user_id       text COLLATE "C" NOT NULL,
	created_at    timestamptz NOT NULL,
	expires_at    timestamptz NOT NULL,
	idle_timeout  bigint NOT NULL,
	last_used_at  timestamptz NOT NULL,
	key_binding   text NOT NULL,
	revoked_at    timestamptz,  -- NULL while not revoked
	current_hash  bytea NOT NULL,
	previous_hash bytea,        -- the token the latest rotation spent
	rotated_at    timestamptz   -- the time of the latest rotation
);
CREATE INDEX sessions_by_user ON {s}.sessions (user_id, created_at);
CREATE INDEX sessions_by_expiry ON {s}.sessions (expires_at);

-- The SHA-256 of every refresh token a session has had, never a token.
-- seq grows with insertion, which the bound on spent hashes relies on.
CREATE TABLE {s}.tokens (
	hash       bytea PRIMARY KEY,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	session_id text COLLATE "C" NOT NULL REFERENCES {s}.sessions (id) ON DELETE CASCADE,
	state      smallint NOT NULL, -- 0 current, 1 spent, 2 superseded
	window_at  timestamptz        -- superseded: the rotation whose grace window superseded it
);
CREATE INDEX tokens_by_session ON {s}.tokens (session_id, seq);

-- RevokeUserSessions' marks: sessions of the user created at or before at
-- are refused.
CREATE TABLE {s}.marks (
	user_id text COLLATE "C" PRIMARY KEY,
	at      timestamptz NOT NULL
);
CREATE INDEX marks_by_time ON {s}.marks (at);

-- The newest mark the sweep forgot: sessions created at or before it are
-- refused, whatever their user.
CREATE TABLE {s}.forgotten_mark (
	id integer PRIMARY KEY CHECK (id = 1),
	at timestamptz NOT NULL
);

CREATE TABLE {s}.denials (
	jti   text COLLATE "C" PRIMARY KEY,
	until timestamptz NOT NULL
);
CREATE INDEX denials_by_time ON {s}.denials (until);
`,
}

// schemaVersion is the version this package writes.
var schemaVersion = len(migrations)

// migrate brings the schema to schemaVersion in one transaction that
// holds an advisory lock of the schema's name, so that the Opens of
// several replicas on a new database take turns: the first creates, the
// others find it done.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.why(ctx, "connect", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('jwtguard/postgres migrate ' || $1, 0))", s.schema); err != nil {
		return s.why(ctx, "migrate: lock", err)
	}
	// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the
	// database even when the schema exists: look first.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&exists); err != nil {
		return s.why(ctx, "migrate", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+s.quoted); err != nil {
			return s.why(ctx, "migrate: create the schema", err)
		}
	}
	// Likewise CREATE TABLE IF NOT EXISTS needs CREATE on the schema: an
	// up-to-date schema is only read, so that a role without the
	// privilege to change it can open it.
	var table *string
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1)::text", s.quoted+".schema_version").Scan(&table); err != nil {
		return s.why(ctx, "migrate", err)
	}
	if table == nil {
		if _, err := tx.Exec(ctx, s.q(`CREATE TABLE {s}.schema_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version integer NOT NULL
)`)); err != nil {
			return s.why(ctx, "migrate: schema_version", err)
		}
	}
	v := 0
	switch err := tx.QueryRow(ctx, s.q("SELECT version FROM {s}.schema_version WHERE id = 1")).Scan(&v); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return s.why(ctx, "migrate: schema_version", err)
	}
	switch {
	case v > schemaVersion:
		return fmt.Errorf("%w: schema version %d, this package knows up to %d; use a newer github.com/jwtguard/jwtguard/stores/postgres", ErrSchemaTooNew, v, schemaVersion)
	case v < 0:
		return fmt.Errorf("schema version %d", v)
	case v == schemaVersion:
		return nil // nothing changed: the rollback ends the transaction
	}
	for i := v; i < schemaVersion; i++ {
		if _, err := tx.Exec(ctx, s.q(migrations[i])); err != nil {
			return s.why(ctx, fmt.Sprintf("migration to schema version %d", i+1), err)
		}
	}
	if _, err := tx.Exec(ctx, s.q(`INSERT INTO {s}.schema_version (id, version) VALUES (1, $1)
ON CONFLICT (id) DO UPDATE SET version = excluded.version`), schemaVersion); err != nil {
		return s.why(ctx, "migrate: schema_version", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.why(ctx, "migrate: commit", err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are the schema's versions: migrations[i] takes a database
// from version i to i+1. A released migration is never edited; a change
// is a new one appended.
var migrations = []string{
	// 1: users, sessions and their token hashes, revocation marks, denied
	// access tokens. Times are Unix microseconds; durations nanoseconds.
	`
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	name_key      TEXT NOT NULL UNIQUE, -- the username case-folded as strings.EqualFold compares
	password_hash BLOB NOT NULL,
	roles         TEXT NOT NULL,        -- a JSON array of strings
	disabled      INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	idle_timeout  INTEGER NOT NULL,
	last_used_at  INTEGER NOT NULL,
	key_binding   TEXT NOT NULL,
	revoked_at    INTEGER,      -- NULL while not revoked
	current_hash  BLOB NOT NULL,
	previous_hash BLOB,         -- the token the latest rotation spent
	rotated_at    INTEGER       -- the time of the latest rotation
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- The SHA-256 of every refresh token a session has had, never a token.
-- Rowids grow with insertion, which the bound on spent hashes relies on.
CREATE TABLE tokens (
	hash       BLOB PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	state      INTEGER NOT NULL, -- 0 current, 1 spent, 2 superseded
	window_at  INTEGER           -- superseded: the rotation whose grace window superseded it
) STRICT;
CREATE INDEX tokens_by_session ON tokens (session_id);

-- RevokeUserSessions' marks: sessions of the user created at or before at
-- are refused.
CREATE TABLE marks (
	user_id TEXT PRIMARY KEY,
	at      INTEGER NOT NULL
) STRICT;
CREATE INDEX marks_by_time ON marks (at);

-- The newest mark the sweep forgot: sessions created at or before it are
-- refused, whatever their user.
CREATE TABLE forgotten_mark (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
) STRICT;

CREATE TABLE denials (
	jti   TEXT PRIMARY KEY,
	until INTEGER NOT NULL
) STRICT;
CREATE INDEX denials_by_time ON denials (until);
`,
}

// schemaVersion is the version this package writes.
var schemaVersion = len(migrations)

// migrate brings the schema to schemaVersion in one write transaction,
// which serialises the Opens of several processes on a new file.
func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) (_, err error) {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
) STRICT`); err != nil {
			return nil, fmt.Errorf("schema_version: %w", err)
		}
		v := 0
		switch err := tx.QueryRowContext(ctx, "SELECT version FROM schema_version WHERE id = 1").Scan(&v); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("schema_version: %w", err)
		}
		switch {
		case v > schemaVersion:
			return nil, fmt.Errorf("%w: schema version %d, this package knows up to %d; use a newer github.com/jwtguard/jwtguard/stores/sqlite", ErrSchemaTooNew, v, schemaVersion)
		case v < 0:
			return nil, fmt.Errorf("jwtguard/sqlite: schema version %d", v)
		case v == schemaVersion:
			return nil, nil
		}
		for i := v; i < schemaVersion; i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return nil, fmt.Errorf("migration to schema version %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (id, version) VALUES (1, ?)
ON CONFLICT (id) DO UPDATE SET version = excluded.version`, schemaVersion); err != nil {
			return nil, fmt.Errorf("schema_version: %w", err)
		}
		return nil, nil
	})
}

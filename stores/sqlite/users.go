package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

const userColumns = "id, username, password_hash, roles, disabled"

// LookupUser returns the user whose username equals username without
// regard to letter case, as strings.EqualFold compares them (see
// [Store.CreateUser]); [jwtguard.ErrUserNotFound] when there is none.
func (s *Store) LookupUser(ctx context.Context, username string) (jwtguard.User, error) {
	return s.lookup(ctx, s.lookupUser, jwtguard.UsernameKey(username))
}

// LookupUserByID returns the user of ID id, which matches exactly;
// [jwtguard.ErrUserNotFound] when there is none.
func (s *Store) LookupUserByID(ctx context.Context, id string) (jwtguard.User, error) {
	return s.lookup(ctx, s.lookupUserByID, id)
}

func (s *Store) lookup(ctx context.Context, stmt *sql.Stmt, key string) (jwtguard.User, error) {
	var u jwtguard.User
	var roles string
	switch err := stmt.QueryRowContext(ctx, key).Scan(&u.ID, &u.Username, &u.PasswordHash, &roles, &u.Disabled); {
	case errors.Is(err, sql.ErrNoRows):
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	case err != nil:
		return jwtguard.User{}, fmt.Errorf("jwtguard/sqlite: lookup user: %w", err)
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return jwtguard.User{}, fmt.Errorf("jwtguard/sqlite: user %q: roles: %w", u.ID, err)
	}
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	return u, nil
}

// CreateUser adds u. It fails with an error wrapping
// [jwtguard.ErrUserExists] when a user of u's ID exists (IDs match
// exactly), or one whose username equals u.Username as strings.EqualFold
// compares them: Unicode simple case folding, rune by rune, so that
// "alice" and "ALICE" are one user, and so are "K" and the Kelvin sign
// "\u212a", "ǅ" and "ǆ", or "Σ", "σ" and "ς", while "straße" and
// "STRASSE" are two (EqualFold does not expand ß). For the ASCII
// usernames that RegisterHandler admits this is ASCII case folding. The
// folded form is computed in Go, by the Unicode tables of the Go release
// that wrote it, and kept under a UNIQUE constraint: of any number of
// concurrent creations of one username, in this process or others on the
// same file, exactly one succeeds. A username is kept and returned with
// its letter case as given. CreateUser also fails for a user without an
// ID or a username, or whose PasswordHash is not a bcrypt hash (60 bytes,
// $2a$, $2b$ or $2y$, a cost in 4..31).
func (s *Store) CreateUser(ctx context.Context, u jwtguard.User) error {
	if u.ID == "" || u.Username == "" {
		return errors.New("jwtguard/sqlite: a user needs an ID and a username")
	}
	if err := checkHash(u.PasswordHash); err != nil {
		return fmt.Errorf("jwtguard/sqlite: user %q: %w", u.Username, err)
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	rolesJSON, err := json.Marshal(roles)
	if err != nil {
		return fmt.Errorf("jwtguard/sqlite: user %q: roles: %w", u.Username, err)
	}
	key := jwtguard.UsernameKey(u.Username)
	return s.write(ctx, func(tx *sql.Tx) (_, err error) {
		var byID, byName int
		if err := tx.QueryRowContext(ctx, `SELECT
	(SELECT count(*) FROM users WHERE id = ?), (SELECT count(*) FROM users WHERE name_key = ?)`, u.ID, key).Scan(&byID, &byName); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: create user: %w", err)
		}
		switch {
		case byName > 0:
			return nil, fmt.Errorf("%w: username %q is taken (letter case aside)", jwtguard.ErrUserExists, u.Username)
		case byID > 0:
			return nil, fmt.Errorf("%w: user ID %q exists", jwtguard.ErrUserExists, u.ID)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO users ("+userColumns+", name_key) VALUES (?, ?, ?, ?, ?, ?)",
			u.ID, u.Username, u.PasswordHash, string(rolesJSON), u.Disabled, key)
		switch {
		case isConstraint(err):
			// Not reached while every writer takes the write lock first,
			// as BEGIN IMMEDIATE does; the constraint holds regardless.
			return nil, fmt.Errorf("%w: username %q or user ID %q", jwtguard.ErrUserExists, u.Username, u.ID)
		case err != nil:
			return nil, fmt.Errorf("jwtguard/sqlite: create user: %w", err)
		}
		return nil, nil
	})
}

// SetPasswordHash replaces the password hash of the user of ID id;
// [jwtguard.ErrUserNotFound] when there is none. It fails for a hash that
// is not a bcrypt hash, as CreateUser does.
func (s *Store) SetPasswordHash(ctx context.Context, id string, hash []byte) error {
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("jwtguard/sqlite: %w", err)
	}
	return s.write(ctx, func(tx *sql.Tx) (_, err error) {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, id)
		if err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: set password hash: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: set password hash: %w", err)
		} else if n == 0 {
			return nil, jwtguard.ErrUserNotFound
		}
		return nil, nil
	})
}

// checkHash refuses what is not a bcrypt hash; its errors never quote the
// hash. (The login handler refuses, and logs, a subtler malformed hash.)
func checkHash(h []byte) error {
	if len(h) != 60 {
		return fmt.Errorf("password hash of %d bytes; want a 60-byte bcrypt hash", len(h))
	}
	if _, err := bcrypt.Cost(h); err != nil {
		return errors.New("password hash is not a bcrypt hash")
	}
	return nil
}

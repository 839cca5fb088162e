package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

const userColumns = "id, username, password_hash, roles, disabled"

// LookupUser returns the user whose username equals username without
// regard to letter case, as strings.EqualFold compares them (see
// [Store.CreateUser]); [jwtguard.ErrUserNotFound] when there is none. It
// is one SELECT by the UNIQUE index of the folded names.
func (s *Store) LookupUser(ctx context.Context, username string) (jwtguard.User, error) {
	key := jwtguard.UsernameKey(username)
	if !validText(key) {
		return jwtguard.User{}, jwtguard.ErrUserNotFound // no user has it
	}
	return s.lookup(ctx, s.lookupUser, key)
}

// LookupUserByID returns the user of ID id, which matches exactly;
// [jwtguard.ErrUserNotFound] when there is none.
func (s *Store) LookupUserByID(ctx context.Context, id string) (jwtguard.User, error) {
	if !validText(id) {
		return jwtguard.User{}, jwtguard.ErrUserNotFound // no user has it
	}
	return s.lookup(ctx, s.lookupUserByID, id)
}

func (s *Store) lookup(ctx context.Context, query, key string) (jwtguard.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var u jwtguard.User
	switch err := s.pool.QueryRow(ctx, query, key).Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Roles, &u.Disabled); {
	case errors.Is(err, pgx.ErrNoRows):
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	case err != nil:
		return jwtguard.User{}, s.fail(ctx, "lookup user", err)
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
// folded form ([jwtguard.UsernameKey]) is computed in Go, by the Unicode
// tables of the Go release that wrote it, not by PostgreSQL's lower() or
// a collation, and kept in the column name_key under a UNIQUE
// constraint: of any number of concurrent creations of one username, from
// any number of Stores, exactly one succeeds. It is one INSERT. A
// username is kept and returned with its letter case as given. CreateUser
// also fails for a user without an ID or a username, one PostgreSQL's
// text cannot hold (invalid UTF-8, NUL), or whose PasswordHash is not a
// bcrypt hash (60 bytes, $2a$, $2b$ or $2y$, a cost in 4..31).
func (s *Store) CreateUser(ctx context.Context, u jwtguard.User) error {
	if u.ID == "" || u.Username == "" {
		return errors.New("jwtguard/postgres: a user needs an ID and a username")
	}
	if err := checkHash(u.PasswordHash); err != nil {
		return fmt.Errorf("jwtguard/postgres: user %q: %w", u.Username, err)
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	key := jwtguard.UsernameKey(u.Username)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, s.q("INSERT INTO {s}.users ("+userColumns+", name_key) VALUES ($1, $2, $3, $4, $5, $6)"),
		u.ID, u.Username, u.PasswordHash, roles, u.Disabled, key)
	if c, ok := isUnique(err); ok {
		if c == "users_name_key_key" {
			return fmt.Errorf("%w: username %q is taken (letter case aside)", jwtguard.ErrUserExists, u.Username)
		}
		return fmt.Errorf("%w: user ID %q exists", jwtguard.ErrUserExists, u.ID)
	}
	if err != nil {
		return s.fail(ctx, "create user", err)
	}
	return nil
}

// SetPasswordHash replaces the password hash of the user of ID id;
// [jwtguard.ErrUserNotFound] when there is none. It fails for a hash that
// is not a bcrypt hash, as CreateUser does.
func (s *Store) SetPasswordHash(ctx context.Context, id string, hash []byte) error {
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("jwtguard/postgres: %w", err)
	}
	if !validText(id) {
		return jwtguard.ErrUserNotFound
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, s.q("UPDATE {s}.users SET password_hash = $1 WHERE id = $2"), hash, id)
	if err != nil {
		return s.fail(ctx, "set password hash", err)
	}
	if tag.RowsAffected() == 0 {
		return jwtguard.ErrUserNotFound
	}
	return nil
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

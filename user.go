package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard/internal/fold"
	"github.com/jwtguard/jwtguard/internal/guard"
	"github.com/jwtguard/jwtguard/internal/passwords"
)

const (
	// defaultBcryptCost is the cost HashPassword uses.
	defaultBcryptCost = 10
	// maxPasswordLength is the longest password, in bytes, that bcrypt
	// reads. Longer passwords are refused, never truncated.
	maxPasswordLength = 72
	// maxUsernameLength is the longest username, in bytes, that the login
	// handler accepts; a longer one is a malformed request (400).
	maxUsernameLength = 256
)

// ErrUserNotFound is what a [UserStore] returns when it has no user of that
// username. The login handler answers it exactly as a wrong password, and
// so an error wrapping sql.ErrNoRows, which a store built on database/sql
// returns for a missing row.
var ErrUserNotFound = errors.New("jwtguard: user not found")

// User is an account as a [UserStore] returns it.
type User struct {
	// ID is the stable identifier that becomes the token's sub claim. It
	// must not be empty.
	ID string
	// Username is what the user logs in with; it goes into the token's
	// username claim.
	Username string
	// PasswordHash is a bcrypt hash ($2a$, $2b$ or $2y$), as made by
	// HashPassword, bcryptjs, PHP's password_hash or htpasswd -B: 60 bytes,
	// the prefix, a two-digit cost from 4 to 31, '$', then 53 characters of
	// bcrypt's base64 alphabet (22 of salt, 31 of hash). The login handler
	// answers a user whose hash is anything else as a wrong password, after
	// a comparison against a dummy hash, and logs it at Error level. The
	// login compares the password in Unicode NFKC, as HashPassword and
	// RegisterHandler hash it, and, when the password as sent is not its
	// own NFKC form, as sent too, so that a hash made elsewhere of the
	// password as typed ("mot\u00a0de\u00a0passe" with no-break spaces,
	// "\ufb01rewall" with a ligature, "e=mc\u00b2", full-width letters)
	// still matches; either form matching logs the user in.
	PasswordHash []byte
	// Roles go into the token's roles claim.
	Roles []string
	// Disabled users cannot log in; the client is told only that the
	// credentials are invalid.
	Disabled bool
}

// UserStore looks users up by username for the login handler. LookupUser
// returns [ErrUserNotFound] or sql.ErrNoRows (or an error wrapping either)
// when there is no such user, and the login handler answers it like a wrong
// password. Any other error is answered 500, unless ctx was cancelled by
// then (the client went away): that is answered 503 and logged at Debug
// level. Implementations must be safe for concurrent use and should honour
// ctx's cancellation. A panic is not recovered.
type UserStore interface {
	LookupUser(ctx context.Context, username string) (User, error)
}

// UserByIDStore is a [UserStore] that also looks users up by their ID, as
// the refresh handler must: a refresh re-reads the user its session was
// started for, so that a refreshed token carries the user's roles as they
// are now, and a user who is gone or disabled cannot refresh.
// LookupUserByID answers a missing user as LookupUser does
// ([ErrUserNotFound] or sql.ErrNoRows).
type UserByIDStore interface {
	UserStore
	LookupUserByID(ctx context.Context, id string) (User, error)
}

// UsernameKey returns the key that usernames are compared by without
// regard to letter case, as strings.EqualFold compares them:
// UsernameKey(a) == UsernameKey(b) exactly when strings.EqualFold(a, b).
// The account throttle and [NewMemoryStore] key usernames by it, and a
// [UserWriter] of one's own may store it under a UNIQUE constraint (the
// SQLite store does). It maps each rune to the smallest rune of its
// case-folding orbit, and invalid UTF-8 to U+FFFD; its results change only
// with the Unicode tables of the Go release.
func UsernameKey(username string) string { return fold.Key(username) }

// NewMemoryStore returns a [UserWriter] that holds users in memory, for
// examples, tests and small services: the users given, and those that
// RegisterHandler adds while the process runs (they are lost when it
// ends). It holds at most 100,000 users, so that public registration
// cannot make it grow without bound: past that, CreateUser fails with
// [ErrUserStoreFull], which RegisterHandler answers 500 server_error and
// logs at Error level (no retry frees room: the operator must move the
// users to a database), and NewMemoryStore fails if given more. Usernames match without regard to letter case, as
// strings.EqualFold compares them (the account throttle's fold); IDs
// match exactly. The store keeps copies of the users and hands out
// copies. It fails if two users share a username (so compared) or an ID,
// or a user lacks an ID, a username or a usable bcrypt hash (see
// [User].PasswordHash). It is safe for concurrent use.
func NewMemoryStore(users ...User) (UserWriter, error) {
	s := &memoryStore{byName: map[string]*User{}, byID: map[string]*User{}, limit: maxMemoryUsers}
	for _, u := range users {
		if err := s.add(u); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ErrUserStoreFull: the memory store ([NewMemoryStore]) holds as many
// users as it may. RegisterHandler answers it 500 server_error, logged at
// Error level.
var ErrUserStoreFull = errors.New("jwtguard: the memory user store is full")

// maxMemoryUsers is the most users NewMemoryStore's store holds.
const maxMemoryUsers = 100_000

// memoryStore is NewMemoryStore's store. Its users are never changed in
// place: a new password replaces the user's record.
type memoryStore struct {
	mu     sync.RWMutex
	byName map[string]*User // by fold.Key of the username
	byID   map[string]*User
	limit  int // the most users it holds
}

// add checks u and adds a copy of it; s.mu must be held for writing, or s
// not yet shared.
func (s *memoryStore) add(u User) error {
	if u.ID == "" || u.Username == "" {
		return errors.New("jwtguard: a user needs an ID and a username")
	}
	if _, dup := s.byName[fold.Key(u.Username)]; dup {
		return fmt.Errorf("%w: username %q appears twice (letter case aside)", ErrUserExists, u.Username)
	}
	if _, dup := s.byID[u.ID]; dup {
		return fmt.Errorf("%w: user ID %q appears twice", ErrUserExists, u.ID)
	}
	if _, err := guard.CheckBcryptHash(u.PasswordHash); err != nil {
		return fmt.Errorf("jwtguard: user %q: password hash: %w", u.Username, err)
	}
	if len(s.byID) >= s.limit {
		return fmt.Errorf("%w: %d users", ErrUserStoreFull, len(s.byID))
	}
	u.PasswordHash = slices.Clone(u.PasswordHash)
	u.Roles = slices.Clone(u.Roles)
	s.byName[fold.Key(u.Username)], s.byID[u.ID] = &u, &u
	return nil
}

func (s *memoryStore) LookupUser(ctx context.Context, username string) (User, error) {
	return s.lookup(s.byName, fold.Key(username))
}

func (s *memoryStore) LookupUserByID(ctx context.Context, id string) (User, error) {
	return s.lookup(s.byID, id)
}

func (s *memoryStore) lookup(m map[string]*User, key string) (User, error) {
	s.mu.RLock()
	p, ok := m[key]
	s.mu.RUnlock()
	if !ok {
		return User{}, ErrUserNotFound
	}
	u := *p
	u.PasswordHash = slices.Clone(u.PasswordHash)
	u.Roles = slices.Clone(u.Roles)
	return u, nil
}

func (s *memoryStore) CreateUser(ctx context.Context, u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(u)
}

func (s *memoryStore) SetPasswordHash(ctx context.Context, id string, hash []byte) error {
	if _, err := guard.CheckBcryptHash(hash); err != nil {
		return fmt.Errorf("jwtguard: password hash: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byID[id]
	if !ok {
		return ErrUserNotFound
	}
	u := *p
	u.PasswordHash = slices.Clone(hash)
	s.byName[fold.Key(u.Username)], s.byID[id] = &u, &u
	return nil
}

// HashPassword returns a bcrypt hash of password at cost 10: the OWASP
// minimum for bcrypt, Go's bcrypt.DefaultCost and the bcryptjs examples'.
// The password is normalised to Unicode NFKC first, as the login handler
// normalises the passwords it compares (NIST SP 800-63B-4), so that both
// agree however the characters were composed. (The login handler also
// compares a password as sent when it is not its own NFKC form, for hashes
// made elsewhere without normalising: a hash from HashPassword matches
// both "\ufb01le" and "file", one from bcryptjs of "\ufb01le" only the
// former.) It refuses an empty
// password, and one longer than the 72 bytes bcrypt reads (once
// normalised) rather than hash a truncation of it. It applies no other
// policy: [Auth.SetPassword] and the register handler do. (For another
// cost, call golang.org/x/crypto/bcrypt's GenerateFromPassword with the
// normalised password and refuse long ones yourself.)
func HashPassword(password string) ([]byte, error) {
	password = passwords.Normalize(password)
	switch {
	case password == "":
		return nil, errors.New("jwtguard: empty password")
	case len(password) > maxPasswordLength:
		return nil, fmt.Errorf("jwtguard: password longer than %d bytes", maxPasswordLength)
	}
	return bcrypt.GenerateFromPassword([]byte(password), defaultBcryptCost)
}

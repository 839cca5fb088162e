package jwtguard

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Bcrypt parameters.
const (
	// DefaultBcryptCost is the cost HashPassword uses: the OWASP minimum for
	// bcrypt, the cost of Go's bcrypt.DefaultCost and of the bcryptjs
	// examples. Raise it with HashPasswordWithCost when logins are rare.
	DefaultBcryptCost = 10
	// MaxPasswordLength is the longest password, in bytes, that bcrypt
	// reads. Longer passwords are refused, never truncated.
	MaxPasswordLength = 72
	// MaxUsernameLength is the longest username, in bytes, that the login
	// handler accepts; a longer one is a malformed request (400).
	MaxUsernameLength = 256

	minBcryptCost = bcrypt.MinCost
	maxBcryptCost = bcrypt.MaxCost
)

// ErrUserNotFound is what a UserStore returns when it has no user of that
// username. The login handler answers it exactly as a wrong password, and
// so an error wrapping sql.ErrNoRows, which a store built on database/sql
// returns for a missing row.
var ErrUserNotFound = errors.New("jwtguard: user not found")

// ErrPasswordTooLong is returned by HashPassword for a password over
// MaxPasswordLength bytes.
var ErrPasswordTooLong = fmt.Errorf("jwtguard: password longer than %d bytes", MaxPasswordLength)

// User is an account as a UserStore returns it.
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
	// a comparison against a dummy hash, and logs it at Error level.
	PasswordHash []byte
	// Roles go into the token's roles claim.
	Roles []string
	// Disabled users cannot log in; the client is told only that the
	// credentials are invalid.
	Disabled bool
}

// UserStore looks users up by username for the login handler. LookupUser
// returns ErrUserNotFound or sql.ErrNoRows (or an error wrapping either)
// when there is no such user, and the login handler answers it like a wrong
// password. Any other error is answered 500, unless ctx was cancelled by
// then (the client went away): that is answered 503 and logged at Debug
// level. Implementations must be safe for concurrent use and should honour
// ctx's cancellation. A panic is not recovered.
type UserStore interface {
	LookupUser(ctx context.Context, username string) (User, error)
}

// UserStoreFunc adapts a function to a UserStore.
type UserStoreFunc func(ctx context.Context, username string) (User, error)

// LookupUser calls f.
func (f UserStoreFunc) LookupUser(ctx context.Context, username string) (User, error) {
	return f(ctx, username)
}

// MemoryStore is a UserStore held in memory, for examples, tests and small
// services with a fixed set of accounts. Usernames match exactly (case
// sensitive). The zero value is an empty store ready to use; it is safe for
// concurrent use.
type MemoryStore struct {
	mu    sync.RWMutex
	users map[string]User
}

// NewMemoryStore returns a store holding users. It fails if two users share
// a username or a user lacks an ID, a username or a valid bcrypt hash.
func NewMemoryStore(users ...User) (*MemoryStore, error) {
	s := new(MemoryStore)
	for _, u := range users {
		if _, dup := s.users[u.Username]; dup {
			return nil, fmt.Errorf("jwtguard: username %q appears twice", u.Username)
		}
		if err := s.Put(u); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Put adds u, or replaces the user with the same username. It fails if u
// lacks an ID, a username or a valid bcrypt hash (one that the login
// handler can compare with; see User.PasswordHash).
func (s *MemoryStore) Put(u User) error {
	if u.ID == "" || u.Username == "" {
		return errors.New("jwtguard: a user needs an ID and a username")
	}
	if _, err := checkBcryptHash(u.PasswordHash); err != nil {
		return fmt.Errorf("jwtguard: user %q: password hash: %w", u.Username, err)
	}
	u.PasswordHash = slices.Clone(u.PasswordHash)
	u.Roles = slices.Clone(u.Roles)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == nil {
		s.users = make(map[string]User)
	}
	s.users[u.Username] = u
	return nil
}

// LookupUser returns a copy of the user with that username, or
// ErrUserNotFound.
func (s *MemoryStore) LookupUser(ctx context.Context, username string) (User, error) {
	s.mu.RLock()
	u, ok := s.users[username]
	s.mu.RUnlock()
	if !ok {
		return User{}, ErrUserNotFound
	}
	u.PasswordHash = slices.Clone(u.PasswordHash)
	u.Roles = slices.Clone(u.Roles)
	return u, nil
}

// HashPassword returns a bcrypt hash of password at DefaultBcryptCost. It
// refuses a password longer than MaxPasswordLength bytes with
// ErrPasswordTooLong rather than hash a truncation of it, and an empty one.
func HashPassword(password string) ([]byte, error) {
	return HashPasswordWithCost(password, DefaultBcryptCost)
}

// HashPasswordWithCost is HashPassword at the given bcrypt cost (4 to 31;
// below 10 only for tests).
func HashPasswordWithCost(password string, cost int) ([]byte, error) {
	switch {
	case password == "":
		return nil, errors.New("jwtguard: empty password")
	case len(password) > MaxPasswordLength:
		return nil, ErrPasswordTooLong
	case cost < minBcryptCost || cost > maxBcryptCost:
		return nil, fmt.Errorf("jwtguard: bcrypt cost %d outside %d..%d", cost, minBcryptCost, maxBcryptCost)
	}
	return bcrypt.GenerateFromPassword([]byte(password), cost)
}

// bcryptAlphabet is the base64 alphabet of bcrypt hashes.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var bcryptEncoding = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

// checkBcryptHash reports whether h is a whole bcrypt hash that
// bcrypt.CompareHashAndPassword can compare with, and returns its cost:
// "$2a$", "$2b$" or "$2y$", a two-digit cost within 4..31, '$', and exactly
// 53 characters of bcrypt's base64 alphabet, of which the first 22, the
// salt, decode to 16 bytes. (bcrypt.Cost reads only the prefix and cost; a
// hash it accepts with a bad salt fails inside the comparison at once.)
// Its errors never quote the hash.
func checkBcryptHash(h []byte) (cost int, err error) {
	const prefix = len("$2a$10$")
	switch {
	case len(h) != prefix+53:
		return 0, fmt.Errorf("bcrypt hash of %d bytes, want 60", len(h))
	case h[0] != '$' || h[1] != '2' || (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$':
		return 0, errors.New("not a $2a$, $2b$ or $2y$ bcrypt hash")
	case h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$':
		return 0, errors.New("bcrypt hash without a two-digit cost")
	}
	cost = int(h[4]-'0')*10 + int(h[5]-'0')
	if cost < minBcryptCost || cost > maxBcryptCost {
		return 0, fmt.Errorf("bcrypt cost %d outside %d..%d", cost, minBcryptCost, maxBcryptCost)
	}
	for i, c := range h[prefix:] {
		if !strings.ContainsRune(bcryptAlphabet, rune(c)) {
			return 0, fmt.Errorf("bcrypt hash has a byte outside its base64 alphabet at offset %d", prefix+i)
		}
	}
	if salt, err := bcryptEncoding.DecodeString(string(h[prefix : prefix+22])); err != nil || len(salt) != 16 {
		return 0, errors.New("bcrypt salt does not decode to 16 bytes")
	}
	return cost, nil
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/stores/postgres"
	"github.com/jwtguard/jwtguard/stores/redis"
	"github.com/jwtguard/jwtguard/stores/sqlite"
)

// The data directory's contents.
const (
	defaultDataDir = "jwtguard-data" // in the working directory
	databaseFile   = "jwtguard.db"   // the SQLite database: users and sessions
	secretFile     = "jwt-secret"    // the generated JWT secret, when JWT_SECRET is unset
)

// stores is where the server keeps its users, sessions and login
// throttles.
type stores struct {
	users    jwtguard.UserWriter
	sessions jwtguard.SessionStore
	throttle jwtguard.Throttle // nil: in this process's memory
	// where says where the data lives, for the start-up message.
	where string
	// closers close the stores, in order.
	closers []func() error
}

// openStores opens the server's stores: users and sessions in the
// PostgreSQL database that DATABASE_URL names, or else in the SQLite
// database in dataDir (created, mode 0700, when missing); and when
// REDIS_URL names a Redis, the sessions and the login throttles there.
// Replicas share what PostgreSQL and Redis keep. A variable that is set but empty, or a
// store that cannot be opened, is an error naming the variable; so is a
// Redis that may forget revocations (no AOF, or eviction).
func openStores(ctx context.Context, dataDir string, lookupEnv func(string) (string, bool), logger *slog.Logger) (_ *stores, err error) {
	st := &stores{}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	if u, ok := lookupEnv("DATABASE_URL"); ok {
		if u == "" {
			return nil, errors.New("DATABASE_URL is set but empty: unset it to keep users and sessions in the data directory")
		}
		db, err := postgres.Open(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		st.closers = append(st.closers, func() error { db.Close(); return nil })
		st.users, st.sessions = db, db
		st.where = "PostgreSQL database of DATABASE_URL"
	} else {
		if err := makeDataDir(dataDir); err != nil {
			return nil, err
		}
		path := filepath.Join(dataDir, databaseFile)
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("-data-dir, JWTGUARD_DATA_DIR: %w", err)
		}
		st.closers = append(st.closers, db.Close)
		st.users, st.sessions = db, db
		st.where = "SQLite database " + path
	}
	if u, ok := lookupEnv("REDIS_URL"); ok {
		if u == "" {
			return nil, errors.New("REDIS_URL is set but empty: unset it to keep sessions in the data directory")
		}
		rs, err := redis.Open(ctx, u, redis.WithLogger(logger))
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		st.closers = append(st.closers, rs.Close)
		st.sessions, st.throttle = rs, rs
		st.where = "users in " + st.where + "; sessions and login throttles in Redis (REDIS_URL)"
		if _, ok := lookupEnv("DATABASE_URL"); !ok {
			logger.Warn("REDIS_URL without DATABASE_URL: the users are in this server's own SQLite database, so that replicas do not share them (a name registered on one can be registered again on another); set DATABASE_URL for a fleet")
		}
	} else {
		st.where += " (users and sessions)"
		if _, ok := lookupEnv("DATABASE_URL"); ok {
			logger.Warn("DATABASE_URL without REDIS_URL: the login throttles are this process's own, so that N replicas let an attacker try N times as many passwords; set REDIS_URL to share them")
		}
	}
	return st, nil
}

// close closes the stores, returning the first error.
func (st *stores) close() error {
	var first error
	for _, c := range st.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	st.closers = nil
	return first
}

// makeDataDir creates dir, mode 0700, with its parents, unless it exists;
// it fails if dir is something other than a directory.
func makeDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("-data-dir, JWTGUARD_DATA_DIR: %w", err)
	}
	return nil
}

// dataDirOf returns the data directory that flagValue (the -data-dir flag)
// or else JWTGUARD_DATA_DIR names, or else defaultDataDir in the working
// directory, as an absolute path.
func dataDirOf(flagValue string, lookupEnv func(string) (string, bool)) (string, error) {
	dir := flagValue
	if dir == "" {
		if v, ok := lookupEnv("JWTGUARD_DATA_DIR"); ok && v != "" {
			dir = v
		} else {
			dir = defaultDataDir
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("-data-dir, JWTGUARD_DATA_DIR: %w", err)
	}
	return abs, nil
}

// secretBytes is the size of a generated secret: 384 bits, above the 256
// that HS256 needs.
const secretBytes = 48

// dataDirSecret returns the JWT secret kept in dir's secretFile, making it
// (random, mode 0600) when the file does not exist yet, so that tokens
// survive a restart without JWT_SECRET. made reports that it was made now.
// A file that others may read or write (mode bits beyond 0600), that is
// not a regular file (a link is not followed), or whose content is not a
// secret of the length it makes is refused: the server does not start on
// a secret someone else may know. Two servers starting at once on one
// directory agree on one secret: the file appears whole, by a link, or not
// at all.
func dataDirSecret(dir string) (secret string, made bool, err error) {
	path := filepath.Join(dir, secretFile)
	secret, err = readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	if err := makeDataDir(dir); err != nil {
		return "", false, err
	}
	b := make([]byte, secretBytes)
	rand.Read(b) // never fails (Go 1.24+)
	secret = base64.RawURLEncoding.EncodeToString(b)
	tmp, err := os.CreateTemp(dir, secretFile+".*") // mode 0600
	if err != nil {
		return "", false, fmt.Errorf("making the JWT secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.WriteString(tmp, secret+"\n"); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("making the JWT secret: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("making the JWT secret: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", false, fmt.Errorf("making the JWT secret: %w", err)
	}
	// Link, not rename: it fails when another server made the file first,
	// whose secret is then the one to use.
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		secret, err = readSecret(path)
		return secret, false, err
	case err != nil:
		return "", false, fmt.Errorf("making the JWT secret: %w", err)
	}
	return secret, true, nil
}

// readSecret reads the secret file at path (see dataDirSecret). It checks
// the file it opened (without following a link), not the path, so that a
// file swapped in between a check and the read is not read.
func readSecret(path string) (string, error) {
	if fi, err := os.Lstat(path); err != nil {
		return "", err
	} else if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file (%v); remove it to have a new secret made", path, fi.Mode().Type())
	}
	f, err := openNoFollow(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w (a link is not followed; remove it to have a new secret made)", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	uid, foreign := foreignOwner(fi)
	switch {
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("%s is not a regular file (%v); remove it to have a new secret made", path, fi.Mode().Type())
	case fi.Mode().Perm()&0o177 != 0:
		return "", fmt.Errorf("%s has mode %#o: others may read or change the JWT secret; run chmod 600 on it, or remove it to have a new secret made", path, fi.Mode().Perm())
	case foreign:
		return "", fmt.Errorf("%s is owned by uid %d, not this server's uid %d: its owner may know the JWT secret; remove it to have a new secret made", path, uid, os.Geteuid())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", err
	}
	secret := strings.TrimSuffix(string(b), "\n")
	if d, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(d) != secretBytes {
		return "", fmt.Errorf("%s does not hold a secret this server made (%d random bytes, base64url); remove it to have a new secret made", path, secretBytes)
	}
	return secret, nil
}

// seedDemoAccounts adds the demo accounts that users lacks (all of them in
// a new database; none once they exist, whatever their passwords are
// now), hashing with hash. A concurrent start that adds one first is not
// an error.
func seedDemoAccounts(ctx context.Context, users jwtguard.UserWriter, hash func(string) ([]byte, error), logger *slog.Logger) error {
	for _, u := range demoAccounts {
		switch _, err := users.LookupUser(ctx, u.Username); {
		case err == nil:
			continue
		case !errors.Is(err, jwtguard.ErrUserNotFound):
			return fmt.Errorf("looking up demo account %s: %w", u.Username, err)
		}
		h, err := hash(demoPassword)
		if err != nil {
			return err
		}
		u.PasswordHash = h
		switch err := users.CreateUser(ctx, u); {
		case errors.Is(err, jwtguard.ErrUserExists):
		case err != nil:
			return fmt.Errorf("adding demo account %s: %w", u.Username, err)
		default:
			logger.Info("added a demo account", slog.String("username", u.Username))
		}
	}
	return nil
}

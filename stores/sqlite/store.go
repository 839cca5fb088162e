package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite" // the database/sql driver "sqlite": pure Go, no cgo
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/jwtguard/jwtguard"
)

// Store is a [jwtguard.SessionStore] and a [jwtguard.UserWriter] kept in
// one SQLite database file. Open it with [Open]; close it with
// [Store.Close]. It is safe for concurrent use, and so are several Stores,
// in one process or in several, opened on the same file (on a local file
// system: SQLite's WAL mode needs shared memory, which network file
// systems do not give): each method is one transaction, and those that
// write begin with BEGIN IMMEDIATE, so that writers serialise on SQLite's
// write lock. The writers of one Store also queue in the Store, without a
// connection, so that only the writers of other processes meet SQLite's
// busy timeout ([WithBusyTimeout]).
type Store struct {
	db *sql.DB
	// writer admits one write transaction of this Store at a time.
	writer chan struct{}
	// swept is when the last sweep of expired rows ran, by the times the
	// calls gave; read and written with writer held.
	swept time.Time

	revoked, lookupSession, lookupUser, lookupUserByID *sql.Stmt
}

// An Option configures [Open].
type Option func(*config)

type config struct {
	busyTimeout time.Duration
}

// WithBusyTimeout sets how long a write waits for another process's write
// transaction on the same file to end before it fails (SQLite's
// busy_timeout). Default: 5 seconds. A write also ends when its context
// does.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = d }
}

// ErrSchemaTooNew is what [Open] returns, wrapped, for a database whose
// schema a newer version of this package wrote: it is not read, and
// nothing in it is changed.
var ErrSchemaTooNew = errors.New("jwtguard/sqlite: the database's schema is newer than this version of the package knows")

// Open opens the SQLite database file at path, creating it (but not its
// directory) when it does not exist, and brings its schema up to date: it
// creates the tables of a new database, applies to an older one the
// migrations it lacks, in one transaction, and changes nothing in one
// that is up to date. It refuses a database whose schema is newer than
// this package knows with an error wrapping [ErrSchemaTooNew]. The
// database is put in WAL mode (readers do not wait for the writer), with
// synchronous=FULL (a transaction that has returned survives a power
// loss), foreign keys on and a busy timeout ([WithBusyTimeout]). ctx
// bounds the opening and the migration only.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{busyTimeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case path == "":
		return nil, errors.New("jwtguard/sqlite: Open needs the path of a database file")
	case cfg.busyTimeout < 0:
		return nil, fmt.Errorf("jwtguard/sqlite: negative busy timeout %v", cfg.busyTimeout)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("jwtguard/sqlite: %w", err)
	}
	// Created here, mode 0600, before SQLite creates it with the umask's
	// (0644 on most systems): the file holds every bcrypt hash, and SQLite
	// gives its -wal and -shm files the mode of the database file. An
	// existing file keeps its mode.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	} else {
		return nil, fmt.Errorf("jwtguard/sqlite: open %s: %w", abs, err)
	}
	db, err := sql.Open("sqlite", dsn(abs, cfg))
	if err != nil {
		return nil, fmt.Errorf("jwtguard/sqlite: open %s: %w", abs, err)
	}
	// SQLite runs in the calling goroutine: more connections than cores
	// add nothing but memory. Idle ones are kept, so that a burst does not
	// open (and configure) new ones.
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	s := &Store{db: db, writer: make(chan struct{}, 1)}
	if err := s.init(ctx, abs); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// dsn is the modernc.org/sqlite data source name of the file at abs, an
// absolute path: a file: URI (so that a '?' or '#' in the path is part of
// it) with the connection settings every connection of the pool applies.
func dsn(abs string, cfg config) string {
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows path: file:/C:/...
	}
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", fmt.Sprint(cfg.busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	return "file:" + p + "?" + q.Encode()
}

// init checks the connection settings, migrates the schema and prepares
// the statements of the read paths.
func (s *Store) init(ctx context.Context, abs string) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("jwtguard/sqlite: open %s: %w", abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("jwtguard/sqlite: open %s: journal mode is %q, not WAL", abs, mode)
	}
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("jwtguard/sqlite: %s: %w", abs, err)
	}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.revoked, revokedQuery},
		{&s.lookupSession, lookupSessionQuery},
		{&s.lookupUser, "SELECT " + userColumns + " FROM users WHERE name_key = ?"},
		{&s.lookupUserByID, "SELECT " + userColumns + " FROM users WHERE id = ?"},
	} {
		stmt, err := s.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("jwtguard/sqlite: %s: prepare: %w", abs, err)
		}
		*p.stmt = stmt
	}
	return nil
}

// Close closes the database. Calls after it fail; calls still running
// when it is called may fail too.
func (s *Store) Close() error {
	return s.db.Close()
}

// write runs f in a write transaction (BEGIN IMMEDIATE), after the write
// transactions of this Store that came first. When f fails, the
// transaction is rolled back and f's error returned; otherwise it is
// committed and f's refusal (nil, or an error that the caller is to see
// although what f wrote stands, such as a reuse that revoked a session)
// returned.
func (s *Store) write(ctx context.Context, f func(tx *sql.Tx) (refusal, err error)) error {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("jwtguard/sqlite: %w", context.Cause(ctx))
	}
	defer func() { <-s.writer }()
	return s.inTx(ctx, f)
}

// inTx is write's transaction; s.writer must be held.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) (refusal, err error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("jwtguard/sqlite: begin: %w", err)
	}
	refusal, err := f(tx)
	if err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("jwtguard/sqlite: commit: %w", err)
	}
	return refusal
}

// isConstraint reports whether err is SQLite's refusal of a row that a
// UNIQUE or PRIMARY KEY constraint forbids.
func isConstraint(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// The times a Store keeps are Unix microseconds, in INTEGER columns, so
// that SQL compares them as the instants they are.

// micros is t in Unix microseconds, rounded toward the past.
func micros(t time.Time) int64 { return t.UnixMicro() }

// microsUp is t in Unix microseconds, rounded toward the future.
func microsUp(t time.Time) int64 {
	m := t.UnixMicro()
	if time.UnixMicro(m).Before(t) {
		m++
	}
	return m
}

// fromMicros is the instant m, in UTC.
func fromMicros(m int64) time.Time { return time.UnixMicro(m).UTC() }

// Compile-time checks of the interfaces a Store implements.
var (
	_ jwtguard.SessionStore = (*Store)(nil)
	_ jwtguard.UserWriter   = (*Store)(nil)
)

package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jwtguard/jwtguard"
)

// Store is a [jwtguard.SessionStore] and a [jwtguard.UserWriter] kept in
// one schema of a PostgreSQL database, through a pool of connections
// (pgxpool). Open it with [Open]; close it with [Store.Close]. It is safe
// for concurrent use, and so are any number of Stores, in one process or
// in many (the replicas of a service), opened on the same schema: each
// method is one statement or one transaction, and those that read before
// they write lock the rows they decide on first (see
// [Store.RotateSession]).
type Store struct {
	pool    *pgxpool.Pool
	schema  string // as given
	quoted  string // the schema as an SQL identifier
	timeout time.Duration

	// The statements of the read paths, with the schema in them.
	revoked, lookupSession, lookupUser, lookupUserByID string

	// sweepMu guards swept and sweeping.
	sweepMu sync.Mutex
	// swept is when the last sweep of expired rows ran, by the times the
	// calls gave; sweeping is whether one runs now.
	swept    time.Time
	sweeping bool
}

// An Option configures [Open].
type Option func(*config)

type config struct {
	schema  string
	timeout time.Duration
}

// DefaultSchema is the schema a Store keeps its tables in unless
// [WithSchema] names another.
const DefaultSchema = "jwtguard"

// DefaultTimeout is how long a call of a Store may take unless
// [WithTimeout] says otherwise.
const DefaultTimeout = 2 * time.Second

// WithSchema keeps the Store's tables in the schema name (created by
// [Open] when it does not exist), so that several Stores, or a Store and
// the application's own tables, keep apart in one database. The name is
// used as given, quoted as an identifier: letter case counts, and any
// characters PostgreSQL admits may be in it (at most 63 bytes). Default:
// [DefaultSchema], "jwtguard".
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithTimeout bounds every call of the Store, [Open] included, to d on
// top of its context, so that a database that stops answering (a host
// gone from the network, a server frozen or overloaded) makes calls fail
// after d rather than hang: the connection a call was using is then
// closed, and the pool opens another for later calls. d covers waiting
// for a free connection of the pool, connecting, and every round trip of
// the call (a rotation makes four or five); a rotation's periodic sweep
// has a budget of its own, d per batch. Default: [DefaultTimeout], 2
// seconds; d must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// ErrSchemaTooNew is what [Open] returns, wrapped, for a schema that a
// newer version of this package migrated: it is not read, and nothing in
// it is changed.
var ErrSchemaTooNew = errors.New("jwtguard/postgres: the database's schema is newer than this version of the package knows")

// Open connects to the PostgreSQL database that connString names (a URL,
// postgres://user:password@host:5432/dbname?sslmode=verify-full, or
// libpq's key=value form; pgxpool's settings, such as pool_max_conns,
// may be added to it, and the PG* environment variables fill in what it
// leaves out) and brings the Store's schema up to date: it creates the
// schema and its tables in a new database, applies to an older schema the
// migrations it lacks and changes nothing in one that is up to date, in
// one transaction that holds an advisory lock, so that replicas that
// start at once migrate one after another. It refuses a schema that is
// newer than this package knows with an error wrapping [ErrSchemaTooNew].
// Open fails when it cannot connect or migrate before ctx ends or the
// Store's timeout ([WithTimeout]) passes; its errors never quote the
// password.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	cfg := config{schema: DefaultSchema, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.schema == "":
		return nil, errors.New("jwtguard/postgres: WithSchema needs a name")
	case len(cfg.schema) > 63:
		return nil, fmt.Errorf("jwtguard/postgres: schema name of %d bytes; PostgreSQL's names have at most 63", len(cfg.schema))
	case !validText(cfg.schema):
		return nil, errors.New("jwtguard/postgres: a schema name must be UTF-8 without NUL")
	case cfg.timeout <= 0:
		return nil, fmt.Errorf("jwtguard/postgres: timeout %v; want a positive one", cfg.timeout)
	}
	pcfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, parseError(connString, err)
	}
	where := fmt.Sprintf("%s database %s", hostPort(pcfg.ConnConfig.Config), pcfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), pcfg)
	if err != nil {
		return nil, fmt.Errorf("jwtguard/postgres: %s: %w", where, err)
	}
	q := pgx.Identifier{cfg.schema}.Sanitize()
	s := &Store{pool: pool, schema: cfg.schema, quoted: q, timeout: cfg.timeout}
	s.revoked = s.q(revokedQuery)
	s.lookupSession = s.q("SELECT " + sessionColumns + " FROM {s}.tokens t JOIN {s}.sessions s ON s.id = t.session_id WHERE t.hash = $1")
	s.lookupUser = s.q("SELECT " + userColumns + " FROM {s}.users WHERE name_key = $1")
	s.lookupUserByID = s.q("SELECT " + userColumns + " FROM {s}.users WHERE id = $1")
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("jwtguard/postgres: %s, schema %s: %w", where, q, err)
	}
	return s, nil
}

// hostPort is the first host of c and its port.
func hostPort(c pgconn.Config) string {
	if strings.HasPrefix(c.Host, "/") {
		return fmt.Sprintf("socket %s/.s.PGSQL.%d", c.Host, c.Port)
	}
	return fmt.Sprintf("%s:%d", c.Host, c.Port)
}

// passwordField finds a password in a key=value connection string.
var passwordField = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// parseError reports a connection string that pgx cannot parse. pgx's
// message quotes the string with the password redacted where it can
// recognise one, which it cannot always (a backslash-escaped space in a
// key=value password ends its redaction early): the string is left out,
// and so is the rest of the message when it holds what looks like the
// password.
func parseError(connString string, err error) error {
	var pws []string
	if u, uerr := url.Parse(connString); uerr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			pws = append(pws, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	for _, m := range passwordField.FindAllStringSubmatch(connString, -1) {
		pws = append(pws, strings.Trim(m[1], "'"))
	}
	if i := strings.Index(connString, "@"); i > 0 {
		// A URL too broken to parse: what lies between "scheme://" and
		// the last "@" may hold the password.
		head := connString[:strings.LastIndex(connString, "@")]
		head = head[strings.Index(head, "//")+1:]
		if j := strings.Index(head, ":"); j >= 0 && j+1 < len(head) {
			pws = append(pws, head[j+1:])
		}
	}
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// "cannot parse `<the string, redacted>`: <why>": only why.
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			msg = msg[i+len("`: "):]
		} else {
			return errors.New("jwtguard/postgres: the connection string does not parse")
		}
	}
	for _, pw := range pws {
		if pw != "" && strings.Contains(msg, pw) {
			return errors.New("jwtguard/postgres: the connection string does not parse (pgx's message is left out: it would quote the password)")
		}
	}
	return fmt.Errorf("jwtguard/postgres: the connection string does not parse: %s", msg)
}

// Close closes the Store's connections, after waiting for the calls that
// are using them. Calls after it fail.
func (s *Store) Close() {
	s.pool.Close()
}

// q is query with its {s} replaced by the Store's schema.
func (s *Store) q(query string) string {
	return strings.ReplaceAll(query, "{s}", s.quoted)
}

// bound is ctx bounded by the Store's timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, s.timeout, errTimeout)
}

// inTx runs f in a transaction (READ COMMITTED) bounded by the Store's
// timeout. When f fails, the transaction is rolled back and f's error
// returned; otherwise it is committed and f's refusal (nil, or an error
// the caller is to see although what f wrote stands, such as a reuse that
// revoked a session) returned.
func (s *Store) inTx(ctx context.Context, what string, f func(ctx context.Context, tx pgx.Tx) (refusal, err error)) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.fail(ctx, what, err)
	}
	refusal, err := f(ctx, tx)
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return s.fail(ctx, what+": commit", err)
	}
	return refusal
}

// fail wraps err, a failure of what, naming the Store's timeout when it
// may have ended the call.
func (s *Store) fail(ctx context.Context, what string, err error) error {
	return fmt.Errorf("jwtguard/postgres: %w", s.why(ctx, what, err))
}

// why is fail without the package's prefix.
func (s *Store) why(ctx context.Context, what string, err error) error {
	switch cause := context.Cause(ctx); {
	case cause == nil:
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(cause, errTimeout):
		return fmt.Errorf("%s: %w (the Store's timeout of %v passed)", what, err, s.timeout)
	default:
		return fmt.Errorf("%s: %w (the caller's context ended: %v)", what, err, cause)
	}
}

// errTimeout is the cause of the end of a call's context that the Store's
// timeout ended.
var errTimeout = errors.New("jwtguard/postgres: the Store's timeout passed")

// isUnique reports whether err is PostgreSQL's refusal of a row that a
// UNIQUE or PRIMARY KEY constraint forbids, and names the constraint.
func isUnique(err error) (constraint string, ok bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == "23505" {
		return e.ConstraintName, true
	}
	return "", false
}

// validText reports whether PostgreSQL's text can hold str: UTF-8 (the
// database's encoding) without NUL. A lookup of a string it cannot hold
// finds nothing.
func validText(str string) bool {
	return utf8.ValidString(str) && !strings.ContainsRune(str, 0)
}

// The times a Store keeps are timestamptz, PostgreSQL's instants to the
// microsecond; every time is rounded before it is sent, so that the
// rounding is the Store's choice and not the driver's.

// micros is t to the microsecond, rounded toward the past.
func micros(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// microsUp is t to the microsecond, rounded toward the future.
func microsUp(t time.Time) time.Time {
	m := micros(t)
	if m.Before(t) {
		m = m.Add(time.Microsecond)
	}
	return m
}

// Compile-time checks of the interfaces a Store implements.
var (
	_ jwtguard.SessionStore = (*Store)(nil)
	_ jwtguard.UserWriter   = (*Store)(nil)
)

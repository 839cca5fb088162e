package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
)

// Store is a [jwtguard.SessionStore], a [jwtguard.Throttle] and a
// [jwtguard.ReplayCache] kept in Redis. Open it with [Open] (or [New] on a client of your own); close it
// with [Store.Close]. It is safe for concurrent use, and so are any number
// of Stores, in one process or in many, on the same server and prefix:
// every method that writes is one Lua script, which Redis runs alone, so
// that of concurrent rotations of one token exactly one wins wherever
// they come from, and so does one of concurrent uses of a DPoP proof. Every call is bounded by the Store's timeout
// ([WithTimeout]) on top of its context's deadline, so that a server that
// goes away fails calls rather than hanging them.
type Store struct {
	c      goredis.UniversalClient
	own    bool          // Close closes c
	prefix string        // before every key
	skeys  string        // prefix + "{s}:": the session keys, one hash slot
	limit  time.Duration // per call
	log    *slog.Logger
}

// An Option configures [Open] and [New].
type Option func(*config)

type config struct {
	prefix     string
	timeout    time.Duration
	log        *slog.Logger
	nonDurable bool
}

// Defaults of the options.
const (
	defaultPrefix  = "jwtguard:"
	defaultTimeout = time.Second
)

// WithPrefix sets the prefix of every key the Store writes, so that
// several applications (or tests) can share a server without seeing each
// other's data. Stores that share sessions must share the prefix. It must
// not contain '{' or '}' (the session keys' hash tag follows it). Default:
// "jwtguard:".
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithTimeout bounds every call of the Store, on top of its context: a
// call that Redis has not answered within d fails (the login and refresh
// handlers then answer 503, and Verify refuses the request). It also
// bounds the client's dials, reads, writes and waits for a pooled
// connection, when [Open] makes the client. Default: 1 second; it must be
// positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithLogger sets the logger of the warning that [AcceptNonDurable]
// allows. Default: [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

// AcceptNonDurable lets [Open] and [New] accept a server that fails the
// durability check ([ErrNotDurable]), or one whose settings cannot be
// read, with a warning logged at Warn level instead of an error. Such a
// server may forget revocations (a logout, a detected reuse, a password
// change's "log out everywhere") and the DPoP proofs it recorded (a
// forgotten proof's replay is accepted) when it restarts or runs out of
// memory: use it only where that is acceptable, as in development.
func AcceptNonDurable() Option {
	return func(c *config) { c.nonDurable = true }
}

// ErrNotDurable is what [Open] and [New] return, wrapped with what the
// server said, for a Redis that may forget what the Store keeps: without
// AOF persistence (appendonly yes), a restart loses every write since the
// last snapshot; with a maxmemory-policy other than noeviction, a full
// server evicts keys, and an evicted revocation lets a revoked session's
// tokens work again (an evicted DPoP proof lets its replay through). Set both in the server's configuration (redis.conf,
// or the managed service's parameters):
//
//	appendonly yes
//	maxmemory-policy noeviction
//
// [AcceptNonDurable] opens such a server anyway, with a warning.
var ErrNotDurable = errors.New("jwtguard/redis: the Redis server may forget revocations; set appendonly yes and maxmemory-policy noeviction")

// Open connects to the Redis server at rawURL, a redis:// or rediss://
// (TLS) URL as go-redis's ParseURL reads it
// (redis://user:password@host:6379/0?dial_timeout=3s), checks that it
// answers and that it is durable (see [ErrNotDurable]; refused unless
// [AcceptNonDurable]), and returns a Store on it. The client it makes
// does not retry a failed command (a rotation whose answer was lost must
// not be run again: its retry would be reuse), times out dials, reads and
// writes after the Store's timeout ([WithTimeout]), and honours the
// deadlines of contexts. A connection failure is an error that names the
// server without the URL's password. ctx bounds the opening.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	ro, err := goredis.ParseURL(rawURL)
	if err != nil {
		// url.Parse's errors quote the URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("jwtguard/redis: cannot read the Redis URL: %w", err)
	}
	ro.DialTimeout = cfg.timeout
	ro.ReadTimeout = cfg.timeout
	ro.WriteTimeout = cfg.timeout
	ro.PoolTimeout = cfg.timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1 // no command is run twice
	ro.DialerRetries = 1
	c := goredis.NewClient(ro)
	s, err := newStore(ctx, c, true, cfg, redacted(rawURL))
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store on a client of the caller's: a Sentinel-managed
// server (goredis.NewFailoverClient) or a Cluster (goredis.NewClusterClient;
// see the package documentation). It checks the server as [Open] does
// (on a Cluster, the node that the client sends CONFIG GET to).
// The client should not retry commands (MaxRetries -1) and should honour
// contexts' deadlines (ContextTimeoutEnabled), so that the Store's timeout
// holds. [Store.Close] does not close it.
func New(ctx context.Context, client goredis.UniversalClient, opts ...Option) (*Store, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	return newStore(ctx, client, false, cfg, "the Redis server")
}

func configure(opts []Option) (config, error) {
	cfg := config{prefix: defaultPrefix, timeout: defaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case strings.ContainsAny(cfg.prefix, "{}"):
		return cfg, fmt.Errorf("jwtguard/redis: the key prefix %q contains a brace", cfg.prefix)
	case cfg.timeout <= 0:
		return cfg, fmt.Errorf("jwtguard/redis: the timeout %v is not positive", cfg.timeout)
	}
	if cfg.log == nil {
		cfg.log = slog.Default()
	}
	return cfg, nil
}

// newStore checks the server that c reaches (named where in errors).
func newStore(ctx context.Context, c goredis.UniversalClient, own bool, cfg config, where string) (*Store, error) {
	s := &Store{c: c, own: own, prefix: cfg.prefix, skeys: cfg.prefix + "{s}:", limit: cfg.timeout, log: cfg.log}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("jwtguard/redis: cannot reach %s: %w", where, err)
	}
	if err := checkDurable(ctx, c); err != nil {
		if !cfg.nonDurable {
			return nil, fmt.Errorf("%w (server %s)", err, where)
		}
		cfg.log.LogAttrs(ctx, slog.LevelWarn,
			"jwtguard/redis: the Redis server may forget revocations (a logout, a detected refresh-token reuse, a password change) and recorded DPoP proofs (whose replays then pass) when it restarts or fills up; AcceptNonDurable lets the store open anyway",
			slog.String("server", where), slog.String("error", err.Error()))
	}
	return s, nil
}

// redacted is rawURL without its password, for errors and logs.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "the Redis server"
	}
	return u.Redacted()
}

// checkDurable returns an error wrapping ErrNotDurable unless the server
// has AOF persistence on and the noeviction policy. It reads CONFIG GET,
// or, where CONFIG is disabled or not allowed (managed services), the
// persistence and memory sections of INFO.
func checkDurable(ctx context.Context, c goredis.UniversalClient) error {
	aof, policy, err := configSettings(ctx, c)
	if err != nil {
		var infoErr error
		if aof, policy, infoErr = infoSettings(ctx, c); infoErr != nil {
			return fmt.Errorf("%w (cannot read its settings: CONFIG GET: %v; INFO: %v)", ErrNotDurable, err, infoErr)
		}
	}
	var wrong []string
	if aof != "yes" {
		wrong = append(wrong, fmt.Sprintf("appendonly is %q, not yes", aof))
	}
	if policy != "noeviction" {
		wrong = append(wrong, fmt.Sprintf("maxmemory-policy is %q, not noeviction", policy))
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%w (%s)", ErrNotDurable, strings.Join(wrong, "; "))
	}
	return nil
}

func configSettings(ctx context.Context, c goredis.UniversalClient) (aof, policy string, err error) {
	for _, p := range []struct {
		name string
		v    *string
	}{{"appendonly", &aof}, {"maxmemory-policy", &policy}} {
		m, err := c.ConfigGet(ctx, p.name).Result()
		if err != nil {
			return "", "", err
		}
		v, ok := m[p.name]
		if !ok {
			return "", "", fmt.Errorf("no %s in the answer", p.name)
		}
		*p.v = v
	}
	return aof, policy, nil
}

func infoSettings(ctx context.Context, c goredis.UniversalClient) (aof, policy string, err error) {
	info, err := c.Info(ctx, "persistence", "memory").Result()
	if err != nil {
		return "", "", err
	}
	fields := map[string]string{}
	for line := range strings.SplitSeq(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	enabled, ok1 := fields["aof_enabled"]
	policy, ok2 := fields["maxmemory_policy"]
	if !ok1 || !ok2 {
		return "", "", errors.New("no aof_enabled or maxmemory_policy in INFO")
	}
	aof = "no"
	if enabled == "1" {
		aof = "yes"
	}
	return aof, policy, nil
}

// bound is ctx bounded by the Store's timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.limit)
}

// Close closes the client that [Open] made; calls after it fail. A Store
// of [New] leaves its client open.
func (s *Store) Close() error {
	if !s.own {
		return nil
	}
	return s.c.Close()
}

// Compile-time checks of the interfaces a Store implements.
var (
	_ jwtguard.SessionStore = (*Store)(nil)
	_ jwtguard.Throttle     = (*Store)(nil)
	_ jwtguard.ReplayCache  = (*Store)(nil)
)

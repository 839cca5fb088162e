package jwtguard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Defaults. Each option's doc comment names the default it overrides.
const (
	defaultTokenLifetime = 15 * time.Minute
	defaultLeeway        = 10 * time.Second
	// Tokens issued by jwtguard are a few hundred bytes.
	defaultMaxTokenSize = 4096
	defaultRealm        = "api"
	// DefaultMaxLoginBodySize bounds a login request body, in bytes.
	DefaultMaxLoginBodySize = 4096
	// DefaultLoginWait is how long a login waits for password-hashing
	// capacity before it is answered 503.
	DefaultLoginWait = time.Second
)

// config is what the options set; New validates it once.
type config struct {
	issuer           string
	audience         string
	lifetime         time.Duration
	leeway           time.Duration
	now              func() time.Time
	logger           *slog.Logger
	errorHandler     ErrorHandler
	realm            string
	cookie           string
	queryParam       string
	maxTokenSize     int
	rolesClaim       []string
	claims           func(context.Context, User) (map[string]any, error)
	bcryptCost       int
	loginConcurrency int
	loginWait        time.Duration
	maxLoginBody     int64
	accountBurst     int
	accountEvery     time.Duration
	addressBurst     int
	addressEvery     time.Duration
	throttleCapacity int
	trustedProxies   []netip.Prefix
	forwardedHeader  string
	tokenType        string
	procs            int     // GOMAXPROCS when New ran
	cpuShare         float64 // of procs, for the derived password budget
	budgetPerSecond  float64 // > 0: a fixed password budget
	budgetBurst      int
	budgetOff        bool
	maxWaitingLogins int
	optionErr        error // the first option that could not be applied
}

func defaultConfig() config {
	return config{
		lifetime:         defaultTokenLifetime,
		leeway:           defaultLeeway,
		now:              time.Now,
		realm:            defaultRealm,
		maxTokenSize:     defaultMaxTokenSize,
		bcryptCost:       DefaultBcryptCost,
		loginConcurrency: runtime.GOMAXPROCS(0),
		loginWait:        DefaultLoginWait,
		maxLoginBody:     DefaultMaxLoginBodySize,
		accountBurst:     DefaultAccountBurst,
		accountEvery:     DefaultAccountEvery,
		throttleCapacity: DefaultThrottleCapacity,
		forwardedHeader:  "X-Forwarded-For",
		procs:            runtime.GOMAXPROCS(0),
		cpuShare:         DefaultPasswordCPUShare,
		maxWaitingLogins: DefaultMaxWaitingLogins,
	}
}

// An Option configures an Auth. Options are applied in order by New, which
// then validates the result once; a later option overrides an earlier one.
type Option func(*config)

// WithIssuer sets the iss claim of issued tokens and requires it on verified
// ones. Default: none set, none required.
func WithIssuer(iss string) Option { return func(c *config) { c.issuer = iss } }

// WithAudience sets the aud claim of issued tokens and requires verified
// tokens to name it (a string equal to it, or an array containing it).
// Default: none set, and tokens that carry an aud claim are refused, since
// this service cannot be the audience they name (RFC 7519 §4.1.3).
func WithAudience(aud string) Option { return func(c *config) { c.audience = aud } }

// WithTokenType turns on explicit typing (RFC 8725 §3.11): issued tokens
// carry typ, and verified tokens must carry it too (compared ignoring case
// and an "application/" prefix), so that a token of another kind signed
// with the same key, an ID token say, is not taken for an access token.
// RFC 9068 access tokens use "at+jwt". Default: typ "JWT" on issued tokens,
// typ not checked.
func WithTokenType(typ string) Option { return func(c *config) { c.tokenType = typ } }

// WithTokenLifetime sets how long issued access tokens are valid. Default:
// 15 minutes. It must be positive.
func WithTokenLifetime(d time.Duration) Option { return func(c *config) { c.lifetime = d } }

// WithLeeway sets the clock skew tolerated when checking exp, nbf and iat.
// Default: 10 seconds. It must be between 0 and 5 minutes.
func WithLeeway(d time.Duration) Option { return func(c *config) { c.leeway = d } }

// WithClock replaces time.Now for issuing and verifying tokens, for tests.
// Default: time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets where refusals and their real reasons are logged. Tokens and
// passwords are never logged. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithErrorHandler replaces the handler that answers every refusal. Default:
// WriteError.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.errorHandler = h } }

// WithRealm sets the realm of WWW-Authenticate challenges. Default:
// "api". It must be printable ASCII without '"' or '\'.
func WithRealm(realm string) Option { return func(c *config) { c.realm = realm } }

// WithCookie makes Verify also read the token from the named cookie when the
// request has no Bearer Authorization header; the header wins when both are
// present. Default: cookies are not read.
func WithCookie(name string) Option { return func(c *config) { c.cookie = name } }

// WithQueryParameter makes Verify also read the token from the named URL
// query parameter (RFC 6750 §2.3 uses "access_token"). Query strings end up
// in logs, browser history and Referer headers, so this is off by default;
// enable it only for clients that cannot send headers. A request that sends
// a token both in the query and in a header or cookie is refused.
func WithQueryParameter(name string) Option { return func(c *config) { c.queryParam = name } }

// WithMaxTokenSize bounds the length of a token in bytes; longer tokens are
// refused before they are parsed. Default: 4096.
func WithMaxTokenSize(n int) Option { return func(c *config) { c.maxTokenSize = n } }

// WithRolesClaim reads roles from the claim at path instead of the default
// "roles" array and "role" string claims. Each element of path is one JSON
// object key, so claim names containing dots need no escaping:
//
//	WithRolesClaim("realm_access", "roles")          // Keycloak
//	WithRolesClaim("https://example.com/roles")      // a namespaced claim
//
// The claim may be an array of strings or a single string. Default: "roles"
// and "role".
func WithRolesClaim(path ...string) Option {
	// Non-nil even when empty, so that New reports an empty path.
	return func(c *config) { c.rolesClaim = append(make([]string, 0, len(path)), path...) }
}

// WithClaims adds claims to every token the Auth issues: from Issue, from
// LoginHandler, and from the refresh handler when it comes. claims is
// called once per token with the user the token is for; the names and
// values it returns go into the token as they are (values encoded with
// encoding/json). An error from claims, or a value encoding/json cannot
// encode, fails the issue with ErrInternal.
//
// Names that Verify decides on are jwtguard's and cannot be added: the
// registered claims (iss, sub, aud, exp, nbf, iat, jti), username, roles,
// role, id, scope, sid, cnf, and the first name of the WithRolesClaim path;
// a token that would carry one fails the issue with ErrInternal. One
// exception serves Node services that read the tutorials' payload style
// ({id, username, role}): id may be added when it is the user's own ID, and
// role when it is the user's first role.
//
//	jwtguard.WithClaims(func(ctx context.Context, u jwtguard.User) (map[string]any, error) {
//		return map[string]any{"tenant": tenantOf(u), "id": u.ID, "role": u.Roles[0]}, nil
//	})
//
// Default: none.
func WithClaims(claims func(ctx context.Context, u User) (map[string]any, error)) Option {
	return func(c *config) { c.claims = claims }
}

// WithBcryptCost sets the bcrypt cost that the login handler's dummy hash
// (compared for unknown users, so they take as long as known ones) starts
// with. It should match the cost of the hashes in the UserStore; once the
// handler has seen real hashes it uses the highest of their costs. Default:
// DefaultBcryptCost (10). It must be between 4 and 31.
func WithBcryptCost(cost int) Option { return func(c *config) { c.bcryptCost = cost } }

// WithLoginConcurrency bounds how many bcrypt comparisons the login handler
// runs at once. Default: runtime.GOMAXPROCS(0) at the time New runs. It must
// be at least 1.
func WithLoginConcurrency(n int) Option { return func(c *config) { c.loginConcurrency = n } }

// WithLoginWait sets how long a login waits for password-hashing budget and
// a free comparison slot before it is refused with 503 and Retry-After. A
// login that cannot get budget within the wait is held for the whole wait
// before its 503 (a tarpit: a flood's refused guesses come back slowly,
// costing the server no CPU while they wait). Default: DefaultLoginWait
// (1 s). It must not be negative; 0 refuses at once.
func WithLoginWait(d time.Duration) Option { return func(c *config) { c.loginWait = d } }

// WithMaxLoginBodySize bounds a login request body in bytes; a larger body
// is refused with 413. Default: DefaultMaxLoginBodySize (4096).
func WithMaxLoginBodySize(n int64) Option { return func(c *config) { c.maxLoginBody = n } }

// WithAccountThrottle limits failed logins per account: per username, as
// strings.EqualFold compares them, and, once the UserStore has found the
// user, per User.ID as well, so that spellings the store maps to one user
// share a bucket however it folds them. It allows burst failures at once,
// then one more every interval; a login over the limit is refused with 429
// and Retry-After before any password is compared. Only failed logins whose
// password was compared cost a token: successful logins, and logins refused
// before a comparison (a password over 72 bytes, 503 for want of
// password-hashing budget), cost nothing. Default: DefaultAccountBurst (10)
// then one every DefaultAccountEvery (30 s). burst 0 turns it off.
//
// Logins from the client address of the account's last successful login
// count against a bucket of their own, so that an attacker guessing from
// elsewhere cannot keep the account's owner out for as long as the attack
// lasts. A user logging in from a new address while the account is under
// attack does wait: one attempt every interval.
//
// The owner's bucket needs distinct client addresses. Behind a reverse
// proxy, name it with WithTrustedProxies: otherwise every client has the
// proxy's address, the attacker shares the owner's bucket, and the owner
// waits with the attacker. A login whose address cannot be read is never
// the owner's. An attacker at the owner's own address (the same NAT, the
// same IPv6 /64) shares the owner's bucket whatever is configured.
func WithAccountThrottle(burst int, every time.Duration) Option {
	return func(c *config) { c.accountBurst, c.accountEvery = burst, every }
}

// WithAddressThrottle limits failed logins per client address (IPv6: per
// /64) the way WithAccountThrottle does per account. Default: off, because
// behind a reverse proxy every client shares the proxy's address until
// WithTrustedProxies names it; turn it on with the proxies configured.
func WithAddressThrottle(burst int, every time.Duration) Option {
	return func(c *config) { c.addressBurst, c.addressEvery = burst, every }
}

// WithTrustedProxies names the reverse proxies (addresses such as "10.0.0.5"
// or prefixes such as "10.0.0.0/8") whose forwarding header (see
// WithForwardedHeader) tells the client address. Requests from any other
// peer are keyed by RemoteAddr and their forwarding headers are ignored.
// Default: none.
func WithTrustedProxies(proxies ...string) Option {
	return func(c *config) {
		c.trustedProxies = nil
		for _, s := range proxies {
			p, err := parsePrefix(s)
			if err != nil {
				if c.optionErr == nil {
					c.optionErr = fmt.Errorf("jwtguard: trusted proxy %q: %w", s, err)
				}
				continue
			}
			c.trustedProxies = append(c.trustedProxies, p)
		}
	}
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// WithForwardedHeader names the one header from which a trusted proxy's
// client address is read: "X-Forwarded-For" (the default; nginx, HAProxy
// and the cloud load balancers set it) or "Forwarded" (RFC 7239). Only that
// header is read: a proxy that sets one usually passes the other through
// from the client unchanged, and reading it would let clients choose their
// own address.
func WithForwardedHeader(name string) Option {
	return func(c *config) { c.forwardedHeader = http.CanonicalHeaderKey(name) }
}

// WithThrottleCapacity bounds how many accounts, how many addresses, and how
// many returning users (the address of an account's last successful login)
// the login handlers remember. Only logins whose password was compared leave
// an account or address behind; past the bound the throttle forgets the
// fullest bucket (the one that has refilled most), and the returning users'
// table the least recently seen. Keys that a login in flight holds are never
// forgotten, so the throttle may hold more by the logins in flight. Each
// costs a few hundred bytes, whatever the username's length. Default:
// DefaultThrottleCapacity (65 536).
func WithThrottleCapacity(n int) Option { return func(c *config) { c.throttleCapacity = n } }

// WithPasswordCPUShare sets the share of the machine that bcrypt comparisons
// may take on average: comparisons start at most at share × GOMAXPROCS
// divided by the measured time of one comparison per second (at cost 10 on
// one core about 55 ms, so 10% of 2 cores is about 3.6 logins a second),
// with a burst of one second's worth (at least 4). A fifth of it is kept for
// returning users: an account logging in from the address of its last
// successful login, at most once a minute per account. Logins beyond the
// budget wait (WithLoginWait) and are then refused with 503 and
// Retry-After, so that a password-guessing flood cannot take the CPU from
// the rest of the service. The budget starts full. Default:
// DefaultPasswordCPUShare (0.10). It must be in (0, 1].
//
// For a login-heavy service, size it from the peak logins per second you
// expect: share = peak × seconds per comparison ÷ cores, with headroom; or
// set the rate itself with WithPasswordBudget.
func WithPasswordCPUShare(share float64) Option {
	return func(c *config) { c.cpuShare, c.budgetPerSecond, c.budgetOff = share, 0, false }
}

// WithPasswordBudget fixes the password-hashing budget at perSecond
// comparisons a second with the given burst (0: one second's worth, at
// least 4), split four to one between everyone and returning users like the
// rate, instead of deriving it from WithPasswordCPUShare. perSecond 0 turns the budget
// off, leaving only the concurrency bound (WithLoginConcurrency): then a
// login flood can keep every slot, and so that many cores, busy.
func WithPasswordBudget(perSecond float64, burst int) Option {
	return func(c *config) {
		c.budgetPerSecond, c.budgetBurst, c.budgetOff = perSecond, burst, perSecond == 0
	}
}

// WithMaxWaitingLogins bounds how many logins wait for budget or a slot at
// once; past it a login is refused with 503 at once, which gives up the
// tarpit's slowing of an attacker: keep it above the number of connections
// an attacker can hold open. Each waiting login
// holds a goroutine and its request. Default: DefaultMaxWaitingLogins
// (1024).
func WithMaxWaitingLogins(n int) Option { return func(c *config) { c.maxWaitingLogins = n } }

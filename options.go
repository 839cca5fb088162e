package jwtguard

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"
)

// Defaults. Each option's doc comment names the default it overrides.
const (
	defaultSessionLifetime = 7 * 24 * time.Hour
	defaultTokenLifetime   = 15 * time.Minute
	defaultLeeway          = 10 * time.Second
	// Tokens issued by jwtguard are a few hundred bytes.
	defaultMaxTokenSize = 4096
	defaultRealm        = "api"
)

// config is what the options set; New validates it once.
type config struct {
	issuer       string
	audience     string
	lifetime     time.Duration
	leeway       time.Duration
	now          func() time.Time
	logger       *slog.Logger
	errorHandler ErrorHandler
	realm        string
	cookie       string
	queryParam   string
	maxTokenSize int
	rolesClaim   []string
	issuers      []Issuer
	claims       func(context.Context, User) (map[string]any, error)
	tokenType    string
	login        LoginPolicy
	register     RegisterPolicy
	sessions     SessionStore
	// sessionLifetime and sessionIdle are a new session's absolute
	// lifetime and idle timeout (WithSessions).
	sessionLifetime time.Duration
	sessionIdle     time.Duration
	refreshGrace    time.Duration // WithRefreshGrace
	cookieMode      *CookieMode   // WithCookieMode
	trustedOrigins  []string      // JWT_TRUSTED_ORIGINS, for cookie mode
	tokenCache      int           // WithVerifiedTokenCache: bytes, 0 for none
	dpop            DPoPPolicy    // WithDPoP
	// envDPoP holds JWT_DPOP's mode and JWT_EXTERNAL_URL, which fill the
	// policy's Mode and ExternalURL where WithDPoP leaves them zero.
	envDPoP   DPoPPolicy
	optionErr error // the first option that could not be applied
}

func defaultConfig() config {
	return config{
		lifetime:     defaultTokenLifetime,
		leeway:       defaultLeeway,
		now:          time.Now,
		realm:        defaultRealm,
		maxTokenSize: defaultMaxTokenSize,
		// A week, as the default for JWT_REFRESH_EXPIRES_IN.
		sessionLifetime: defaultSessionLifetime,
	}
}

// An Option configures an [Auth]. Options are applied in order by [New], which
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
// 15 minutes. It must be between a second and 100 years (a NumericDate
// counts whole seconds).
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
// [WriteError].
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.errorHandler = h } }

// WithRealm sets the realm of WWW-[Auth.Authenticate] challenges. Default:
// "api". It must be printable ASCII without '"' or '\'.
func WithRealm(realm string) Option { return func(c *config) { c.realm = realm } }

// WithCookie makes [Auth.Verify] also read the token from the named cookie when the
// request has no Bearer Authorization header; the header wins when both are
// present. A cookie of the name with an empty value (as a logout leaves)
// carries no token; two non-empty cookies of the name, or one whose value
// net/http's cookie parser drops (a '\', a '"' inside, a control or
// non-ASCII byte), are refused with ErrInvalidRequest (400), also by
// VerifyOptional. Default: cookies are not read.
func WithCookie(name string) Option { return func(c *config) { c.cookie = name } }

// WithQueryParameter makes [Auth.Verify] also read the token from the named URL
// query parameter (RFC 6750 §2.3 uses "access_token"). Query strings end up
// in logs, browser history and Referer headers, so this is off by default;
// enable it only for clients that cannot send headers. A request that sends
// a token both in the query and in a header or cookie is refused. name must
// be an RFC 9110 token without '%', '+', '&', ';', '=' or '#'. The query
// is read more strictly than url.Query reads it, so that no pair it skips can
// hide a token: pairs are split at '&' and ';', and the parameter given twice,
// a malformed %-escape in its value, or one in any parameter name, is
// refused with ErrInvalidRequest (400).
func WithQueryParameter(name string) Option { return func(c *config) { c.queryParam = name } }

// WithMaxTokenSize bounds the length of a token in bytes; longer tokens are
// refused before they are parsed. Default: 4096.
func WithMaxTokenSize(n int) Option { return func(c *config) { c.maxTokenSize = n } }

// WithVerifiedTokenCache keeps tokens that verified, up to maxBytes of
// memory, so that a token presented again skips its signature check: for
// RS256, PS256, ES256 and EdDSA, tens of microseconds of a request's time
// (BENCHMARKS.md). HMAC tokens gain little. Default: no cache; 0 turns it
// off, and a budget under 32 KiB is an error. Each entry costs its token's
// length, its payload's and about 500 bytes: 16 MiB hold some 15,000 of
// jwtguard's own tokens (a few hundred bytes each), half as many of a
// kilobyte.
//
// Only the signature's check and the payload's decoding are skipped. A
// token is served from the cache only when it is byte for byte one that
// verified, under a key its kid still resolves to (a key removed from its
// [KeySet], or replaced in a JWKS, ends its tokens' entries); its time
// claims are checked against the clock on every request, so it is
// accepted exactly while an uncached token is; and revocation
// ([WithSessions]) is asked on every request, as without the cache, so
// that a logout takes effect as soon as the store has it, with no lag of
// the cache's own. [Stats] counts its hits and misses.
func WithVerifiedTokenCache(maxBytes int) Option {
	return func(c *config) { c.tokenCache = maxBytes }
}

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

// WithClaims adds claims to every token the [Auth] issues: from [Auth.Issue], from
// [Auth.LoginHandler], and from the refresh handler when it comes. claims is
// called once per token with the user the token is for; the names and
// values it returns go into the token as they are (values encoded with
// encoding/json). An error from claims, or a value encoding/json cannot
// encode, fails the issue with [ErrInternal].
//
// Names that [Auth.Verify] decides on are jwtguard's and cannot be added: the
// registered claims (iss, sub, aud, exp, nbf, iat, jti), username, roles,
// role, id, scope, sid, cnf, and the first name of the [WithRolesClaim] path,
// compared without regard to letter case as strings.EqualFold compares
// (a service that decodes our tokens with encoding/json would read "EXP"
// as exp); a token that would carry one, or two names that differ only in
// letter case, fails the issue with [ErrInternal]. One
// exception serves Node services that read the tutorials' payload style
// ({id, username, role}): id may be added when it is the user's own ID, and
// role when it is the user's first role.
//
//	jwtguard.WithClaims(func(ctx context.Context, u jwtguard.User) (map[string]any, error) {
//		claims := map[string]any{"tenant": tenantOf(u), "id": u.ID}
//		if len(u.Roles) > 0 {
//			claims["role"] = u.Roles[0]
//		}
//		return claims, nil
//	})
//
// Default: none.
func WithClaims(claims func(ctx context.Context, u User) (map[string]any, error)) Option {
	return func(c *config) { c.claims = claims }
}

// WithLoginPolicy sets how [Auth.LoginHandler] defends logins. Default: the zero
// [LoginPolicy], whose fields' comments state the defaults.
func WithLoginPolicy(p LoginPolicy) Option {
	return func(c *config) {
		c.login = p
		c.login.TrustedProxies = slices.Clone(p.TrustedProxies)
	}
}

// WithSessions gives the [Auth] a [SessionStore]. Verify (and
// VerifyOptional and Authenticate) then refuses, as ErrInvalidToken, a
// token whose session (its sid claim) is revoked, past its end or unknown
// to the store, or whose jti a logout denied; a token with neither claim
// is not looked up. A store that fails makes Verify answer 503 with
// Retry-After (ErrOverloaded), never believe the token unchecked, and the
// failure is logged at Error level. The check adds one store call to every
// request that carries a sid or a jti ([NewMemorySessionStore]'s takes
// 55–70 ns on one or two busy cores: BenchmarkMemorySessionStoreRevoked;
// BenchmarkVerifySessions runs Verify with and without it). The login handler then starts a
// session at every login ([WithSessionLifetime]), returns its refresh
// token beside the access token, and puts the session's ID in the access
// token's sid claim. Default: none: Verify stays stateless, and logins
// return an access token only.
func WithSessions(s SessionStore) Option {
	return func(c *config) {
		if s == nil && c.optionErr == nil {
			c.optionErr = errors.New("jwtguard: WithSessions needs a store")
		}
		c.sessions = s
	}
}

// WithSessionLifetime sets how long a session, and so its refresh tokens,
// lasts from the login that starts it (fixed then, never extended by a
// refresh), and its idle timeout: how long it survives without a refresh
// (0: no idle timeout). The access tokens issued in a session expire no
// later than it: at its end, and at most the idle timeout after they are
// issued (so an idle timeout shorter than WithTokenLifetime shortens the
// access tokens). Default: 7 days, no idle timeout.
func WithSessionLifetime(lifetime, idle time.Duration) Option {
	return func(c *config) { c.sessionLifetime, c.sessionIdle = lifetime, idle }
}

// Package jwtguard secures net/http services with JSON Web Tokens: a [Auth.Verify]
// middleware that turns a Bearer token into claims in the request context,
// [Auth.Authorize] middleware for role and scope checks, and a [Auth.LoginHandler] that
// checks a password against a [UserStore] and issues signed tokens. With
// a [SessionStore] ([WithSessions]), logins also issue refresh tokens,
// which [Auth.RefreshHandler] rotates with reuse detection, and
// [Auth.LogoutHandler] ends sessions, whose access tokens Verify then
// refuses.
//
// The safe choice is the default: tokens are pinned to the algorithm of the
// [Key] they are checked with, must carry exp, are bounded in size and strictly
// decoded; refusals answer [RFC 6750] challenges with fixed bodies while the
// real reason goes to log/slog; logins compare in constant time against a
// dummy hash for unknown users and bound the bcrypt work they do at once.
//
// The package example below is a whole server: [FromEnv] or [New] with a [Key],
// [Auth.LoginHandler] on a [UserStore], [Auth.Verify] on a route for any signed-in user and
// [Auth.Authorize] on one for admins. SECURITY.md in the repository maps
// each defence to its test and to [RFC 8725].
//
// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
// [RFC 8725]: https://www.rfc-editor.org/rfc/rfc8725
package jwtguard

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/internal/fold"
	"github.com/jwtguard/jwtguard/internal/guard"
	"github.com/jwtguard/jwtguard/internal/token"
)

// Auth verifies and issues tokens with one configuration. Create it with [New]
// or [FromEnv]; it is immutable afterwards and safe for concurrent use by any
// number of goroutines. The zero [Auth] is unusable: its middleware
// constructors and [Auth.LoginHandler] panic with a message that says so, and
// [Auth.Issue] returns an error.
type Auth struct {
	cfg          config
	log          *slog.Logger
	errorHandler ErrorHandler
	verifier     *token.Verifier
	issuers      map[string]*issuerRules // WithIssuers, by iss; nil without
	keys         KeySource
	signingKey   func() *token.Key // the key Issue signs with; nil when none can (a remote JWKS), or returning nil (a KeySet without an active key)
	challenges   *challenges       // WWW-Authenticate values for the configured realm
	fixed        fixedRefusalErrors
	refusals     [len(refusalReasons)]atomic.Uint64
	warnings     *warnings
	guard        *guard.Guard // the login defences
	maxLoginBody int64
	register     registerConfig
	cookies      *cookies     // cookie mode, nil when off
	tokenCache   *token.Cache // WithVerifiedTokenCache, shared by every issuer's verifier; nil when off
	dpop         *dpopConfig  // WithDPoP, resolved; never nil
	// dpopChallenges are the DPoP challenges of the refusals of a request
	// that used the DPoP scheme (challenges are then the others').
	dpopChallenges *challenges
}

// New returns an [Auth] that verifies tokens with the keys of keys, and
// signs them with its signing key: a [Key] (which signs when it has a
// private part or is an HMAC secret), a [KeySet] (its active key, which
// may change while the Auth serves), or any other [KeySource], such as a
// remote JWKS, which only verifies: [Auth.Issue] then fails, and the
// login, refresh and register handlers panic when made. A token is only
// checked with the algorithm of the key its kid names.
//
// It validates every option once and returns an error, never panics, on a
// bad configuration, a zero [Key] or a nil source.
func New(keys KeySource, opts ...Option) (*Auth, error) {
	resolver, signing, err := resolverOf(keys)
	if err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Auth{cfg: cfg, log: cfg.logger, errorHandler: cfg.errorHandler, keys: keys, signingKey: signing}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.errorHandler == nil {
		a.errorHandler = WriteError
	}
	tc := token.Config{
		Keys:     resolver,
		Issuer:   cfg.issuer,
		Audience: cfg.audience,
		Leeway:   cfg.leeway,
		Now:      cfg.now,
		Type:     cfg.tokenType,
	}
	if cfg.tokenCache > 0 {
		a.tokenCache = token.NewCache(cfg.tokenCache)
		tc.Cache = a.tokenCache
	}
	if cfg.cookieMode != nil {
		ck, err := newCookies(cfg.cookieMode, cfg.cookie)
		if err != nil {
			return nil, err
		}
		a.cookies = ck
		a.cfg.cookie = ck.access
		if cfg.cookieMode.Development {
			a.log.Warn("jwtguard: cookie mode in DEVELOPMENT: cookies without Secure and without the __Host-/__Secure- prefixes, for plain http on localhost; never serve this over a network", slog.String("access_cookie", ck.access), slog.String("refresh_cookie", ck.refresh))
		}
	}
	a.verifier = token.NewVerifier(tc)
	if a.issuers, err = newIssuers(&a.cfg, a.tokenCache); err != nil {
		return nil, err
	}
	gc, err := a.cfg.login.guardConfig(cfg.now, a.log)
	if err != nil {
		return nil, err
	}
	a.guard = guard.New(gc)
	if a.register, err = a.cfg.register.resolve(gc.DummyCost); err != nil {
		return nil, err
	}
	a.maxLoginBody = cmp.Or(cfg.login.MaxBodySize, defaultMaxBodySize)
	if a.cfg.dpop.Mode == DPoPAllowed {
		a.cfg.dpop.Mode = a.cfg.envDPoP.Mode
	}
	a.cfg.dpop.ExternalURL = cmp.Or(a.cfg.dpop.ExternalURL, a.cfg.envDPoP.ExternalURL)
	if a.dpop, err = a.cfg.dpop.resolve(cfg.leeway, cfg.login.TrustedProxies, cfg.sessions, a.log); err != nil {
		return nil, err
	}
	a.challenges = newChallenges(cfg.realm)
	if a.dpop.mode != DPoPOff {
		a.dpopChallenges = newDPoPChallenges(cfg.realm, a.dpop)
		if a.dpop.mode == DPoPRequired {
			// Every refusal of a protected resource says DPoP. Where both
			// are taken, a request without a token is answered with the
			// Bearer challenge alone, as before DPoP (RFC 9449 §7.1 lets
			// a server send both), and one that used DPoP with DPoP's.
			a.challenges = a.dpopChallenges
		}
	}
	a.fixed = a.newFixedRefusals()
	a.warnings = newWarnings()
	return a, nil
}

// resolverOf returns the verifier's Resolver of keys, and the function
// that returns its signing key (nil when keys only verify).
func resolverOf(keys KeySource) (token.Resolver, func() *token.Key, error) {
	switch k := keys.(type) {
	case Key:
		if k.k == nil {
			return nil, nil, errors.New("jwtguard: New needs a key (see HMACKey and GenerateKey)")
		}
		if !validKeyID(k.k.ID) {
			return nil, nil, fmt.Errorf("jwtguard: kid %q is not printable ASCII without '\"' or '\\' of at most 128 bytes", k.k.ID)
		}
		var signing func() *token.Key
		if k.CanSign() {
			signing = func() *token.Key { return k.k }
		}
		return token.Static{Key: k.k}, signing, nil
	case *KeySet:
		if k == nil {
			return nil, nil, errors.New("jwtguard: New needs keys: the KeySet is nil")
		}
		return keySetResolver{k}, func() *token.Key { return k.cur.Load().active }, nil
	case nil:
		return nil, nil, errors.New("jwtguard: New needs keys (see HMACKey, GenerateKey and NewKeySet)")
	}
	return sourceResolver{keys}, nil, nil
}

// mustSign panics, naming method, when a cannot sign: its keys only
// verify, so method (a handler that issues tokens) could never work.
func (a *Auth) mustSign(method string) {
	a.mustBeNew(method)
	if set, ok := a.keys.(*KeySet); ok && !slices.ContainsFunc(set.Keys(), Key.CanSign) {
		panic(fmt.Sprintf("jwtguard: %s called on an Auth whose KeySet holds public keys only; it needs a key that signs", method))
	}
	if a.signingKey == nil {
		panic(fmt.Sprintf("jwtguard: %s called on an Auth whose keys only verify (a %T); it needs a Key or KeySet that signs", method, a.keys))
	}
}

// currentSigningKey returns the key tokens are signed with now: an error
// (ErrInternal) when a's keys only verify, or are a KeySet without an
// active key.
func (a *Auth) currentSigningKey() (*token.Key, error) {
	if a.signingKey == nil {
		return nil, fmt.Errorf("%w: a token cannot be issued: the Auth's keys only verify (a %T)", ErrInternal, a.keys)
	}
	key := a.signingKey()
	if key == nil {
		return nil, fmt.Errorf("%w: a token cannot be issued: the KeySet has no active key (KeySet.Activate)", ErrInternal)
	}
	return key, nil
}

// sourceResolver is a KeySource other than Key and KeySet as the
// verifier's Resolver.
type sourceResolver struct{ src KeySource }

func (r sourceResolver) Resolve(ctx context.Context, kid, alg string) (*token.Key, error) {
	k, err := r.src.VerificationKey(ctx, kid, alg)
	switch {
	case errors.Is(err, ErrUnknownKey):
		return nil, unknownKey{err}
	case err != nil:
		return nil, err
	}
	return k.k, nil
}

// unknownKey is a KeySource's ErrUnknownKey as the verifier's: it is
// token.ErrUnknownKey, with the source's words.
type unknownKey struct{ err error }

func (e unknownKey) Error() string        { return e.err.Error() }
func (e unknownKey) Unwrap() error        { return e.err }
func (e unknownKey) Is(target error) bool { return target == token.ErrUnknownKey }

// mustBeNew panics, naming method, when a was not made by New: a zero Auth
// (a struct field never assigned, say) has no key to check tokens with.
func (a *Auth) mustBeNew(method string) {
	if a == nil || a.verifier == nil {
		panic("jwtguard: " + method + " called on an Auth not made by New or FromEnv; the zero Auth is unusable")
	}
}

func (c *config) validate() error {
	if c.optionErr != nil {
		return c.optionErr
	}
	switch {
	case c.lifetime < time.Second || c.lifetime > maxLifetime:
		return errors.New("jwtguard: token lifetime must be between a second and 100 years")
	case c.leeway < 0 || c.leeway > 5*time.Minute:
		return errors.New("jwtguard: leeway must be between 0 and 5 minutes")
	case c.now == nil:
		return errors.New("jwtguard: clock must not be nil")
	case c.maxTokenSize < 64:
		return errors.New("jwtguard: max token size must be at least 64 bytes")
	case !validRealm(c.realm):
		return errors.New(`jwtguard: realm must be non-empty printable ASCII without '"' or '\'`)
	case c.rolesClaim != nil && (len(c.rolesClaim) == 0 || contains(c.rolesClaim, "")):
		return errors.New("jwtguard: roles claim path must be non-empty names")
	case c.cookie != "" && !validCookieName(c.cookie):
		return fmt.Errorf("jwtguard: cookie name %q is not a valid token", c.cookie)
	case c.queryParam != "" && (!validCookieName(c.queryParam) || strings.ContainsAny(c.queryParam, "%+&;=#")):
		// Escapes and '+' in the name itself could be read two ways.
		return fmt.Errorf("jwtguard: query parameter name %q is not a token without %%, +, &, ;, = or #", c.queryParam)
	case c.cookie != "" && c.cookie == c.queryParam:
		// Harmless but almost certainly a mistake; say so early.
		return errors.New("jwtguard: cookie and query parameter have the same name")
	case c.sessionLifetime < time.Minute || c.sessionLifetime > maxLifetime:
		return errors.New("jwtguard: session lifetime must be between a minute and 100 years")
	case c.sessionIdle < 0 || c.sessionIdle > c.sessionLifetime:
		return errors.New("jwtguard: session idle timeout must be between 0 (none) and the session lifetime")
	case c.refreshGrace < 0 || c.refreshGrace > maxRefreshGrace:
		return errors.New("jwtguard: refresh grace window must be between 0 (none) and a minute")
	case c.refreshGrace != 0 && c.sessions == nil:
		return errors.New("jwtguard: WithRefreshGrace without WithSessions")
	case c.tokenCache < 0 || c.tokenCache > 0 && c.tokenCache < token.MinCacheSize:
		return fmt.Errorf("jwtguard: verified-token cache size must be 0 (none) or at least %d bytes", token.MinCacheSize)
	case len(c.trustedOrigins) > 0 && c.cookieMode == nil:
		return fmt.Errorf("jwtguard: %s is set, but cookie mode (WithCookieMode), which checks origins, is off", envTrustedOrigins)
	}
	return nil
}

func validRealm(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validCookieName reports whether name is an RFC 6265 cookie-name (an RFC
// 7230 token).
func validCookieName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return name != ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TokenResponse is the JSON body of a successful login (RFC 6749 §5.1
// names). [Auth.Issue] returns it for custom flows.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"` // "Bearer", or "DPoP" for a token bound to a DPoP key
	ExpiresIn   int64  `json:"expires_in"` // seconds
	// RefreshToken is set by the login and refresh handlers when the Auth has a
	// session store (WithSessions): an opaque token of 256 random bits,
	// of which the store keeps only the hash.
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Issue signs an access token for u: sub is u.ID, with username, roles, iat,
// exp (now plus the token lifetime), a random jti, iss and aud when
// configured, and the claims of [WithClaims]. Nothing secret goes into the
// token; u.PasswordHash is ignored. u.ID must not be empty. [Auth.Issue] does not
// check u.Disabled: the caller has decided u may have a token. It starts
// no session and the token has no sid (with [WithSessions], the login
// handler starts one). It is safe for concurrent use; ctx goes to the
// [WithClaims] function.
func (a *Auth) Issue(ctx context.Context, u User) (TokenResponse, error) {
	return a.issue(ctx, u, Session{}, "")
}

// issue is Issue in session s, when s.ID is set: the token carries the
// session's ID as its sid claim and expires no later than the session
// (its end, and its idle deadline from now). jkt, when not "", is the
// thumbprint of the DPoP key the token is bound to.
func (a *Auth) issue(ctx context.Context, u User, s Session, jkt string) (TokenResponse, error) {
	d, err := a.draft(ctx, u, s, jkt)
	if err != nil {
		return TokenResponse{}, err
	}
	return a.sign(d)
}

// A draft is an access token made and not yet signed: the refresh handler
// makes it (calling the WithClaims function, which may fail) before it
// spends the refresh token, so that a failure leaves the client its token.
type draft struct {
	p        token.Payload
	lifetime time.Duration
	key      *token.Key // found when the draft is made, before a refresh token is spent
}

func (a *Auth) draft(ctx context.Context, u User, s Session, jkt string) (*draft, error) {
	if a == nil || a.verifier == nil {
		return nil, fmt.Errorf("%w: Issue called on an Auth not made by New or FromEnv", ErrInternal)
	}
	key, err := a.currentSigningKey()
	if err != nil {
		return nil, err
	}
	if u.ID == "" {
		return nil, fmt.Errorf("%w: cannot issue a token for a user without an ID", ErrInternal)
	}
	now := a.cfg.now().Truncate(time.Second)
	exp := now.Add(a.cfg.lifetime)
	if s.ID != "" {
		if end := s.ExpiresAt.Truncate(time.Second); end.Before(exp) {
			exp = end
		}
		if idle := now.Add(s.IdleTimeout); s.IdleTimeout > 0 && idle.Before(exp) {
			exp = idle
		}
	}
	d := &draft{lifetime: exp.Sub(now), key: key}
	d.p = token.Payload{
		Issuer:    a.cfg.issuer,
		Subject:   u.ID,
		ExpiresAt: token.Time{Time: exp},
		IssuedAt:  token.Time{Time: now},
		ID:        newTokenID(),
		SessionID: s.ID,
		Username:  u.Username,
		Roles:     u.Roles,
		// RFC 9449 §6.1: the token is bound to the proof's key.
		Confirmation: token.Confirmation{JKT: jkt},
	}
	if a.cfg.audience != "" {
		d.p.Audience = token.Audience{a.cfg.audience}
	}
	if a.cfg.claims != nil {
		extra, err := a.cfg.claims(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("%w: WithClaims for user ID %q: %w", ErrInternal, u.ID, err)
		}
		if err := a.checkExtraClaims(extra, u); err != nil {
			return nil, fmt.Errorf("%w: WithClaims for user ID %q: %w", ErrInternal, u.ID, err)
		}
		d.p.Extra = extra
	}
	return d, nil
}

// sign signs d.
func (a *Auth) sign(d *draft) (TokenResponse, error) {
	signed, err := token.Sign(d.key, a.cfg.tokenType, &d.p)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("%w: signing: %w", ErrInternal, err)
	}
	tr := TokenResponse{
		AccessToken: signed,
		TokenType:   "Bearer",
		ExpiresIn:   int64(d.lifetime / time.Second),
	}
	if d.p.Confirmation.JKT != "" {
		tr.TokenType = "DPoP" // RFC 9449 §5
	}
	return tr, nil
}

// reservedClaims are the case folds (fold.Key) of the claim names Verify
// decides on (or later issues will: sid, cnf), which WithClaims cannot add.
// They are compared by fold, because encoding/json and other decoders
// match member names to fields without regard to case: "EXP" or "ſub"
// after the real claim would override it in a service that decodes our
// tokens into a struct.
var reservedClaims = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "username", "roles", "role", "id", "scope", "sid", "cnf"} {
		m[fold.Key(n)] = true
	}
	return m
}()

// checkExtraClaims refuses a reserved name among extra, compared by case
// fold, except id and role (spelled exactly so) when they mirror u's own
// ID and first role; and two names equal under case folding.
func (a *Auth) checkExtraClaims(extra map[string]any, u User) error {
	seen := make(map[string]string, len(extra))
	for name, v := range extra {
		k := fold.Key(name)
		if other, dup := seen[k]; dup {
			return fmt.Errorf("claims %q and %q differ only in letter case", other, name)
		}
		seen[k] = name
		switch {
		case name == "id" && mirrorsID(v, u.ID):
		case name == "role" && len(u.Roles) > 0 && v == any(u.Roles[0]):
		case k == fold.Key("id") || k == fold.Key("role"):
			return fmt.Errorf("claim %q: only id (the user's own ID, as a string or an integer) and role (the user's first role) may be added, spelled so", name)
		case reservedClaims[k] || len(a.cfg.rolesClaim) > 0 && k == fold.Key(a.cfg.rolesClaim[0]):
			return fmt.Errorf("claim %q is reserved: Verify decides on it", name)
		}
	}
	return nil
}

// mirrorsID reports whether v, an id claim's value, is the user's ID: the
// string itself, or an integer whose decimal form it is (the tutorials'
// numeric ids), within the integers every JSON parser reads exactly.
func mirrorsID(v any, id string) bool {
	var n int64
	switch x := v.(type) {
	case string:
		return x == id
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint32:
		n = int64(x)
	default:
		return false
	}
	return n > -1<<53 && n < 1<<53 && strconv.FormatInt(n, 10) == id
}

// newTokenID returns 128 random bits, base64url encoded, for the jti claim.
func newTokenID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

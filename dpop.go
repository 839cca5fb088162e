package jwtguard

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/internal/dpop"
	"github.com/jwtguard/jwtguard/internal/guard"
	"github.com/jwtguard/jwtguard/internal/strictjson"
	"github.com/jwtguard/jwtguard/internal/token"
)

// DPoPMode is whether an [Auth] takes DPoP-bound tokens (RFC 9449), bearer
// tokens, or both.
type DPoPMode int

const (
	// DPoPAllowed, the default, takes both: a request with
	// "Authorization: DPoP <token>" and a DPoP proof, whose token is bound
	// to the proof's key, and a bearer token. A bound token is never taken
	// as a bearer token. The login handler binds the tokens and the
	// session it issues to the key of the proof a request carries, and
	// issues bearer ones to a request without; a bound session is
	// refreshed with proofs of its key only, a bearer one without proofs.
	DPoPAllowed DPoPMode = iota
	// DPoPRequired takes DPoP-bound tokens only: a bearer token is
	// refused, the login handler refuses a request without a proof, and
	// the refresh handler a bearer session (left from before).
	DPoPRequired
	// DPoPOff takes bearer tokens only: the DPoP scheme is another
	// scheme, as Basic is, the login handler ignores proofs, and a bound
	// token, or a bound session's refresh, is refused, since its binding
	// cannot be checked.
	DPoPOff
)

// DPoPPolicy is how an [Auth] checks DPoP proofs (RFC 9449): give it to
// [New] with [WithDPoP]. The zero DPoPPolicy is the default, [DPoPAllowed]
// with the defaults below.
//
// A proof is accepted when it is a JWT of typ dpop+jwt, signed with an
// asymmetric algorithm of Algorithms by the public key in its jwk header
// (which must hold no private part); its htm is the request's method;
// its htu is the request's URI without query and fragment, both
// normalised (RFC 3986 §6.2.2 and §6.2.3); its iat is at most MaxAge old
// (and at most the Auth's leeway in the future); at a protected
// resource, its ath is the SHA-256 of the access token and the
// thumbprint of its key is the token's cnf.jkt; and its jti was not seen
// before (ReplayCache), scoped to its key.
type DPoPPolicy struct {
	// Mode is DPoPAllowed (zero), DPoPRequired or DPoPOff.
	Mode DPoPMode
	// ExternalURL is the scheme, host (and port) clients reach this
	// service at ("https://api.example.com"), with the path prefix a
	// reverse proxy strips, if any ("https://example.com/api"): a proof's
	// htu is compared with it and the path of the request as received
	// (http.StripPrefix changes URL.Path, not the URI compared). Empty:
	// the scheme and host are the request's (https when it came over
	// TLS, and its Host), or, from a peer that LoginPolicy.TrustedProxies
	// names, that proxy's X-Forwarded-Proto and X-Forwarded-Host. Set it
	// for any service behind a proxy: it is the one answer a client
	// cannot change.
	ExternalURL string
	// MaxAge is how old a proof's iat may be, and so how long a
	// ReplayCache keeps its jti: at least a second, at most 10 minutes.
	// Zero: a minute.
	MaxAge time.Duration
	// Algorithms are the proof algorithms accepted and announced in the
	// challenge's algs: asymmetric ones only. Zero: ES256, ES384, ES512,
	// EdDSA, Ed25519, PS256, PS384, PS512, RS256, RS384 and RS512.
	Algorithms []string
	// ReplayCache records the jtis of accepted proofs. Nil: the session
	// store of WithSessions when it is a ReplayCache too (the Redis store
	// of jwtguard/stores/redis is), else a NewMemoryReplayCache of 131,072
	// proofs, this process's own, which replicas do not share: give them a
	// shared one, or a proof one replica accepted is accepted by the
	// others too.
	ReplayCache ReplayCache
	// RequireNonce makes every proof carry a nonce the service made
	// (RFC 9449 §8 and §9): a proof without one, or with one past its
	// time, is answered with a use_dpop_nonce error and a DPoP-Nonce
	// header holding a fresh nonce, with which a client retries. It
	// bounds a proof made in advance by a client with a stolen key to
	// NonceLifetime. Default: off; the DPoP-Nonce header is then sent
	// only when the replay cache is full.
	RequireNonce bool
	// NonceSecret is the key nonces are made with, at least 32 random
	// bytes, the same on every replica so that each accepts the others'
	// nonces. Nil: random bytes of this process's own.
	NonceSecret []byte
	// NonceLifetime is how long a nonce is made for: a nonce is taken in
	// its period and the next, at least a minute, at most an hour. Zero: 5
	// minutes.
	NonceLifetime time.Duration
}

// WithDPoP sets how DPoP proofs are checked and DPoP-bound tokens taken
// and issued (see [DPoPPolicy]). With [FromEnv], JWT_DPOP and
// JWT_EXTERNAL_URL fill Mode and ExternalURL where p leaves them zero.
// Default: the zero DPoPPolicy, [DPoPAllowed].
func WithDPoP(p DPoPPolicy) Option {
	return func(c *config) {
		c.dpop = p
		c.dpop.Algorithms = slices.Clone(p.Algorithms)
		c.dpop.NonceSecret = slices.Clone(p.NonceSecret)
	}
}

// ErrInvalidDPoPProof: a request's DPoP proof is missing where one is
// needed, malformed, badly signed, made for another method or URI, too
// old, replayed, made with a key other than the one its token is bound
// to, or needs a nonce it lacks. At a protected resource it is 401 with a
// DPoP challenge (error invalid_dpop_proof, or use_dpop_nonce with a
// DPoP-Nonce header); at the login and refresh handlers 400 with the same
// error codes (RFC 9449 §5, §7.1 and §8).
var ErrInvalidDPoPProof = errors.New("jwtguard: invalid DPoP proof")

// The DPoP refusals' kinds, which Stats counts apart: each wraps
// ErrInvalidDPoPProof or ErrInvalidToken.
var (
	// errUseDPoPNonce: the proof lacks a nonce of ours, or the replay
	// cache is full.
	errUseDPoPNonce = fmt.Errorf("%w: a DPoP nonce is needed", ErrInvalidDPoPProof)
	// errProofReplayed: the proof's jti was seen before.
	errProofReplayed = fmt.Errorf("%w: %w", ErrInvalidDPoPProof, ErrProofReplayed)
	// errProofKey: the proof's key is not the one the token (or the
	// session) is bound to.
	errProofKey = fmt.Errorf("%w: the proof's key is not the key the token is bound to", ErrInvalidDPoPProof)
	// errDPoPBinding: a bound token without its proof (the Bearer
	// scheme, a cookie), an unbound one with the DPoP scheme, or a bearer
	// token where DPoP is required.
	errDPoPBinding = fmt.Errorf("%w: DPoP binding", ErrInvalidToken)
	// errGrantProof and errGrantNonce mark a proof refused at the login
	// or refresh handler, where the answer is 400 rather than a
	// challenge (grantProofError).
	errGrantProof = errors.New("jwtguard: at the token endpoint")
	errGrantNonce = errors.New("jwtguard: at the token endpoint, a nonce")
)

// dpopScheme marks a refusal of a request that used the DPoP scheme, or
// carried a proof, whose challenge is DPoP's.
type dpopScheme struct{ err error }

func (e *dpopScheme) Error() string { return e.err.Error() }
func (e *dpopScheme) Unwrap() error { return e.err }

// grantProofError is a proof's refusal at the login or refresh handler.
func grantProofError(err error) error {
	switch {
	case errors.Is(err, errUseDPoPNonce):
		return fmt.Errorf("%w: %w", errGrantNonce, err)
	case errors.Is(err, ErrInvalidDPoPProof):
		return fmt.Errorf("%w: %w", errGrantProof, err)
	}
	return err
}

// grantProof checks the DPoP proof of a login or refresh request r as of
// now, and returns it, not yet recorded (see checkedProof.record): the
// zero checkedProof for a request without a proof where none is needed
// (DPoP not required, a login or a bearer session's refresh), or with
// DPoP off. session is the refreshed session's binding, or nil for a
// login: a bound session's refresh needs a proof of its key, and a bearer
// session's refresh is refused with one, since its refresh tokens would
// stay bound to nothing (RFC 9449 §5: a refresh token issued in answer
// to a DPoP request is bound to its key); so is, with DPoP off, a bound
// session's, whose binding cannot be checked.
func (a *Auth) grantProof(r *http.Request, session *string, now time.Time) (checkedProof, error) {
	d := a.dpop
	bound := session != nil && *session != ""
	switch {
	case d.mode == DPoPOff && bound:
		return checkedProof{}, fmt.Errorf("%w: %w: the session is bound to a DPoP key and DPoP is off (WithDPoP): log in again", ErrInvalidGrant, ErrRefreshTokenInvalid)
	case d.mode == DPoPOff:
		return checkedProof{}, nil
	}
	if len(r.Header["Dpop"]) == 0 {
		switch {
		case bound:
			return checkedProof{}, grantProofError(proofError(ErrInvalidDPoPProof, "a refresh of a session bound to a DPoP key without a proof"))
		case d.mode == DPoPRequired && session != nil:
			return checkedProof{}, fmt.Errorf("%w: %w: a session not bound to a DPoP key, and DPoP is required (WithDPoP): log in again with a proof", ErrInvalidGrant, ErrRefreshTokenInvalid)
		case d.mode == DPoPRequired:
			return checkedProof{}, grantProofError(proofError(ErrInvalidDPoPProof, "no DPoP proof, and DPoP is required"))
		}
		return checkedProof{}, nil
	}
	if session != nil && !bound {
		return checkedProof{}, grantProofError(proofError(ErrInvalidDPoPProof, "a proof at the refresh of a session not bound to a DPoP key: its refresh tokens cannot be bound; log in with a proof"))
	}
	want := ""
	if bound {
		want = *session
	}
	p, err := a.checkProof(r, "", want, now)
	if err != nil {
		return checkedProof{}, grantProofError(err)
	}
	return p, nil
}

// dpopConfig is a DPoPPolicy resolved.
type dpopConfig struct {
	mode DPoPMode
	// external is ExternalURL's scheme, host and path prefix (no '/' at
	// its end); scheme "" when not set.
	extScheme, extHost, extPrefix string
	maxAge                        time.Duration
	leeway                        time.Duration
	algs                          []string
	replay                        ReplayCache
	nonces                        *dpop.Nonces
	requireNonce                  bool
	trusted                       []netip.Prefix
	keys                          proofKeys
	log                           *slog.Logger
	hostWarning                   sync.Once // the first proof compared with a Host header
}

// proofKeys holds the keys of the proofs' jwk headers that were read, by
// the SHA-256 of the alg and the jwk's JSON as sent, so that a client,
// which sends one key in every proof, has it read once: reading it (the
// strict JSON, the key's checks, Ed25519's small-order check, two X25519
// multiplications) was three fifths of an EdDSA proof's time and a tenth
// of an ES256 one's (BenchmarkVerifyDPoP: 189 µs to 74, 105 to 94). Equal
// bytes are read alike, so a key found here is what reading it would
// give; it holds maxProofKeys and is emptied when full, so a flood of
// keys costs what reading each one costs.
type proofKeys struct {
	mu sync.RWMutex
	m  map[[32]byte]proofKeyEntry
}

type proofKeyEntry struct {
	key *token.Key
	jkt string
}

const maxProofKeys = 4096

func (c *proofKeys) get(id [32]byte) (proofKeyEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[id]
	return e, ok
}

func (c *proofKeys) add(id [32]byte, e proofKeyEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxProofKeys {
		c.m = make(map[[32]byte]proofKeyEntry)
	}
	c.m[id] = e
}

// Proof bounds: a proof with an 8192-bit RSA key is about 4 KiB.
const (
	maxProofSize       = 8 << 10
	defaultProofMaxAge = time.Minute
	defaultNonceLife   = 5 * time.Minute
)

// dpopAlgs are the algorithms a proof may be signed with: asymmetric.
var dpopAlgs = []string{"ES256", "ES384", "ES512", "EdDSA", "Ed25519", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}

// resolve validates p and fills its defaults.
func (p *DPoPPolicy) resolve(leeway time.Duration, trusted []string, sessions SessionStore, log *slog.Logger) (*dpopConfig, error) {
	fail := func(format string, args ...any) (*dpopConfig, error) {
		return nil, fmt.Errorf("jwtguard: DPoP policy: "+format, args...)
	}
	d := &dpopConfig{
		mode:         p.Mode,
		maxAge:       cmp.Or(p.MaxAge, defaultProofMaxAge),
		leeway:       leeway,
		replay:       p.ReplayCache,
		requireNonce: p.RequireNonce,
		log:          log,
	}
	switch {
	case p.Mode < DPoPAllowed || p.Mode > DPoPOff:
		return fail("Mode %d is not DPoPAllowed, DPoPRequired or DPoPOff", p.Mode)
	case d.maxAge < time.Second || d.maxAge > 10*time.Minute:
		return fail("MaxAge %v is not between a second and 10 minutes", p.MaxAge)
	case p.NonceSecret != nil && len(p.NonceSecret) < 32:
		return fail("NonceSecret is %d bytes; it must be at least 32", len(p.NonceSecret))
	}
	life := cmp.Or(p.NonceLifetime, defaultNonceLife)
	if life < time.Minute || life > time.Hour {
		return fail("NonceLifetime %v is not between a minute and an hour", p.NonceLifetime)
	}
	if p.Mode == DPoPOff {
		return d, nil
	}
	d.algs = dpopAlgs
	if p.Algorithms != nil {
		d.algs = nil
		for _, alg := range p.Algorithms {
			if !slices.Contains(dpopAlgs, alg) {
				return fail("algorithm %q is not an asymmetric algorithm jwtguard verifies (%s)", alg, strings.Join(dpopAlgs, ", "))
			}
			if !slices.Contains(d.algs, alg) {
				d.algs = append(d.algs, alg)
			}
		}
		if len(d.algs) == 0 {
			return fail("Algorithms is empty")
		}
	}
	if p.ExternalURL != "" {
		u, err := dpop.NormalizeURI(p.ExternalURL)
		if err != nil || strings.ContainsAny(p.ExternalURL, "?#") {
			return fail("ExternalURL %q is not an http or https URL without query and fragment: %v", p.ExternalURL, err)
		}
		scheme, rest, _ := strings.Cut(u, "://")
		host, path, _ := strings.Cut(rest, "/")
		d.extScheme, d.extHost, d.extPrefix = scheme, host, strings.TrimSuffix("/"+path, "/")
	}
	for _, s := range trusted {
		pfx, err := guard.ParsePrefix(s)
		if err != nil {
			return fail("trusted proxy %q: %v", s, err)
		}
		d.trusted = append(d.trusted, pfx)
	}
	if d.replay == nil {
		d.replay = NewMemoryReplayCache(defaultReplayEntries)
		if rc, ok := sessions.(ReplayCache); ok {
			d.replay = rc
		}
	}
	secret := p.NonceSecret
	if secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret)
		if p.RequireNonce {
			log.Warn("jwtguard: DPoP nonces are made with a random secret of this process's own: replicas refuse each other's nonces (clients then retry once more); set DPoPPolicy.NonceSecret on every replica")
		}
	}
	d.nonces = dpop.NewNonces(secret, life)
	return d, nil
}

// challenge returns the DPoP challenge's parameters after the scheme for
// the realm: realm and algs.
func (d *dpopConfig) challengeParams(realm string) string {
	return `realm="` + realm + `", algs="` + strings.Join(d.algs, " ") + `"`
}

// requestURI returns the URI a proof of r must name, normalised: the
// external URL's scheme and host (or the request's) and path prefix, and
// the path r was received with.
func (d *dpopConfig) requestURI(r *http.Request) (string, error) {
	scheme, host := d.extScheme, d.extHost
	if scheme == "" {
		var err error
		if scheme, host, err = d.requestOrigin(r); err != nil {
			return "", err
		}
	}
	path := r.RequestURI
	switch {
	case path == "":
		// A request made in a process (httptest.NewRequest sets
		// RequestURI; a handler test's literal may not).
		path = r.URL.EscapedPath()
	case path[0] != '/':
		// The absolute form (RFC 9112 §3.2.2), which a server takes from
		// proxies: its path is the path.
		_, rest, ok := strings.Cut(path, "://")
		if !ok {
			return "", fmt.Errorf("request target %q has no path", path)
		}
		i := strings.IndexAny(rest, "/?#")
		if i < 0 {
			path = ""
		} else {
			path = rest[i:]
		}
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		path = "/"
	}
	p, err := dpop.NormalizePath(path)
	if err != nil {
		return "", fmt.Errorf("request path: %w", err)
	}
	if d.extPrefix != "" {
		// The prefix is joined to the path normalised on its own, so that
		// a path that climbs ("/..", "/%2e%2e") cannot leave it and name
		// another service on the host.
		if joined, err := dpop.NormalizePath(d.extPrefix + path); err != nil || joined != d.extPrefix+p {
			return "", fmt.Errorf("request path %q climbs out of the external URL's prefix %q", path, d.extPrefix)
		}
		p = d.extPrefix + p
	}
	h, err := dpop.NormalizeHost(scheme, host)
	if err != nil {
		return "", fmt.Errorf("request host: %w", err)
	}
	return scheme + "://" + h + p, nil
}

// requestOrigin returns r's scheme and host: a trusted proxy's
// X-Forwarded-Proto and X-Forwarded-Host when r comes from one and it
// sends them (one field each, one value), else https for TLS and r.Host.
func (d *dpopConfig) requestOrigin(r *http.Request) (scheme, host string, err error) {
	d.hostWarning.Do(func() {
		d.log.Warn("jwtguard: DPoP proofs are compared with the scheme and Host header of the request, which the client chooses: a proof made for another server that takes the same tokens is taken here too; set DPoPPolicy.ExternalURL (JWT_EXTERNAL_URL) to the URL clients use")
	})
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if len(d.trusted) == 0 || err != nil || !slices.ContainsFunc(d.trusted, func(p netip.Prefix) bool { return p.Contains(peer.Addr().Unmap()) }) {
		// A client's own request: over TLS its Host must name the server
		// its handshake named (SNI), when it named one.
		if r.TLS != nil && r.TLS.ServerName != "" {
			name := host
			if h, _, err := net.SplitHostPort(host); err == nil {
				name = h
			}
			if !strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(r.TLS.ServerName, ".")) {
				return "", "", fmt.Errorf("the Host header %q names another server than the TLS handshake (%q)", host, r.TLS.ServerName)
			}
		}
		return scheme, host, nil
	}
	one := func(name string) (string, error) {
		switch v := r.Header[name]; {
		case len(v) == 0:
			return "", nil
		case len(v) > 1 || strings.ContainsAny(v[0], ", \t"):
			return "", fmt.Errorf("%s from a trusted proxy has several values; set DPoPPolicy.ExternalURL", name)
		default:
			return v[0], nil
		}
	}
	proto, err := one("X-Forwarded-Proto")
	if err != nil {
		return "", "", err
	}
	fwdHost, err := one("X-Forwarded-Host")
	if err != nil {
		return "", "", err
	}
	if proto != "" {
		scheme = strings.ToLower(proto)
		if scheme != "http" && scheme != "https" {
			return "", "", fmt.Errorf("X-Forwarded-Proto %q is neither http nor https", proto)
		}
	}
	return scheme, cmp.Or(fwdHost, host), nil
}

// proofError is a proof's refusal: kind (ErrInvalidDPoPProof or one of
// the kinds above) and the detail.
func proofError(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// A checkedProof is a proof that passed every check but the replay
// cache's: its key's thumbprint, and what the cache records of it.
type checkedProof struct {
	jkt     string // "" for none
	id      ProofID
	expires time.Time
}

// record records p in the replay cache as of now: an error when it was
// seen before (errProofReplayed), when the cache is full
// (errUseDPoPNonce) or fails (503). The login handler records its
// proof only once the password is found good, so that a client without
// an account cannot fill the cache.
func (a *Auth) record(r *http.Request, p checkedProof, now time.Time) error {
	if p.jkt == "" {
		return nil
	}
	if !now.Before(p.expires.Add(-time.Second)) {
		// It aged out while the request was handled (a slow password
		// check): a proof refused, not a cache failing.
		return proofError(ErrInvalidDPoPProof, "the proof's age ran out while the request was handled")
	}
	switch err := a.dpop.replay.AddProof(r.Context(), p.id, p.expires, now); {
	case err == nil:
		return nil
	case errors.Is(err, ErrProofReplayed):
		return proofError(errProofReplayed, "jti of key %s", p.jkt)
	case errors.Is(err, ErrReplayCacheFull):
		return proofError(errUseDPoPNonce, "the replay cache is full: %v", err)
	default:
		return fmt.Errorf("%w: DPoP replay cache: %w", ErrOverloaded, &storeFailure{err})
	}
}

// checkProof checks r's DPoP proof as of now, all but its replay (see
// record). accessToken is the token it must hash to its ath ("" at the
// login and refresh handlers, where it has none); wantJKT, when not "",
// is the thumbprint the proof's key must have (the token's cnf.jkt, a
// session's binding).
func (a *Auth) checkProof(r *http.Request, accessToken, wantJKT string, now time.Time) (checkedProof, error) {
	d := a.dpop
	var proof string
	switch v := r.Header["Dpop"]; len(v) {
	case 0:
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "no DPoP header")
	case 1:
		proof = v[0]
	default:
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "%d DPoP headers", len(v))
	}
	if len(proof) > maxProofSize {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "the proof is over %d bytes", maxProofSize)
	}
	segs := strings.Split(proof, ".")
	if len(segs) != 3 || strings.ContainsAny(proof, "\r\n") {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "the proof is not a compact JWS")
	}
	rawHeader, err1 := b64url.DecodeString(segs[0])
	rawClaims, err2 := b64url.DecodeString(segs[1])
	if err1 != nil || err2 != nil {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "the proof's header or claims are not base64url")
	}
	h, err := dpop.DecodeHeader(rawHeader)
	if err != nil {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "header: %v", err)
	}
	if !token.SameType(h.Typ, "dpop+jwt") {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "typ %q is not dpop+jwt", h.Typ)
	}
	if !slices.Contains(d.algs, h.Alg) {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "alg %q is not one of %s", h.Alg, strings.Join(d.algs, " "))
	}
	c, err := dpop.DecodeClaims(rawClaims)
	if err != nil {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "claims: %v", err)
	}
	if c.HTM != r.Method {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "htm %q is not the request's method %s", c.HTM, r.Method)
	}
	htu, err := dpop.NormalizeURI(c.HTU)
	if err != nil {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "htu: %v", err)
	}
	want, err := d.requestURI(r)
	if err != nil {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "%v", err)
	}
	if htu != want {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "htu %q is not the request's URI %q", htu, want)
	}
	switch {
	case c.IAT.Before(now.Add(-d.maxAge - d.leeway)):
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "iat %v is more than %v before now (%v)", c.IAT.UTC(), d.maxAge, now.UTC())
	case c.IAT.After(now.Add(d.leeway)):
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "iat %v is after now (%v) beyond the leeway", c.IAT.UTC(), now.UTC())
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return checkedProof{}, proofError(ErrInvalidDPoPProof, "ath is not the hash of the access token (absent: %v)", c.ATH == "")
		}
	}
	if d.requireNonce && !d.nonces.Valid(c.Nonce, now) {
		return checkedProof{}, proofError(errUseDPoPNonce, "the proof's nonce is absent or not one of ours now (present: %v)", c.Nonce != "")
	}
	key, jkt, err := d.proofKey(h)
	if err != nil {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "jwk: %v", err)
	}
	if wantJKT != "" && jkt != wantJKT {
		return checkedProof{}, proofError(errProofKey, "the proof's key has thumbprint %s, the binding is %s", jkt, wantJKT)
	}
	if err := key.CheckSignature(proof[:len(segs[0])+1+len(segs[1])], segs[2]); err != nil {
		return checkedProof{}, proofError(ErrInvalidDPoPProof, "signature: %v", err)
	}
	// Recorded until a second after the last instant the proof is taken
	// (iat + MaxAge + leeway), so that a cache comparing to the
	// microsecond never lets its last instant through.
	return checkedProof{jkt: jkt, id: proofID(jkt, c.JTI), expires: c.IAT.Add(d.maxAge + d.leeway + time.Second)}, nil
}

// proofKey reads the proof header's jwk, which must be a public key for
// the header's alg, and returns it and its RFC 7638 thumbprint.
func (d *dpopConfig) proofKey(h dpop.Header) (*token.Key, string, error) {
	hash := sha256.New()
	hash.Write([]byte(h.Alg))
	hash.Write([]byte{0})
	hash.Write(h.JWK)
	var id [32]byte
	hash.Sum(id[:0])
	if e, ok := d.keys.get(id); ok {
		return e.key, e.jkt, nil
	}
	key, jkt, err := readProofKey(h)
	if err == nil {
		d.keys.add(id, proofKeyEntry{key, jkt})
	}
	return key, jkt, err
}

// readProofKey is proofKey without the cache.
func readProofKey(h dpop.Header) (*token.Key, string, error) {
	var j jwk
	if err := strictjson.Unmarshal(h.JWK, &j); err != nil {
		return nil, "", err
	}
	if j.Kty == "oct" || j.D != "" || j.P != "" || j.Q != "" || j.DP != "" || j.DQ != "" || j.QI != "" || j.K != "" || j.Oth != nil {
		return nil, "", errors.New("the jwk holds a private or secret key; a proof's jwk is the public key alone")
	}
	var k *token.Key
	if j.Kty == "RSA" {
		// Bounded to what a proof needs, before any costly check.
		if err := checkJWKUse(&j, h.Alg); err != nil {
			return nil, "", err
		}
		if j.Crv != "" || j.X != "" || j.Y != "" {
			return nil, "", errors.New("an RSA key with members of another kind")
		}
		if len(j.N) > (token.MaxProofRSABits+5)/6 || j.E != "AQAB" {
			return nil, "", fmt.Errorf("a proof's RSA key is at most %d bits, with the exponent 65537 (e AQAB)", token.MaxProofRSABits)
		}
		n, err := jwkInt("n", j.N)
		if err != nil {
			return nil, "", err
		}
		if k, err = token.NewProofRSAKey(h.Alg, &rsa.PublicKey{N: n, E: 65537}); err != nil {
			return nil, "", err
		}
	} else {
		key, err := jwkKey(&j, h.Alg)
		if err != nil {
			return nil, "", err
		}
		k = key.k
	}
	sum := sha256.Sum256(j.thumbprintInput())
	return k, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// nextNonce gives the answer to a login or refresh that issued a bound
// token the current nonce, when nonces are required (RFC 9449 §8.2).
func (a *Auth) nextNonce(w http.ResponseWriter, tr TokenResponse) {
	if tr.TokenType == "DPoP" && a.dpop.requireNonce {
		w.Header().Set("DPoP-Nonce", a.dpop.nonces.Current(a.cfg.now()))
	}
}

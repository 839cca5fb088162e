package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/internal/bearer"
	"github.com/jwtguard/jwtguard/internal/strictjson"
	"github.com/jwtguard/jwtguard/internal/token"
)

// Verify is middleware that requires a valid token. It reads the token from
// the Authorization header ("Bearer <token>", scheme in any letter case), or,
// when configured, from a cookie (WithCookie) or a query parameter
// (WithQueryParameter); verifies it; and calls next with the claims in the
// request context (see FromContext). Otherwise it calls the ErrorHandler and
// not next:
//
//   - no token: ErrNoToken, 401 with a bare Bearer challenge;
//   - a malformed Authorization header (one that starts with the Bearer
//     scheme name but is not "Bearer", spaces and one token: a tab, a comma
//     or a no-break space after the scheme is malformed, never another
//     scheme), several of them, several cookies of the configured name, a
//     cookie of that name whose value net/http cannot read, or
//     a token in the query together with another one, or a query that
//     could carry a token and cannot be read (a malformed %-escape in the
//     parameter or in any parameter name): ErrInvalidRequest, 400
//     invalid_request;
//   - a token that is too long, malformed, wrongly signed or whose claims fail
//     a check: ErrInvalidToken, 401 invalid_token;
//   - an expired token that passes every other check: ErrTokenExpired, 401
//     invalid_token (an expired token that would be invalid if fresh is
//     ErrInvalidToken).
//
// When both an Authorization Bearer header and the configured cookie are
// present, the header wins and the cookie is not read. Verify has the
// signature that r.Use, alice and chi expect.
//
// A token bound to a DPoP key (its cnf.jkt claim) is taken only with the
// DPoP scheme ("Authorization: DPoP <token>"), or from the cookie or the
// query, and a valid DPoP proof of that key in the request's one DPoP
// header ([WithDPoP] says what is checked); otherwise it is ErrInvalidToken
// (a bound token sent as Bearer) or [ErrInvalidDPoPProof], 401 with a DPoP
// challenge.
func (a *Auth) Verify(next http.Handler) http.Handler {
	return a.verify(next, false)
}

// VerifyOptional is Verify for routes that also serve anonymous users: a
// request without any token goes on to next without claims (FromContext
// reports false), while a request with a bad, expired or malformed token is
// still refused, as by Verify.
func (a *Auth) VerifyOptional(next http.Handler) http.Handler {
	return a.verify(next, true)
}

func (a *Auth) verify(next http.Handler, optional bool) http.Handler {
	if optional {
		a.mustBeNew("VerifyOptional")
	} else {
		a.mustBeNew("Verify")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vt, err := a.authenticate(r)
		if err != nil {
			if optional && errors.Is(err, ErrNoToken) {
				// Anonymous: the context says that VerifyOptional ran, so
				// that Require can tell this from a missing Verify.
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, (*Claims)(nil))))
				return
			}
			if a.cookies != nil && a.cookies.loginPage != "" {
				if re := a.refusal(err, true); a.redirectToLogin(w, r, re) {
					a.logRefusal(r, re)
					return
				}
			}
			a.refuseBearer(w, r, err)
			return
		}
		if vt.claims.KeyThumbprint != "" && a.dpop.requireNonce {
			// RFC 9449 §9: the next nonce, before the one in use expires.
			w.Header().Set("DPoP-Nonce", a.dpop.nonces.Current(a.cfg.now()))
		}
		// The context carries a pointer to the claims, and the claims
		// nothing of the context: a handler that keeps the claims past
		// the request does not keep the request's context alive.
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), &vt.claims)))
	})
}

// Authenticate is the check behind Verify, for code that is not middleware
// (a WebSocket upgrade, a handler that serves both anonymous and signed-in
// users its own way): it extracts and verifies the request's token and
// returns its claims. Its error is one Verify would refuse the request
// with: it wraps ErrNoToken, ErrInvalidRequest, ErrInvalidToken or
// ErrTokenExpired, is logged as Verify logs it, and carries the status and
// challenge, so that WriteError(w, r, err) answers exactly as Verify does
// with the default ErrorHandler (a handler of one's own is the caller's to
// call).
// Authenticate does not put the claims in the request context. It is safe
// for concurrent use.
func (a *Auth) Authenticate(r *http.Request) (*Claims, error) {
	a.mustBeNew("Authenticate")
	vt, err := a.authenticate(r)
	if err != nil {
		re := a.refusal(err, true)
		a.logRefusal(r, re)
		return nil, re
	}
	return &vt.claims, nil
}

// authenticate extracts and verifies the request's token, and checks its
// DPoP binding. The refusal of a request that used the DPoP scheme, or
// carried a proof its token needed, is marked for a DPoP challenge.
func (a *Auth) authenticate(r *http.Request) (*verifiedToken, error) {
	vt, source, err := a.authenticateToken(r)
	if err != nil && source == "dpop" {
		return nil, &dpopScheme{err}
	}
	return vt, err
}

// authenticateToken is authenticate, returning the token's source too:
// "dpop" for the DPoP scheme or a proof checked.
func (a *Auth) authenticateToken(r *http.Request) (*verifiedToken, string, error) {
	tok, source, err := a.extract(r)
	if err != nil {
		return nil, source, err
	}
	vt, err := a.verifyToken(r, tok, source)
	return vt, source, err
}

// verifyToken verifies tok, from source.
func (a *Auth) verifyToken(r *http.Request, tok, source string) (*verifiedToken, error) {
	if source == "cookie" {
		// A browser sends cookies on cross-site requests too: an unsafe
		// one must pass the CSRF check before its token is believed.
		if err := a.checkOrigin(r); err != nil {
			return nil, err
		}
	}
	rules, err := a.rulesFor(tok)
	if err != nil {
		return nil, refusalOf(ErrInvalidToken, err)
	}
	v := a.verifierOf(rules)
	// A token the cache holds comes with its payload, the cache's, which
	// is only read. Another is decoded into a pooled Payload. Either is
	// copied out into the claims: what a request keeps is its
	// verifiedToken and the payload's JSON buffer.
	// The clock read once for the cache and the session store: on a VM,
	// time.Now is a tenth of a cache hit (bench/verify's profile).
	var now time.Time
	if a.tokenCache != nil || a.cfg.sessions != nil {
		now = a.cfg.now()
	}
	p, cached, verr := v.Cached(r.Context(), tok, now)
	if !cached {
		p = payloads.Get().(*token.Payload)
		defer func() {
			*p = token.Payload{}
			payloads.Put(p)
		}()
		verr = v.VerifyInto(r.Context(), tok, p)
	}
	if verr != nil && !errors.Is(verr, token.ErrExpired) {
		if errors.Is(verr, token.ErrUnavailable) {
			return nil, keysUnavailable(r, verr, a.keysDownOf(rules))
		}
		if source == "header" || source == "dpop" {
			// The header's token is read by the verifier's alphabet,
			// which is a subset of b64token's, and by b64token's only
			// now that it is refused: a header whose token is not a
			// b64token is a malformed request, as bearer.Parse has it.
			if _, err := bearer.Token(tok, 0); err != nil {
				return nil, fmt.Errorf("%w: Authorization header: %w", ErrInvalidRequest, err)
			}
		}
		return nil, refusalOf(ErrInvalidToken, verr)
	}
	if verr != nil {
		// An expired token's payload comes back with the error, and must
		// pass the claim checks a fresh one would: a client is told to
		// refresh only a token that is good but for its age. Its claims
		// are checked, not made, as nothing is kept of them.
		if err := a.checkPayload(p, rules); err != nil {
			// verr is text only: the refusal is not an expiry, for
			// errors.Is and for Stats.
			return nil, fmt.Errorf("%w: %w (and %v)", ErrInvalidToken, err, verr)
		}
		return nil, refusalOf(ErrTokenExpired, verr)
	}
	vt := new(verifiedToken)
	if err := a.claimsFromPayload(vt, p, rules); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	proof, err := a.checkBinding(r, tok, source, p.Confirmation)
	if err != nil {
		return nil, err
	}
	// The session store holds this service's sessions: a token of
	// another issuer names none of them (Keycloak's sid is Keycloak's).
	vt.foreign = rules != nil
	if rules == nil {
		if err := a.checkRevoked(r, &vt.claims, now); err != nil {
			return nil, err
		}
	}
	// The proof is recorded last, once the request is to be served: a
	// revoked token's proofs fill no replay cache.
	if err := a.record(r, proof.checkedProof, proof.at); err != nil {
		return nil, &dpopScheme{err}
	}
	return vt, nil
}

// checkBinding checks that tok, from source (its claims verified), is
// presented as its cnf claim says: a token bound to a DPoP key with the
// DPoP scheme (or from a cookie or the query) and a proof of that key, an
// unbound one as a bearer token, unless DPoP is required. It returns the
// proof checked, for the caller to record, with the time it was checked
// at; none for an unbound token.
func (a *Auth) checkBinding(r *http.Request, tok, source string, cnf token.Confirmation) (timedProof, error) {
	d := a.dpop
	switch {
	case cnf.Unchecked:
		return timedProof{}, fmt.Errorf("%w: its cnf claim binds it by a method other than DPoP's jkt, which cannot be checked here", errDPoPBinding)
	case cnf.JKT != "" && d.mode == DPoPOff:
		return timedProof{}, fmt.Errorf("%w: the token is bound to a DPoP key and DPoP is off (WithDPoP)", errDPoPBinding)
	case cnf.JKT == "" && source == "dpop":
		return timedProof{}, fmt.Errorf("%w: a token without a cnf claim sent with the DPoP scheme: it is not bound to a key", errDPoPBinding)
	case cnf.JKT == "" && d.mode == DPoPRequired:
		return timedProof{}, fmt.Errorf("%w: a bearer token, and DPoP is required (WithDPoP)", errDPoPBinding)
	case cnf.JKT == "":
		return timedProof{}, nil
	case source == "header":
		// RFC 9449 §7.2: a DPoP-bound token is never a bearer token.
		return timedProof{}, fmt.Errorf("%w: a token bound to a DPoP key sent with the Bearer scheme", errDPoPBinding)
	}
	now := a.cfg.now()
	p, err := a.checkProof(r, tok, cnf.JKT, now)
	if err != nil {
		return timedProof{}, &dpopScheme{err}
	}
	return timedProof{p, now}, nil
}

// timedProof is a proof checked, and when.
type timedProof struct {
	checkedProof
	at time.Time
}

// checkRevoked asks the session store of WithSessions, when there is one,
// as of now, whether c's token has been revoked (its session, or its jti at a
// logout). A store that fails is answered 503 (fail closed: a token is
// never believed unchecked), and logged at Error level.
func (a *Auth) checkRevoked(r *http.Request, c *Claims, now time.Time) error {
	if a.cfg.sessions == nil || c.SessionID == "" && c.TokenID == "" {
		return nil
	}
	// Asked as of now less the leeway, the window in which the verifier
	// still takes a token past its exp: a jti denied until its token's exp
	// stays denied for as long as the token is accepted, and a session's
	// end is as lenient as a token's.
	revoked, err := a.cfg.sessions.Revoked(r.Context(), c.SessionID, c.TokenID, now.Add(-a.cfg.leeway))
	switch {
	case err != nil:
		return storeError(err)
	case revoked:
		return errRevokedRefusal
	}
	return nil
}

// payloads pools the token.Payload a request's token is decoded into:
// with its storage for short lists it is about twice the size of the
// claims, and would make every request's allocation one that the garbage
// collector scans in full.
var payloads = sync.Pool{New: func() any { return new(token.Payload) }}

// extract returns the one token the request carries and its source
// ("header", "cookie" or ""). The header's token's characters are for the
// caller to check (bearer.Credentials).
func (a *Auth) extract(r *http.Request) (string, string, error) {
	var (
		tok    string
		source string
	)
	switch hv := r.Header["Authorization"]; len(hv) {
	case 0:
	case 1:
		t, dpop, err := bearer.SchemeCredentials(hv[0], a.cfg.maxTokenSize)
		if dpop && a.dpop.mode == DPoPOff {
			// DPoP off: another scheme, as Basic is.
			t, dpop, err = "", false, bearer.ErrOtherScheme
		}
		if dpop {
			source = "dpop"
		}
		switch {
		case err == nil && dpop:
			tok = t
		case err == nil:
			tok, source = t, "header"
		case errors.Is(err, bearer.ErrOtherScheme):
			// Not ours (Basic, Digest, …): as if there were no header. A
			// bare JWT is a client that forgot the scheme.
			if looksLikeJWT(hv[0]) {
				a.warn(r, &a.warnings.noScheme, `jwtguard: an Authorization header carries a token without the Bearer scheme; clients must send "Authorization: Bearer <token>"`)
			}
		case errors.Is(err, bearer.ErrTooLong):
			return "", "", fmt.Errorf("%w: Authorization header: %w", ErrInvalidToken, err)
		default:
			return "", "", fmt.Errorf("%w: Authorization header: %w", ErrInvalidRequest, err)
		}
	default:
		return "", "", fmt.Errorf("%w: %d Authorization headers", ErrInvalidRequest, len(hv))
	}
	if tok == "" && a.cfg.cookie != "" {
		v, err := a.cookieValue(r, a.cfg.cookie)
		if err != nil {
			return "", "", err
		}
		if v != "" {
			t, err := bearer.Token(v, a.cfg.maxTokenSize)
			if err != nil {
				return "", "", fmt.Errorf("%w: cookie: %w", ErrInvalidToken, err)
			}
			tok, source = t, "cookie"
		}
	}
	if a.cfg.queryParam != "" && r.URL.RawQuery != "" {
		// Not r.URL.Query(): it skips the pairs it cannot parse (a bad
		// escape, a ';'), which would hide a second token.
		t, found, err := bearer.QueryToken(r.URL.RawQuery, a.cfg.queryParam, a.cfg.maxTokenSize)
		switch {
		case errors.Is(err, bearer.ErrRepeated):
			return "", "", fmt.Errorf("%w: several tokens in the query: %w", ErrInvalidRequest, err)
		case errors.Is(err, bearer.ErrBadEscape):
			return "", "", fmt.Errorf("%w: query: %w", ErrInvalidRequest, err)
		case found && tok != "":
			return "", "", fmt.Errorf("%w: token in the query and in the %s", ErrInvalidRequest, source)
		case err != nil:
			return "", "", fmt.Errorf("%w: query parameter: %w", ErrInvalidToken, err)
		case found:
			tok = t
		}
	}
	if tok == "" {
		return "", "", ErrNoToken
	}
	return tok, source, nil
}

// cookieValue returns the value of the one non-empty cookie named name,
// "" for none. An empty cookie (as left by a logout) carries nothing.
// Several cookies of the name (one tossed in by a sibling subdomain beside
// ours, say) are refused rather than one picked; a sibling's cookie alone,
// in a browser that has none of ours, is the __Host- prefix's to stop
// (the access cookie) or the check cookie's (the refresh cookie). net/http drops a cookie whose value
// it cannot read (a '\', a '"', a non-ASCII byte) and every cookie past
// its count limit: one of ours dropped so is refused, not taken for none
// (which VerifyOptional serves).
func (a *Auth) cookieValue(r *http.Request, name string) (string, error) {
	named := r.CookiesNamed(name)
	if n := bearer.CookieCount(r.Header["Cookie"], name); n != len(named) {
		return "", fmt.Errorf("%w: malformed cookie: %d named %q, of which net/http reads %d", ErrInvalidRequest, n, name, len(named))
	}
	value := ""
	for _, ck := range named {
		if ck.Value == "" {
			continue
		}
		if value != "" {
			return "", fmt.Errorf("%w: several cookies named %q", ErrInvalidRequest, name)
		}
		value = ck.Value
	}
	return value, nil
}

// verifiedToken is what a verified request keeps: the claims handlers see,
// with storage for short aud and roles lists, in one allocation; the
// strings are views of the payload's JSON buffer, which Claims.Decode
// reads.
type verifiedToken struct {
	claims   Claims
	foreign  bool // a token of one of WithIssuers, not of the Auth's own keys
	audience [2]string
	roles    [4]string
}

// checkPayload checks what claimsFromPayload checks, making no claims.
func (a *Auth) checkPayload(p *token.Payload, rules *issuerRules) error {
	if p.Subject == "" && p.LegacyID == "" {
		return errNoSubject
	}
	if err := checkClientID(rules, p.JSON); err != nil {
		return err
	}
	if rc := a.rolesClaimOf(rules); rc != nil {
		if _, err := rolesAt(p.JSON, rc); err != nil {
			return fmt.Errorf("roles claim: %w", err)
		}
	}
	return nil
}

var errNoSubject = errors.New("no subject: neither sub nor id names the user")

// claimsFromPayload fills vt's claims from a verified payload, which is
// reused once it returns: its lists are copied into vt's storage. It makes
// the checks of checkPayload; rules are those of the token's issuer (nil:
// the Auth's own).
func (a *Auth) claimsFromPayload(vt *verifiedToken, p *token.Payload, rules *issuerRules) error {
	c := &vt.claims
	*c = Claims{
		Subject:       p.Subject,
		Username:      p.Username,
		Issuer:        p.Issuer,
		Audience:      copyList(vt.audience[:0], p.Audience),
		TokenID:       p.ID,
		SessionID:     p.SessionID,
		IssuedAt:      p.IssuedAt.Time,
		NotBefore:     p.NotBefore.Time,
		ExpiresAt:     p.ExpiresAt.Time,
		KeyThumbprint: p.Confirmation.JKT,
		json:          p.JSON,
	}
	if c.Subject == "" {
		c.Subject = string(p.LegacyID)
	}
	if c.Subject == "" {
		return errNoSubject
	}
	if p.Scope != "" {
		c.Scopes = strings.Fields(p.Scope)
	}
	if err := checkClientID(rules, p.JSON); err != nil {
		return err
	}
	if rc := a.rolesClaimOf(rules); rc != nil {
		roles, err := rolesAt(p.JSON, rc)
		if err != nil {
			return fmt.Errorf("roles claim: %w", err)
		}
		c.Roles = roles
		return nil
	}
	c.Roles = copyList(vt.roles[:0], p.Roles)
	if p.Role != "" && !slices.Contains(c.Roles, p.Role) {
		c.Roles = append(c.Roles, p.Role)
	}
	return nil
}

// copyList copies list into dst's storage: nil for nil, empty for an empty
// list (the claims say "roles": [] as the payload did), and capacity-clipped
// so that a caller's append to the result copies rather than writing into
// the storage after it.
func copyList(dst, list []string) []string {
	if list == nil {
		return nil
	}
	return slices.Clip(append(dst, list...))
}

// rolesAt reads the string or string array at path in the JSON object raw,
// with internal/strictjson: names match exactly, a name of the path that
// appears twice in its object is an error (rather than the last one
// winning), and the roles are decoded strictly. A missing claim, or null on
// the way, means no roles; a claim of another type is an error.
func rolesAt(raw []byte, path []string) ([]string, error) {
	for _, key := range path {
		if string(raw) == "null" {
			return nil, nil
		}
		v, found, err := strictjson.Lookup(raw, key)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, nil
		}
		raw = v
	}
	switch {
	case string(raw) == "null":
		return nil, nil
	case len(raw) > 0 && raw[0] == '"':
		s, err := strictjson.String(raw)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	default:
		return strictjson.Strings(raw)
	}
}

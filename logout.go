package jwtguard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/jwtguard/jwtguard/internal/bearer"
	"github.com/jwtguard/jwtguard/internal/token"
)

// LogoutHandler returns a handler for POST requests that end a session. The
// request carries the access token (as [Auth.Verify] reads it: the
// Authorization header, or the cookie of [WithCookie]), or the session's
// refresh token in the body (JSON {"refresh_token": "…"} or the form
// refresh_token=…, decoded as the refresh handler decodes them), or both.
// It revokes the session of each (so that its refresh tokens and every
// access token issued in it are refused from then on), denies the access
// token's jti until its exp (for a token issued outside a session, by
// [Auth.Issue]), and answers 204 No Content.
//
// Logout is idempotent: a token of a session already revoked, an access
// token already denied, and a refresh token the store does not know
// (RFC 7009 §2.2: an invalid token is no error) are all answered 204. An
// access token past its exp is taken too, when it is otherwise valid (its
// signature still names its session), so that a client whose access token
// has expired can log out with it. It refuses, through the [ErrorHandler]:
//
//   - a method other than POST: [ErrInvalidRequest], 405 with Allow: POST;
//   - no access token and no refresh token: [ErrNoToken], 401;
//   - an access token that Verify would refuse for another reason than its
//     age or its revocation, or a malformed Authorization header:
//     [ErrInvalidToken] or ErrInvalidRequest, 401 or 400, as Verify answers;
//   - a body that the refresh handler would refuse as malformed (a body
//     is optional: none, with no Content-Type, is fine): 400, 413 or 415;
//   - a session store that fails: [ErrOverloaded], 503 with Retry-After,
//     logged at Error level.
//
// In cookie mode ([WithCookieMode]) a logout must pass the CSRF check
// (403 cross_origin), takes the refresh cookie when the body carries no
// refresh token (every refresh cookie the request carries, the check
// cookie aside: ending a session planted by a sibling subdomain harms only
// its planter), takes an access cookie the server no longer accepts (a
// rotated key) as no access token, clears the cookies once the sessions
// have ended (a refused logout leaves them, to retry with), and answers an
// HTML form's logout with a 303 to CookieMode.LoginPage ("/" without one).
//
// It panics if the [Auth] has no session store ([WithSessions]).
func (a *Auth) LogoutHandler() http.Handler {
	a.mustBeNew("LogoutHandler")
	if a.cfg.sessions == nil {
		panic("jwtguard: LogoutHandler needs an Auth with a session store (WithSessions)")
	}
	return &logoutHandler{auth: a}
}

// LogoutEverywhereHandler returns a handler for POST requests that end
// every session of the caller's user: the request must carry an access
// token that [Auth.Verify] accepts (a client whose token has expired
// refreshes first), and every session of its subject is revoked, as is
// the token's jti; 204 No Content. It refuses as Verify refuses, and a
// session store that fails as the logout handler does. Use it for "sign
// out of all devices"; after a password change or a suspected compromise,
// call the SessionStore's RevokeUserSessions yourself.
//
// It panics if the [Auth] has no session store ([WithSessions]).
func (a *Auth) LogoutEverywhereHandler() http.Handler {
	a.mustBeNew("LogoutEverywhereHandler")
	if a.cfg.sessions == nil {
		panic("jwtguard: LogoutEverywhereHandler needs an Auth with a session store (WithSessions)")
	}
	return &logoutHandler{auth: a, everywhere: true}
}

type logoutHandler struct {
	auth       *Auth
	everywhere bool
}

func (h *logoutHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.auth
	if !a.postOnly(w, r) {
		return
	}
	var (
		err    error
		bearer bool // a refusal of the request's access token, with a challenge
	)
	form := a.cookies != nil && isFormRequest(r) // a page's logout button
	switch err = a.checkOrigin(r); {
	case err != nil:
	case h.everywhere:
		bearer, err = h.logoutEverywhere(r)
	default:
		bearer, err = h.logout(w, r)
	}
	if a.cookies != nil && err == nil {
		// Only once the sessions have ended: a refused logout leaves the
		// browser its cookies to retry with (or to refresh with first),
		// rather than forgetting a session that lives on.
		a.clearTokenCookies(w)
	}
	switch {
	case err == nil && form:
		formRedirect(w, r, cmp.Or(a.cookies.loginPage, "/"))
	case err == nil:
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	case bearer:
		a.refuseBearer(w, r, err)
	default:
		if errors.Is(err, ErrOverloaded) {
			w.Header().Set("Retry-After", "1")
		}
		a.refuse(w, r, err)
	}
}

// logout revokes the sessions of the request's access token and refresh
// token.
func (h *logoutHandler) logout(w http.ResponseWriter, r *http.Request) (bearer bool, err error) {
	a, ctx := h.auth, r.Context()
	p, source, err := a.logoutToken(r)
	var staleCookie error
	if err != nil {
		if a.cookies == nil || source != "cookie" || !errors.Is(err, ErrInvalidToken) {
			return true, err
		}
		// An access cookie the server no longer takes (a rotated key, a
		// changed issuer): the refresh cookie may still end the session,
		// and the logout must not leave it alive.
		staleCookie = err
	}
	refresh, err := logoutBody(w, r, a.maxLoginBody)
	if err != nil {
		return false, err
	}
	var fromCookies []string
	if refresh == "" && a.cookies != nil {
		fromCookies = a.refreshCookiesForLogout(r)
	}
	switch {
	case p == nil && refresh == "" && len(fromCookies) == 0 && staleCookie != nil:
		return true, staleCookie
	case p == nil && refresh == "" && len(fromCookies) == 0:
		return true, refusalOf(ErrNoToken, errNoLogoutToken)
	case p != nil && p.SessionID == "" && p.ID == "":
		// Valid (minted elsewhere with the key, say), and nothing to
		// revoke or deny it by: a 204 would say it was logged out.
		return false, fmt.Errorf("%w: an access token with neither sid nor jti cannot be logged out", ErrInvalidRequest)
	}
	now := a.cfg.now()
	if p != nil {
		if err := h.endToken(ctx, r, p, now); err != nil {
			return false, err
		}
	}
	if staleCookie != nil {
		a.log.LogAttrs(ctx, slog.LevelInfo, "jwtguard: logout: the access cookie is refused; ending the refresh cookie's session",
			slog.String("reason", staleCookie.Error()), slog.String("remote_addr", r.RemoteAddr))
	}
	for _, tok := range append(fromCookies, refresh) {
		if tok == "" || !isRefreshToken(tok) {
			continue
		}
		s, err := a.cfg.sessions.LookupSession(ctx, HashRefreshToken(tok))
		switch {
		case errors.Is(err, ErrRefreshTokenInvalid):
			// Unknown, or forgotten: nothing to end (RFC 7009 §2.2).
		case err != nil:
			return false, storeError(err)
		default:
			if err := a.cfg.sessions.RevokeSession(ctx, s.ID, now); err != nil {
				return false, storeError(err)
			}
			a.log.LogAttrs(ctx, slog.LevelInfo, "jwtguard: logout",
				slog.String("user_id", s.UserID), slog.String("session_id", s.ID), slog.String("remote_addr", r.RemoteAddr))
		}
	}
	return false, nil
}

var errNoLogoutToken = errors.New("a logout with neither an access token nor a refresh token")

// denyUntil is how long a logout denies an access token that expires at
// exp: until the last instant Verify would take it, exp plus the leeway,
// so that a store may forget the denial at that time by its own clock.
// (Verify asks the store as of now less the leeway, which keeps a denial
// for twice the leeway past exp; a store must not forget it before
// until.)
func (a *Auth) denyUntil(exp time.Time) time.Time { return exp.Add(a.cfg.leeway) }

// endToken revokes the session of the access token p and denies its jti
// until its exp.
func (h *logoutHandler) endToken(ctx context.Context, r *http.Request, p *token.Payload, now time.Time) error {
	a := h.auth
	if p.SessionID != "" {
		if err := a.cfg.sessions.RevokeSession(ctx, p.SessionID, now); err != nil {
			return storeError(err)
		}
	}
	if p.ID != "" && !p.ExpiresAt.Before(now.Add(-a.cfg.leeway)) {
		if err := a.cfg.sessions.DenyAccessToken(ctx, p.ID, a.denyUntil(p.ExpiresAt.Time)); err != nil {
			return storeError(err)
		}
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "jwtguard: logout",
		slog.String("user_id", p.Subject), slog.String("session_id", p.SessionID), slog.String("remote_addr", r.RemoteAddr))
	return nil
}

// logoutEverywhere revokes every session of the request's verified access
// token's subject.
func (h *logoutHandler) logoutEverywhere(r *http.Request) (bearer bool, err error) {
	a, ctx := h.auth, r.Context()
	vt, err := a.authenticate(r)
	if err != nil {
		return true, err // a 503 (the store failed) carries no challenge either
	}
	if vt.foreign {
		return true, fmt.Errorf("%w: %w", ErrInvalidToken, errForeignLogout)
	}
	c := &vt.claims
	if err := a.cfg.sessions.RevokeUserSessions(ctx, c.Subject, a.cfg.now()); err != nil {
		return false, storeError(err)
	}
	if c.TokenID != "" {
		if err := a.cfg.sessions.DenyAccessToken(ctx, c.TokenID, a.denyUntil(c.ExpiresAt)); err != nil {
			return false, storeError(err)
		}
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "jwtguard: logout everywhere",
		slog.String("user_id", c.Subject), slog.String("remote_addr", r.RemoteAddr))
	return false, nil
}

// logoutToken returns the payload of the request's access token, nil when
// it has none, verified as Verify verifies it but for its age (a token
// past its exp that passes every other check is taken: its signature
// still names its session) and its revocation (a second logout is no
// error).
// errForeignLogout refuses a logout with the token of one of WithIssuers.
var errForeignLogout = errors.New("a token of another issuer (WithIssuers) cannot end this service's sessions")

func (a *Auth) logoutToken(r *http.Request) (_ *token.Payload, source string, _ error) {
	tok, source, err := a.extract(r)
	switch {
	case errors.Is(err, ErrNoToken):
		return nil, "", nil
	case err != nil:
		return nil, "", err
	}
	rules, err := a.rulesFor(tok)
	switch {
	case err != nil:
		return nil, source, refusalOf(ErrInvalidToken, err)
	case rules != nil:
		// Its sub, sid and jti are the other issuer's, not names of this
		// service's users and sessions.
		return nil, source, fmt.Errorf("%w: %w", ErrInvalidToken, errForeignLogout)
	}
	p, verr := a.verifier.Verify(r.Context(), tok)
	switch {
	case errors.Is(verr, token.ErrUnavailable):
		return nil, source, keysUnavailable(r, verr, &a.warnings.keysDown)
	case verr != nil && !errors.Is(verr, token.ErrExpired):
		if source == "header" {
			if _, err := bearer.Token(tok, 0); err != nil {
				return nil, source, fmt.Errorf("%w: Authorization header: %w", ErrInvalidRequest, err)
			}
		}
		return nil, source, refusalOf(ErrInvalidToken, verr)
	case p.Subject == "" && p.LegacyID == "":
		return nil, source, fmt.Errorf("%w: %w", ErrInvalidToken, errNoSubject)
	}
	if p.Subject == "" {
		p.Subject = string(p.LegacyID)
	}
	return p, source, nil
}

// refreshCookiesForLogout returns the tokens of every refresh cookie the
// request carries (at most 4), without the check cookie's say: a logout
// only ends sessions, and ending one that a sibling subdomain planted
// harms only its planter, while refusing would leave the browser's own
// session alive.
func (a *Auth) refreshCookiesForLogout(r *http.Request) []string {
	var toks []string
	for _, c := range r.CookiesNamed(a.cookies.refresh) {
		if c.Value != "" && !slices.Contains(toks, c.Value) && len(toks) < 4 {
			toks = append(toks, c.Value)
		}
	}
	return toks
}

// logoutBody returns the refresh token of a logout's body, "" for none. A
// body is optional: an empty one, whatever its Content-Type says (many
// clients send application/json with no body), carries no token; one that
// is not empty must be of a type the refresh handler reads.
func logoutBody(w http.ResponseWriter, r *http.Request, limit int64) (string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	switch {
	case err != nil:
		return "", bodyError(err)
	case len(body) == 0:
		return "", nil
	}
	return refreshBody(r.Header.Get("Content-Type"), body, false)
}

package jwtguard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/internal/form"
	"github.com/jwtguard/jwtguard/internal/strictjson"
)

// maxRefreshGrace bounds WithRefreshGrace: Cognito allows 0 to 60 seconds,
// and a retry after a lost answer comes within seconds.
const maxRefreshGrace = time.Minute

// WithRefreshGrace sets the refresh handler's grace window: for grace
// after a refresh, the refresh token it spent may be presented again
// without revoking the session, by a client that lost the answer and
// retries. The retry gets a new pair of tokens, and the refresh token the
// lost answer carried is then spent without revoking the session (a store
// keeps only hashes, so it cannot hand the lost answer out again). Only
// the token the latest refresh spent has a window, and retries do not
// extend it. The price: a thief replaying a token the owner has just
// refreshed, inside the window, gets a pair too, and the owner's new token
// is then refused (the owner logs in again; see [SessionStore]'s
// RotateSession). Default: 0, no window: a spent token presented again
// always revokes its session. At most a minute.
func WithRefreshGrace(grace time.Duration) Option {
	return func(c *config) { c.refreshGrace = grace }
}

// RefreshHandler returns a handler for POST requests that exchange a
// refresh token, which a login or an earlier refresh issued, for a new
// access token and a new refresh token (OAuth 2.1 §4.3: the refresh token
// rotates, and the one presented is spent). The body is JSON
//
//	{"refresh_token": "…"}
//
// (an optional "grant_type" member must be "refresh_token"), decoded as
// strictly as a login, or the RFC 6749 §6 form
//
//	grant_type=refresh_token&refresh_token=…
//
// (application/x-www-form-urlencoded: a parameter given twice, a ';' or a
// malformed escape is refused, other parameters are ignored). It answers 200
// with a [TokenResponse] and Cache-Control: no-store. The user the
// session was started for is looked up again by ID in users, so that the
// new access token carries the roles the user has now. It refuses, through
// the [ErrorHandler]:
//
//   - a method other than POST: [ErrInvalidRequest], 405 with Allow: POST;
//   - a Content-Type other than application/json or
//     application/x-www-form-urlencoded (charset, if given, utf-8): 415;
//   - a body over LoginPolicy.MaxBodySize: 413;
//   - a body of another shape, or without a refresh token: 400
//     invalid_request; a grant_type other than refresh_token: 400
//     unsupported_grant_type;
//   - a refresh token that is unknown, spent, superseded (see
//     [WithRefreshGrace]), or of a session that is revoked, past its end or
//     idle too long ([WithSessionLifetime]), or of a user who is gone or
//     disabled (whose session is then revoked): [ErrInvalidGrant], 400
//     invalid_grant (RFC 6749 §5.2), all with the same body;
//   - a session store that fails: [ErrOverloaded], 503 with Retry-After,
//     logged at Error level, and so is a user store that fails.
//
// A spent refresh token presented again, outside the grace window, is
// reuse: a sign that the token was stolen (or that a client kept an old
// one). The session is revoked, so its newest refresh token and its live
// access tokens are refused too, the refusal is counted as refresh_reused
// in [Stats], and the operator is told at Warn level.
//
// In cookie mode ([WithCookieMode]) a refresh must pass the CSRF check
// (403 cross_origin); a request with an empty body takes the refresh
// cookie's token and is answered with new cookies and a body without
// tokens ({"token_type", "expires_in"}); one whose body carries the token
// gets the tokens in the body and the cookies.
//
// It panics if the [Auth] has no session store ([WithSessions]) or users
// is nil. Register it for the bare path ("/api/auth/refresh"), as for the
// login handler.
func (a *Auth) RefreshHandler(users UserByIDStore) http.Handler {
	a.mustSign("RefreshHandler")
	if a.cfg.sessions == nil {
		panic("jwtguard: RefreshHandler needs an Auth with a session store (WithSessions)")
	}
	if users == nil {
		panic("jwtguard: RefreshHandler with a nil UserByIDStore")
	}
	return &refreshHandler{auth: a, users: users}
}

type refreshHandler struct {
	auth  *Auth
	users UserByIDStore
}

func (h *refreshHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.auth
	if !a.postOnly(w, r) {
		return
	}
	tok, fromCookie, err := h.token(w, r)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	tr, s, err := h.refresh(r.Context(), r, tok)
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			w.Header().Set("Retry-After", "1")
		}
		a.refuse(w, r, err)
		return
	}
	a.nextNonce(w, tr)
	if a.cookies != nil {
		a.setTokenCookies(w, tr, s.ExpiresAt)
	}
	if fromCookie {
		// The client keeps its tokens in cookies: a script on its page
		// that made this refresh reads no token out of the answer.
		writeJSON(w, http.StatusOK, cookieResponse{TokenType: tr.TokenType, ExpiresIn: tr.ExpiresIn})
		return
	}
	resp := loginResponse{TokenResponse: tr}
	if a.cfg.login.TokenField {
		resp.Token = tr.AccessToken
	}
	writeJSON(w, http.StatusOK, resp)
}

// cookieResponse is the answer of a refresh whose token came from its
// cookie: the new tokens are in cookies only.
type cookieResponse struct {
	TokenType string `json:"token_type"`
	ExpiresIn int64  `json:"expires_in"`
}

// token returns the request's refresh token: the body's, or, in cookie
// mode when the body is empty, the refresh cookie's (fromCookie). In
// cookie mode the request must pass the CSRF check first.
func (h *refreshHandler) token(w http.ResponseWriter, r *http.Request) (tok string, fromCookie bool, err error) {
	a := h.auth
	if a.cookies == nil {
		tok, err = decodeRefresh(w, r, a.maxLoginBody, true)
		return tok, false, err
	}
	if err := a.checkOrigin(r); err != nil {
		return "", false, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxLoginBody))
	switch {
	case err != nil:
		return "", false, bodyError(err)
	case len(body) > 0:
		tok, err = refreshBody(r.Header.Get("Content-Type"), body, true)
		return tok, false, err
	}
	tok, err = a.refreshFromCookie(r)
	if err == nil && tok == "" {
		err = fmt.Errorf("%w: no refresh token in the body or the cookie", ErrInvalidRequest)
	}
	return tok, true, err
}

// refresh rotates the refresh token tok and issues the new pair in the
// session it returns.
func (h *refreshHandler) refresh(ctx context.Context, r *http.Request, tok string) (TokenResponse, Session, error) {
	a, sessions := h.auth, h.auth.cfg.sessions
	if !isRefreshToken(tok) {
		return TokenResponse{}, Session{}, fmt.Errorf("%w: %w: not of the refresh tokens' shape", ErrInvalidGrant, ErrRefreshTokenInvalid)
	}
	presented := HashRefreshToken(tok)
	// The user is read before the token is spent, so that a user store
	// that fails leaves the client its token to retry with.
	s, err := sessions.LookupSession(ctx, presented)
	if err != nil {
		return TokenResponse{}, Session{}, grantError(err)
	}
	// A session bound to a DPoP key is refreshed with proofs of that key
	// only; a bearer session without one (see grantProof).
	proof, err := a.grantProof(r, &s.KeyBinding, a.cfg.now())
	if err == nil {
		err = grantProofError(a.record(r, proof, a.cfg.now()))
	}
	if err != nil {
		return TokenResponse{}, Session{}, err
	}
	u, err := h.users.LookupUserByID(ctx, s.UserID)
	switch {
	case errors.Is(err, ErrUserNotFound), errors.Is(err, sql.ErrNoRows):
		return TokenResponse{}, Session{}, h.endSession(ctx, r, s, "the user no longer exists")
	case err != nil && ctx.Err() != nil:
		return TokenResponse{}, Session{}, fmt.Errorf("%w: request cancelled during the user lookup: %w", ErrOverloaded, err)
	case err != nil:
		return TokenResponse{}, Session{}, userStoreError(err)
	case u.Disabled:
		return TokenResponse{}, Session{}, h.endSession(ctx, r, s, "the user is disabled")
	}
	// The access token is made before the refresh token is spent (its
	// session's ID and end do not change), so that a WithClaims function
	// that fails leaves the client its token to retry with.
	d, err := a.draft(ctx, u, s, proof.jkt)
	if err != nil {
		return TokenResponse{}, Session{}, err
	}
	next := newRefreshToken()
	rotated, err := sessions.RotateSession(ctx, presented, HashRefreshToken(next), a.cfg.now(), a.cfg.refreshGrace)
	if err != nil {
		if errors.Is(err, ErrRefreshTokenReused) {
			a.log.LogAttrs(ctx, slog.LevelWarn, "jwtguard: a spent refresh token was presented again; its session is revoked (a stolen token, or a client that kept an old one)",
				slog.String("session_id", s.ID), slog.String("user_id", u.ID), slog.String("remote_addr", r.RemoteAddr))
		}
		return TokenResponse{}, Session{}, grantError(err)
	}
	tr, err := a.sign(d)
	if err != nil {
		return TokenResponse{}, Session{}, err
	}
	tr.RefreshToken = next
	a.log.LogAttrs(ctx, slog.LevelInfo, "jwtguard: refresh",
		slog.String("user_id", u.ID), slog.String("session_id", rotated.ID), slog.String("remote_addr", r.RemoteAddr))
	return tr, rotated, nil
}

// endSession revokes s, whose user can no longer sign in (why), and
// returns the refusal of its refresh.
func (h *refreshHandler) endSession(ctx context.Context, r *http.Request, s Session, why string) error {
	if err := h.auth.cfg.sessions.RevokeSession(ctx, s.ID, h.auth.cfg.now()); err != nil {
		return storeError(err)
	}
	return fmt.Errorf("%w: %w: %s; session %s revoked", ErrInvalidGrant, ErrRefreshTokenInvalid, why, s.ID)
}

// grantError maps an error of a SessionStore to the refusal it is.
func grantError(err error) error {
	switch {
	case errors.Is(err, ErrRefreshTokenInvalid), errors.Is(err, ErrRefreshTokenReused), errors.Is(err, ErrRefreshTokenSuperseded):
		return fmt.Errorf("%w: %w", ErrInvalidGrant, err)
	}
	return storeError(err)
}

// isRefreshToken reports whether tok has the shape of the refresh tokens
// newRefreshToken makes: 43 characters of base64url. Other strings are
// refused without a store call.
func isRefreshToken(tok string) bool {
	if len(tok) != 43 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeRefresh reads the refresh token of a refresh request (grant) or a
// logout's body, read whole up to limit: JSON {"refresh_token": "…"},
// strictly, or an application/x-www-form-urlencoded form (form.Decode's
// rules). A refresh's JSON may name its grant_type, a refresh's form must
// (RFC 6749 §6), and it must be refresh_token; a logout's body has no
// grant_type (in a form it is ignored, as other parameters are). It returns
// "" when a logout's body carries no token.
func decodeRefresh(w http.ResponseWriter, r *http.Request, limit int64, grant bool) (string, error) {
	ct := r.Header.Get("Content-Type")
	if _, err := refreshMediaType(ct); err != nil {
		return "", err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return "", bodyError(err)
	}
	return refreshBody(ct, body, grant)
}

// refreshMediaType returns the media type of a refresh or logout body's
// Content-Type, refusing one the handlers do not read.
func refreshMediaType(ct string) (string, error) {
	mt, err := mediaType(ct)
	if err == nil && mt != "application/json" && mt != "application/x-www-form-urlencoded" {
		err = fmt.Errorf("%w: Content-Type %q", errUnsupportedMediaType, mt)
	}
	return mt, err
}

// refreshBody is decodeRefresh of a body already read.
func refreshBody(ct string, body []byte, grant bool) (string, error) {
	mt, err := refreshMediaType(ct)
	if err != nil {
		return "", err
	}
	var tok, grantType string
	if mt == "application/json" {
		fields := []strictjson.StringField{{Name: "refresh_token", Dst: &tok, Optional: !grant}}
		if grant {
			fields = append(fields, strictjson.StringField{Name: "grant_type", Dst: &grantType, Optional: true})
		}
		if err := strictjson.StringObject(body, fields...); err != nil {
			return "", fmt.Errorf("%w: body: %w", ErrInvalidRequest, err)
		}
		if grant && grantType == "" {
			grantType = "refresh_token"
		}
	} else {
		fields := []form.Field{{Name: "refresh_token", Dst: &tok}}
		if grant {
			fields = append(fields, form.Field{Name: "grant_type", Dst: &grantType})
		}
		if err := form.Decode(body, fields...); err != nil {
			return "", fmt.Errorf("%w: form body: %w", ErrInvalidRequest, err)
		}
	}
	switch {
	case !grant:
	case grantType == "":
		return "", fmt.Errorf("%w: the form lacks grant_type", ErrInvalidRequest)
	case grantType != "refresh_token":
		return "", fmt.Errorf("%w: grant_type of %d bytes", errUnsupportedGrantType, len(grantType))
	case tok == "":
		return "", fmt.Errorf("%w: the body lacks a refresh_token", ErrInvalidRequest)
	}
	return tok, nil
}

// mediaType returns the media type of a Content-Type value, refusing a
// charset other than utf-8.
func mediaType(ct string) (string, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", fmt.Errorf("%w: Content-Type %q", errUnsupportedMediaType, ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", fmt.Errorf("%w: charset %q", errUnsupportedMediaType, cs)
	}
	return mt, nil
}

package jwtguard

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
)

// Every refusal jwtguard makes is reported to the ErrorHandler as an error
// that wraps exactly one of these sentinels, so errors.Is tells them apart.
// The wrapped detail is for operators; the default handler never sends it.
var (
	// ErrNoToken: the request carries no bearer token (no Authorization
	// header, or one with another scheme, and no configured cookie or query
	// parameter). 401 with a bare Bearer challenge (RFC 6750 §3.1).
	ErrNoToken = errors.New("jwtguard: no bearer token")
	// ErrInvalidRequest: the request is malformed: a Bearer header without
	// exactly one well-formed token, several Authorization headers, a token
	// sent by more than one method, or a login body that is not the expected
	// JSON object. 400 invalid_request.
	ErrInvalidRequest = errors.New("jwtguard: invalid request")
	// ErrInvalidToken: the token is malformed, too long, badly signed,
	// signed with another algorithm, or its claims fail a check. 401
	// invalid_token.
	ErrInvalidToken = errors.New("jwtguard: invalid token")
	// ErrTokenExpired: the token is well signed but past its exp, beyond the
	// leeway. 401 invalid_token.
	ErrTokenExpired = errors.New("jwtguard: token expired")
	// ErrForbidden: the verified claims lack the role, scope or property a
	// route requires. 403 insufficient_scope.
	ErrForbidden = errors.New("jwtguard: insufficient scope")
	// ErrInvalidCredentials: a login named an unknown user, gave a wrong
	// password, a password over 72 bytes, or a disabled account. The client
	// cannot tell which. 401 invalid_credentials.
	ErrInvalidCredentials = errors.New("jwtguard: invalid credentials")
	// ErrMethodNotAllowed: a login request not sent with POST. 405 with
	// Allow: POST.
	ErrMethodNotAllowed = errors.New("jwtguard: method not allowed")
	// ErrUnsupportedMediaType: a login request whose Content-Type is not
	// application/json (with or without charset=utf-8). 415.
	ErrUnsupportedMediaType = errors.New("jwtguard: unsupported media type")
	// ErrRequestTooLarge: a login body over the configured bound. 413.
	ErrRequestTooLarge = errors.New("jwtguard: request body too large")
	// ErrTooManyRequests: too many failed logins for the account or the
	// client address (WithAccountThrottle, WithAddressThrottle). 429 with
	// Retry-After.
	ErrTooManyRequests = errors.New("jwtguard: too many failed logins")
	// ErrOverloaded: no password-hashing budget or comparison slot became
	// free within the login wait, or too many logins wait already. 503 with
	// Retry-After.
	ErrOverloaded = errors.New("jwtguard: login capacity exhausted")
	// ErrInternal: a dependency failed (the UserStore returned an error
	// other than ErrUserNotFound, a token could not be signed). 500.
	ErrInternal = errors.New("jwtguard: internal error")
)

// ErrorHandler writes the response for a refused request. err wraps one of
// the Err… sentinels of this package. An ErrorHandler must not write err's
// text to the client: it can carry operator detail. It may delegate to
// (*Auth).WriteError for the cases it does not customise.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// refusal is how one sentinel is answered.
type refusal struct {
	sentinel  error
	status    int
	code      string // RFC 6750 error code, or ours for non-Bearer refusals
	challenge string // the error attribute of WWW-Authenticate, if any
	level     slog.Level
	body      []byte // fixed JSON body
}

func newRefusal(sentinel error, status int, code, message, challenge string, level slog.Level) refusal {
	body := `{"error":` + strconv.Quote(code) + `,"message":` + strconv.Quote(message) + "}\n"
	return refusal{sentinel, status, code, challenge, level, []byte(body)}
}

// refusals maps each sentinel to its response. Messages are fixed text: they
// say what kind of refusal it is and nothing about the token or the user.
var refusals = [...]refusal{
	newRefusal(ErrNoToken, http.StatusUnauthorized, "unauthorized", "authentication required", "", slog.LevelDebug),
	newRefusal(ErrInvalidRequest, http.StatusBadRequest, "invalid_request", "the request is malformed", "invalid_request", slog.LevelInfo),
	// Expired tokens are routine (a client refreshes after one): Debug.
	newRefusal(ErrTokenExpired, http.StatusUnauthorized, "invalid_token", "the access token expired", "invalid_token", slog.LevelDebug),
	newRefusal(ErrInvalidToken, http.StatusUnauthorized, "invalid_token", "the access token is invalid", "invalid_token", slog.LevelInfo),
	newRefusal(ErrForbidden, http.StatusForbidden, "insufficient_scope", "the access token does not grant access to this resource", "insufficient_scope", slog.LevelInfo),
	newRefusal(ErrInvalidCredentials, http.StatusUnauthorized, "invalid_credentials", "invalid username or password", "", slog.LevelInfo),
	newRefusal(ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed", "use POST", "", slog.LevelDebug),
	newRefusal(ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json", "", slog.LevelDebug),
	newRefusal(ErrRequestTooLarge, http.StatusRequestEntityTooLarge, "request_too_large", "the request body is too large", "", slog.LevelInfo),
	// A flood makes these by the thousand: logged per request at Info and
	// Debug; the password checker warns about the flood itself, at most
	// every 10 s.
	newRefusal(ErrTooManyRequests, http.StatusTooManyRequests, "too_many_requests", "too many failed logins; try again later", "", slog.LevelInfo),
	newRefusal(ErrOverloaded, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", "", slog.LevelDebug),
	newRefusal(ErrInternal, http.StatusInternalServerError, "server_error", "internal server error", "", slog.LevelError),
}

// refusalFor returns how err is answered; an error that wraps no sentinel
// is answered as ErrInternal.
func refusalFor(err error) *refusal {
	for i := range refusals {
		if errors.Is(err, refusals[i].sentinel) {
			return &refusals[i]
		}
	}
	return &refusals[len(refusals)-1]
}

// WriteError is the default ErrorHandler. It maps err to a status code and a
// fixed JSON body {"error": code, "message": text} and sets Content-Type,
// X-Content-Type-Options: nosniff and Cache-Control: no-store. Refusals made
// by Verify, VerifyOptional, Authorize and Require (400, 401, 403) also get a
// WWW-Authenticate challenge with the configured realm and, except for
// ErrNoToken, the RFC 6750 error code. Login refusals carry no challenge: a
// password form is not a Bearer resource. err's text is never written. An
// error that wraps no Err… sentinel is answered 500.
//
// WriteError does not log; the middleware and handlers log each refusal
// before calling the ErrorHandler.
func (a *Auth) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	ref := refusalFor(err)
	h := w.Header()
	var br bearerRefusal
	if errors.As(err, &br) {
		h.Set("WWW-Authenticate", a.challenge(ref.challenge))
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(ref.status)
	w.Write(ref.body)
}

// challenge returns the WWW-Authenticate value for an RFC 6750 error code
// ("" for none). The values are built once in New.
func (a *Auth) challenge(code string) string {
	switch code {
	case "":
		return a.challenges[0]
	case "invalid_request":
		return a.challenges[1]
	case "invalid_token":
		return a.challenges[2]
	default:
		return a.challenges[3]
	}
}

// bearerRefusal marks a refusal of a request for a Bearer-protected
// resource, which WriteError answers with a challenge (RFC 6750 §3).
type bearerRefusal struct{ error }

func (e bearerRefusal) Unwrap() error { return e.error }

// refuse logs err for the operator and hands it to the ErrorHandler.
func (a *Auth) refuse(w http.ResponseWriter, r *http.Request, err error) {
	ref := refusalFor(err)
	if a.log.Enabled(r.Context(), ref.level) {
		a.log.LogAttrs(r.Context(), ref.level, "jwtguard: request refused",
			slog.Int("status", ref.status),
			slog.String("reason", err.Error()),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("remote_addr", r.RemoteAddr),
		)
	}
	a.errorHandler(w, r, err)
}

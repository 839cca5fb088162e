package jwtguard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/jwtguard/jwtguard/internal/token"
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
	// sent by more than one method, or a login, refresh or logout body that
	// is not of the expected shape (400 invalid_request; a refresh's
	// grant_type other than refresh_token: 400 unsupported_grant_type); or
	// a login, refresh or logout request sent with a method other than POST
	// (405 with Allow: POST), a Content-Type the handler does not read
	// (415), or a body over LoginPolicy.MaxBodySize (413).
	ErrInvalidRequest = errors.New("jwtguard: invalid request")
	// ErrInvalidToken: the token is malformed, too long, badly signed,
	// signed with another algorithm, or its claims fail a check. 401
	// invalid_token.
	ErrInvalidToken = errors.New("jwtguard: invalid token")
	// ErrTokenExpired: the token is well signed and passes every other
	// check (issuer, audience, nbf, iat, subject, roles claim) but is past
	// its exp, beyond the leeway. An expired token that fails another check
	// is ErrInvalidToken. 401 invalid_token.
	ErrTokenExpired = errors.New("jwtguard: token expired")
	// ErrForbidden: the verified claims lack the role, scope or property a
	// route requires. 403 insufficient_scope.
	ErrForbidden = errors.New("jwtguard: insufficient scope")
	// ErrInvalidCredentials: a login named an unknown user, gave a wrong
	// password or a password over 72 bytes, or named a disabled account or
	// one whose stored hash cannot be used. The client cannot tell which.
	// 401 invalid_credentials.
	ErrInvalidCredentials = errors.New("jwtguard: invalid credentials")
	// ErrTooManyRequests: too many failed logins for the account or the
	// client address (LoginPolicy.Account and Address), or too many
	// registrations from the address (RegisterPolicy.Address). 429 with
	// Retry-After.
	ErrTooManyRequests = errors.New("jwtguard: too many failed logins")
	// ErrOverloaded: no password-hashing budget or bcrypt slot became
	// free within the login wait for a login or a registration, or too
	// many wait already; or a store the request needs (a Throttle, a
	// SessionStore, a UserStore) failed. 503 with Retry-After.
	ErrOverloaded = errors.New("jwtguard: temporarily unavailable")
	// ErrInvalidGrant: a refresh presented a refresh token that is
	// unknown, spent, superseded, or of a session that is revoked, expired
	// or idle too long, or of a user who is gone or disabled. 400
	// invalid_grant (RFC 6749 §5.2).
	ErrInvalidGrant = errors.New("jwtguard: invalid grant")
	// ErrInternal: something that a retry does not mend failed (a token
	// could not be signed, a stored password hash is not bcrypt, a
	// NewMemoryStore is full). 500.
	ErrInternal = errors.New("jwtguard: internal error")
)

// Login requests of the wrong shape: each wraps ErrInvalidRequest and has an
// answer of its own.
var (
	errMethodNotAllowed     = fmt.Errorf("%w: method not allowed", ErrInvalidRequest)
	errUnsupportedMediaType = fmt.Errorf("%w: unsupported media type", ErrInvalidRequest)
	errRequestTooLarge      = fmt.Errorf("%w: request body too large", ErrInvalidRequest)
	errUnsupportedGrantType = fmt.Errorf("%w: unsupported grant type", ErrInvalidRequest)
)

// ErrorHandler writes the response for a refused request. err wraps one of
// the Err… sentinels of this package, so errors.Is tells them apart; it also
// has the methods
//
//	StatusCode() int   // the HTTP status WriteError would send
//	Challenge() string // the WWW-Authenticate value, "" for none
//
// which errors.As finds through an interface with those methods. An
// [ErrorHandler] must not write err's text to the client: it carries operator
// detail. The handlers set Retry-After (a 503) and DPoP-Nonce (a
// use_dpop_nonce refusal) on w before they call it. It may delegate to
// [WriteError] for the cases it does not customise.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// refusal is how one sentinel is answered.
type refusal struct {
	sentinel error
	status   int
	code     string // the error member of the body; RFC 6750 §3.1 for Bearer refusals
	reason   string // the reason member of the body: stable, finer than code
	message  string // fixed human text: the body's message and the error_description
	level    slog.Level
	body     []byte // fixed JSON body
}

func newRefusal(sentinel error, status int, code, reason, message string, level slog.Level) refusal {
	body := `{"error":` + strconv.Quote(code) + `,"reason":` + strconv.Quote(reason) + `,"message":` + strconv.Quote(message) + "}\n"
	return refusal{sentinel, status, code, reason, message, level, []byte(body)}
}

// refusals maps each sentinel to its response; an error that wraps
// another sentinel (errUnsupportedGrantType wraps ErrInvalidRequest) comes
// before it, so that walking the table finds the finer one first.
// Messages are fixed text: they say what kind of refusal it is and
// nothing about the token or the user.
// The codes of the Bearer refusals (400, 401 and 403 from Verify and
// Require) are RFC 6750's and go into the challenge too.
var refusals = [...]refusal{
	newRefusal(ErrNoToken, http.StatusUnauthorized, "unauthorized", "no_token", "authentication required", slog.LevelDebug),
	// DPoP proofs refused at the login and refresh handlers (RFC 9449
	// §5, §8: a token endpoint's 400), then at a protected resource (§7.1,
	// §9: 401 with a DPoP challenge).
	newRefusal(errGrantNonce, http.StatusBadRequest, "use_dpop_nonce", "use_dpop_nonce", "a DPoP nonce is required: retry with the one in the DPoP-Nonce header", slog.LevelDebug),
	newRefusal(errGrantProof, http.StatusBadRequest, "invalid_dpop_proof", "invalid_dpop_proof", "the DPoP proof is invalid", slog.LevelInfo),
	newRefusal(errUseDPoPNonce, http.StatusUnauthorized, "use_dpop_nonce", "use_dpop_nonce", "a DPoP nonce is required: retry with the one in the DPoP-Nonce header", slog.LevelDebug),
	newRefusal(ErrInvalidDPoPProof, http.StatusUnauthorized, "invalid_dpop_proof", "invalid_dpop_proof", "the DPoP proof is invalid", slog.LevelInfo),
	newRefusal(errMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed", "method_not_allowed", "use POST", slog.LevelDebug),
	newRefusal(errUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported_media_type", "the Content-Type is not supported", slog.LevelDebug),
	newRefusal(errRequestTooLarge, http.StatusRequestEntityTooLarge, "request_too_large", "request_too_large", "the request body is too large", slog.LevelInfo),
	newRefusal(errUsernameRejected, http.StatusBadRequest, "invalid_username", "invalid_username", "usernames are 3 to 64 letters, digits and . _ - @ +, beginning and ending with a letter or a digit", slog.LevelInfo),
	newRefusal(errUnsupportedGrantType, http.StatusBadRequest, "unsupported_grant_type", "unsupported_grant_type", "the grant type is not supported", slog.LevelInfo),
	newRefusal(ErrInvalidRequest, http.StatusBadRequest, "invalid_request", "malformed_request", "the request is malformed", slog.LevelInfo),
	newRefusal(errDPoPBinding, http.StatusUnauthorized, "invalid_token", "dpop_binding", "the access token is not sent as its DPoP binding requires", slog.LevelInfo),
	// Expired tokens are routine (a client refreshes after one): Debug.
	newRefusal(ErrTokenExpired, http.StatusUnauthorized, "invalid_token", "token_expired", "the access token expired", slog.LevelDebug),
	newRefusal(ErrInvalidToken, http.StatusUnauthorized, "invalid_token", "token_invalid", "the access token is invalid", slog.LevelInfo),
	newRefusal(errCrossOrigin, http.StatusForbidden, "cross_origin", "cross_origin", "cross-origin request refused", slog.LevelInfo),
	newRefusal(ErrForbidden, http.StatusForbidden, "insufficient_scope", "insufficient_scope", "the access token does not grant access to this resource", slog.LevelInfo),
	newRefusal(ErrInvalidCredentials, http.StatusUnauthorized, "invalid_credentials", "invalid_credentials", "invalid username or password", slog.LevelInfo),
	// A flood makes these by the thousand: logged per request at Info and
	// Debug; the password checker warns about the flood itself, at most
	// every 10 s.
	newRefusal(errTooManyRegistrations, http.StatusTooManyRequests, "too_many_requests", "too_many_registrations", "too many registrations; try again later", slog.LevelInfo),
	newRefusal(ErrTooManyRequests, http.StatusTooManyRequests, "too_many_requests", "too_many_requests", "too many failed logins; try again later", slog.LevelInfo),
	newRefusal(errPasswordTooShort, http.StatusBadRequest, "invalid_password", "password_too_short", "the password is too short", slog.LevelInfo),
	newRefusal(errPasswordTooLong, http.StatusBadRequest, "invalid_password", "password_too_long", "the password is longer than 72 bytes", slog.LevelInfo),
	newRefusal(errPasswordCommon, http.StatusBadRequest, "invalid_password", "password_too_common", "the password is one of the commonest passwords", slog.LevelInfo),
	newRefusal(errPasswordUsername, http.StatusBadRequest, "invalid_password", "password_is_username", "the password is the username", slog.LevelInfo),
	newRefusal(ErrPasswordRejected, http.StatusBadRequest, "invalid_password", "password_rejected", "the password has a character that is not allowed", slog.LevelInfo),
	newRefusal(ErrUserExists, http.StatusConflict, "username_taken", "username_taken", "the username is taken", slog.LevelInfo),
	newRefusal(ErrInvalidGrant, http.StatusBadRequest, "invalid_grant", "invalid_grant", "the refresh token is invalid, expired or revoked", slog.LevelInfo),
	newRefusal(ErrOverloaded, http.StatusServiceUnavailable, "temporarily_unavailable", "overloaded", "try again later", slog.LevelDebug),
	newRefusal(ErrInternal, http.StatusInternalServerError, "server_error", "server_error", "internal server error", slog.LevelError),
}

// refusalFor returns the index in refusals of how err is answered; an error
// that wraps no sentinel is answered as ErrInternal.
func refusalFor(err error) int {
	// The usual refusal is made by refusalOf, its sentinel first: found by
	// comparison, without errors.Is walking the error for each sentinel.
	if w, ok := err.(*wrapped); ok {
		for i := range refusals {
			if w.errs[0] == refusals[i].sentinel {
				return i
			}
		}
	}
	return walkedRefusalFor(err)
}

// walkedRefusalFor is refusalFor found by the errors err wraps.
func walkedRefusalFor(err error) int {
	for i := range refusals {
		if errors.Is(err, refusals[i].sentinel) {
			return i
		}
	}
	return len(refusals) - 1
}

// challenges holds the WWW-Authenticate values of the Bearer refusals for
// one realm, one per entry of refusals (RFC 6750 §3): the bare challenge for
// ErrNoToken (§3.1: no error code when the request had no credentials),
// error and error_description for the others, "" for login refusals.
type challenges [len(refusals)]string

func newChallenges(realm string) *challenges {
	var c challenges
	base := "Bearer"
	if realm != "" {
		base += ` realm="` + realm + `"`
	}
	for i, ref := range refusals {
		switch {
		case ref.sentinel == ErrNoToken:
			c[i] = base
		case ref.status == http.StatusBadRequest || ref.status == http.StatusUnauthorized && ref.code == "invalid_token" || ref.code == "insufficient_scope":
			// RFC 6750's codes only: a CSRF refusal is not the token's.
			sep := ", "
			if realm == "" {
				sep = " "
			}
			c[i] = base + sep + `error="` + ref.code + `", error_description="` + ref.message + `"`
		}
	}
	return &c
}

// newDPoPChallenges returns the DPoP challenges (RFC 9449 §7.1) of the
// refusals of a protected resource for realm: the algs d takes, and
// error and error_description but for ErrNoToken.
func newDPoPChallenges(realm string, d *dpopConfig) *challenges {
	var c challenges
	params := d.challengeParams(realm)
	for i, ref := range refusals {
		switch {
		case ref.sentinel == ErrNoToken:
			c[i] = "DPoP " + params
		case ref.status == http.StatusBadRequest && ref.code != "invalid_dpop_proof" && ref.code != "use_dpop_nonce",
			ref.status == http.StatusUnauthorized && ref.code != "invalid_credentials",
			ref.code == "insufficient_scope":
			c[i] = `DPoP realm="` + realm + `", error="` + ref.code + `", error_description="` + ref.message + `", algs="` + strings.Join(d.algs, " ") + `"`
		}
	}
	return &c
}

// bareChallenges are the challenges WriteError sends for a Bearer sentinel
// that no Auth refused (an ErrorHandler passing ErrInvalidToken itself,
// say): no realm, since none is known.
var bareChallenges = newChallenges("")

// refusalError is the error an Auth hands its ErrorHandler and returns from
// Authenticate: the refusal's detail, which wraps its sentinel, and what
// WriteError needs to answer it without the Auth.
type refusalError struct {
	err       error
	ref       *refusal // an entry of refusals
	challenge string
	nonce     string // a DPoP-Nonce for a use_dpop_nonce refusal, else ""
}

func (e *refusalError) Error() string     { return e.err.Error() }
func (e *refusalError) Unwrap() error     { return e.err }
func (e *refusalError) StatusCode() int   { return e.ref.status }
func (e *refusalError) Challenge() string { return e.challenge }

// WriteError answers a refused request, as the default [ErrorHandler] does. It
// maps err to a status code and a fixed JSON body
//
//	{"error": code, "reason": reason, "message": text}
//
// and sets Content-Type, X-Content-Type-Options: nosniff and Cache-Control:
// no-store. code is [RFC 6750]'s for token refusals ("invalid_token" for an
// expired token and for a bad one alike); reason is stable and tells them
// apart ("token_expired", "token_invalid", "no_token", "insufficient_scope",
// …), for a client that should refresh on expiry. Refusals made by [Auth.Verify],
// [Auth.VerifyOptional], [Auth.Authenticate] and [Auth.Require] (400, 401, 403) also get a
// WWW-[Auth.Authenticate] challenge with the [Auth]'s realm and, except for
// [ErrNoToken], the RFC 6750 error code and a fixed error_description. Login
// refusals carry no challenge: a password form is not a Bearer resource.
// err's text is never written. An error that wraps no Err… sentinel is
// answered 500.
//
// [WriteError] does not log; the middleware and handlers log each refusal
// before calling the [ErrorHandler]. It is safe for concurrent use.
//
// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ref       *refusal
		challenge string
	)
	if re, ok := asRefusal(err); ok {
		ref, challenge = re.ref, re.challenge
		if re.nonce != "" {
			w.Header().Set("DPoP-Nonce", re.nonce)
		}
	} else {
		i := refusalFor(err)
		ref = &refusals[i]
		switch ref.sentinel {
		case ErrNoToken, ErrInvalidToken, ErrTokenExpired, ErrForbidden:
			challenge = bareChallenges[i]
		}
	}
	// As Header.Set would set them, with the keys in their canonical form
	// and the values in one allocation rather than one each (and one more
	// to canonicalise "WWW-Authenticate"); each value's capacity ends with
	// it, so that an Add appends to a copy.
	setRetryAfter(w, ref.status)
	h := w.Header()
	v := make([]string, 4)
	v[0], v[1], v[2], v[3] = "application/json", "nosniff", "no-store", challenge
	h["Content-Type"] = v[0:1:1]
	h["X-Content-Type-Options"] = v[1:2:2]
	h["Cache-Control"] = v[2:3:3]
	if challenge != "" {
		h["Www-Authenticate"] = v[3:4:4]
	}
	w.WriteHeader(ref.status)
	w.Write(ref.body)
}

// setRetryAfter gives a 503 a Retry-After of one second when it has none
// (the login handler sets its own, from the budget): a store that failed
// (WithSessions) may be back at once.
func setRetryAfter(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
}

// asRefusal is errors.As(err, &re) for a *refusalError. The variable
// errors.As fills escapes to the heap, so it is declared only once the
// cheap answers are ruled out: err is a refusal, or is one refusalOf made,
// which wraps none.
func asRefusal(err error) (*refusalError, bool) {
	switch e := err.(type) {
	case *refusalError:
		return e, true
	case *wrapped:
		return nil, false
	}
	var re *refusalError
	ok := errors.As(err, &re)
	return re, ok
}

// userStoreError is the refusal of a request whose user store failed, as
// storeError is a session store's: 503 with Retry-After, logged at Error
// level. A database that is down or slow is a state a client may wait
// out, and no store failure lets a request through.
func userStoreError(err error) error {
	return fmt.Errorf("%w: user store: %w", ErrOverloaded, &storeFailure{err})
}

// nested is err for wrapping in an error of ours that says "jwtguard: "
// already: its text without that prefix, so that it is said once.
func nested(err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "jwtguard: ") {
		return err
	}
	return nestedError{err}
}

type nestedError struct{ err error }

func (e nestedError) Error() string { return strings.TrimPrefix(e.err.Error(), "jwtguard: ") }
func (e nestedError) Unwrap() error { return e.err }

// keysUnavailable is the refusal of r's token, whose key source could not
// tell which key checks it (a remote JWKS not fetched): 503, as for a
// failing store, since the token may well be good. w spaces out the
// source's Error logs; a request whose client has gone (its context
// ended, which a source honouring it reports as a failure) is no news of
// the source, and is logged at Debug without using w.
func keysUnavailable(r *http.Request, err error, w *warner) error {
	if r.Context().Err() != nil {
		w = nil
	}
	return fmt.Errorf("%w: key source: %w", ErrOverloaded, &storeFailure{&keysDown{err, w}})
}

// keysDown is a key source's failure, with the warner of its Error logs
// (nil: none, logged at Debug).
type keysDown struct {
	err error
	w   *warner
}

func (e *keysDown) Error() string { return e.err.Error() }
func (e *keysDown) Unwrap() error { return e.err }

// isStoreFailure reports whether err wraps a storeFailure.
func isStoreFailure(err error) bool {
	var sf *storeFailure
	return errors.As(err, &sf)
}

// storeFailure marks an overload that is a failing store (a Throttle, a
// SessionStore, a UserStore), which the operator must see at Error level.
type storeFailure struct{ error }

func (e *storeFailure) Unwrap() error { return e.error }

// refusalOf wraps cause, the real reason, in sentinel, as
// fmt.Errorf("%w: %w", sentinel, cause) would, in one small allocation and
// with its text made only when it is read (logged): the refusals of a flood
// of junk tokens should cost no more than real traffic.
func refusalOf(sentinel, cause error) error {
	for _, w := range fixedRefusals {
		if w.errs[1] == cause && w.errs[0] == sentinel {
			return w
		}
	}
	return &wrapped{[2]error{sentinel, cause}}
}

// errRevoked is the cause of the refusal of a revoked token
// (Auth.checkRevoked), made once with its sentinel.
var (
	errRevoked        = errors.New("the token's session is revoked, or the token was denied at a logout")
	errRevokedRefusal = &wrapped{[2]error{ErrInvalidToken, errRevoked}}
)

// fixedRefusals are the token refusals that the verifier makes once
// (token.FixedRefusals: a bad signature, a malformed token, an expired
// one), wrapped once in the sentinels that Verify answers them with, so
// that refusing one allocates nothing for the error.
var fixedRefusals = func() []*wrapped {
	var list []*wrapped
	for _, cause := range token.FixedRefusals() {
		for _, sentinel := range []error{ErrInvalidToken, ErrTokenExpired} {
			list = append(list, &wrapped{[2]error{sentinel, cause}})
		}
	}
	return list
}()

// wrapped holds its two errors in an array, so that Unwrap, which errors.Is
// calls for every sentinel it tests, allocates nothing.
type wrapped struct{ errs [2]error }

func (e *wrapped) Error() string   { return e.errs[0].Error() + ": " + e.errs[1].Error() }
func (e *wrapped) Unwrap() []error { return e.errs[:] }

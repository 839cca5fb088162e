package jwtguard

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard/internal/form"
	"github.com/jwtguard/jwtguard/internal/guard"
	"github.com/jwtguard/jwtguard/internal/passwords"
	"github.com/jwtguard/jwtguard/internal/strictjson"
)

// LoginHandler returns a handler for POST requests with a JSON body
// {"username": "…", "password": "…"}. It looks the user up in users, compares
// the password with bcrypt and answers 200 with a [TokenResponse] and
// Cache-Control: no-store. It refuses, through the [ErrorHandler]:
//
//   - a method other than POST: [ErrInvalidRequest], 405 with Allow: POST;
//   - a Content-Type other than application/json (charset, if given, must be
//     utf-8): [ErrInvalidRequest], 415;
//   - a body over LoginPolicy.MaxBodySize: [ErrInvalidRequest], 413;
//   - a body that is not exactly {"username": string, "password": string}
//     (malformed JSON, another member, a member twice or in another letter
//     case, trailing data), or an empty username or password:
//     ErrInvalidRequest, 400;
//   - an unknown user, a wrong password (compared once normalised to
//     Unicode NFKC, as HashPassword and RegisterHandler hash it, and, when
//     the password as sent is not its own NFKC form, compared as sent
//     too, in the same bcrypt slot, so that hashes made elsewhere of a
//     password typed with a no-break space, a ligature, a superscript or
//     full-width letters still match; an unknown user's dummy hash is
//     then compared twice as well), a password over 72 bytes in both
//     forms, a
//     disabled account, or a user whose stored hash is not a usable bcrypt
//     hash (logged at Error level): ErrInvalidCredentials, 401, all with
//     the same body; unknown users and unusable hashes are compared against
//     a dummy hash so that they take as long as known ones;
//   - with a session store, a login whose user's sessions were revoked
//     (a password change, a log out everywhere) at or after the instant
//     it read the user, before it compared the password: the store
//     refuses its session ([ErrSessionRevoked], Session.CreatedAt being
//     that instant) and the login is answered ErrInvalidCredentials, 401,
//     since the password it checked may be the old one; the client logs
//     in again;
//   - too many failed logins for the account or the client address
//     (LoginPolicy.Account, on by default, and Address): ErrTooManyRequests,
//     429 with Retry-After, before any password is compared;
//   - no password-hashing budget or free bcrypt slot within the login wait,
//     or too many logins waiting already: ErrOverloaded, 503 with
//     Retry-After; a client that goes away while its login waits or while
//     the UserStore looks it up: ErrOverloaded, logged at Debug level;
//   - a failing Throttle (fail closed): ErrOverloaded, 503, logged at Error;
//   - a UserStore error other than ErrUserNotFound or sql.ErrNoRows (both
//     answered as an unknown user): ErrOverloaded, 503 with Retry-After,
//     logged at Error (a database that is down fails logins closed).
//
// Only a login refused after its password was compared spends throttle
// tokens; every other login gives them back, a panic in the [UserStore] too
// (the panic is not recovered: net/http logs it and drops the connection).
//
// All handlers of one [Auth] share one password-hashing budget and one bound
// on concurrent comparisons (LoginPolicy), so a flood of logins cannot take
// the CPU from the rest of the service. [Stats] counts what they did. It
// panics if users is nil.
//
// In cookie mode ([WithCookieMode]) a login must pass the CSRF check
// (ErrForbidden, 403 cross_origin), sets the token cookies, and also takes
// an HTML form (application/x-www-form-urlencoded: username, password and
// an optional return path, body fields only, each at most once), answered
// with a 303 to the return path when it is a path of this site ("/"
// otherwise), and when refused with a 303 to CookieMode.LoginPage with
// ?error=<reason> (a 403 for the CSRF check; the JSON refusal without a
// LoginPage).
//
// The handler sets Retry-After (429, 503) and Allow (405) before it calls
// the [ErrorHandler], so a handler of one's own keeps them. Register it for
// the bare path ("/api/auth/login"), not "POST /api/auth/login", if a
// request with another method should get its JSON 405 rather than
// [http.ServeMux]'s plain-text one.
func (a *Auth) LoginHandler(users UserStore) http.Handler {
	a.mustSign("LoginHandler")
	if users == nil {
		panic("jwtguard: LoginHandler with a nil UserStore")
	}
	a.guard.PrepareDummy()
	return &loginHandler{auth: a, users: users}
}

type loginHandler struct {
	auth  *Auth
	users UserStore
}

// loginRequest is the login body, decoded by decodeLogin. Fields are
// strings: any other JSON type is a decode error, so operator-injection
// shapes such as {"$ne": null} are refused before they reach a store.
type loginRequest struct {
	Username string
	Password string
	Return   string // an HTML form's return path, not yet checked
}

// loginResponse is a TokenResponse with the tutorials' "token" member when
// LoginPolicy.TokenField asks for it.
type loginResponse struct {
	TokenResponse
	Token string `json:"token,omitempty"`
}

func (h *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.auth
	if !a.postOnly(w, r) {
		return
	}
	// In cookie mode an HTML form may log in: answered with redirects.
	form := a.cookies != nil && isFormRequest(r)
	var req loginRequest
	err := a.checkOrigin(r) // login CSRF: a cross-site form logging the browser into another account
	if err == nil {
		if form {
			req, err = decodeLoginForm(w, r, a.maxLoginBody)
		} else {
			req, err = decodeLogin(w, r, a.maxLoginBody)
		}
	}
	if err != nil {
		h.refuse(w, r, form, req.Return, err)
		return
	}
	// The proof is checked before the password: it is cheap, and a login
	// refused for it costs no throttle token. It is recorded in the
	// replay cache only once the password is found good, so that a
	// client without an account cannot fill the cache.
	proof, err := a.grantProof(r, nil, a.cfg.now())
	if err != nil {
		h.refuse(w, r, form, req.Return, err)
		return
	}
	u, readAt, at, err := h.login(r.Context(), r, req)
	if err == nil {
		err = grantProofError(a.record(r, proof, a.cfg.now()))
	}
	if err != nil {
		a.setRetryAfterFor(w, err)
		h.refuse(w, r, form, req.Return, err)
		return
	}
	tr, err := a.issueLogin(r.Context(), u, readAt, proof.jkt)
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			w.Header().Set("Retry-After", "1")
		}
		h.refuse(w, r, form, req.Return, err)
		return
	}
	at.Succeeded(r.Context())
	a.nextNonce(w, tr)
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "jwtguard: login", slog.String("user_id", u.ID), slog.String("remote_addr", r.RemoteAddr))
	if a.cookies != nil {
		a.setTokenCookies(w, tr, a.cfg.now().Add(a.cfg.sessionLifetime))
	}
	if form {
		formRedirect(w, r, safeReturnPath(req.Return))
		return
	}
	resp := loginResponse{TokenResponse: tr}
	if a.cfg.login.TokenField {
		resp.Token = tr.AccessToken
	}
	writeJSON(w, http.StatusOK, resp)
}

// postOnly refuses a request with another method than POST (405, Allow:
// POST) and reports whether r may go on.
func (a *Auth) postOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	a.refuse(w, r, fmt.Errorf("%w: %s", errMethodNotAllowed, r.Method))
	return false
}

// setRetryAfterFor sets the Retry-After of a refusal by the password
// defences: the throttle's wait for a 429, the budget's for a 503.
func (a *Auth) setRetryAfterFor(w http.ResponseWriter, err error) {
	var te *guard.ThrottledError
	switch {
	case errors.As(err, &te):
		w.Header().Set("Retry-After", guard.RetryAfter(te.Wait))
	case errors.Is(err, ErrOverloaded):
		w.Header().Set("Retry-After", a.guard.RetryAfter())
	}
}

// refuse answers a refused login: an HTML form's with a redirect to the
// login page naming the refusal's reason, when cookie mode has one.
func (h *loginHandler) refuse(w http.ResponseWriter, r *http.Request, form bool, ret string, err error) {
	a := h.auth
	if !form || a.cookies.loginPage == "" || errors.Is(err, errCrossOrigin) {
		a.refuse(w, r, err)
		return
	}
	re := a.refusal(err, false)
	a.logRefusal(r, re)
	formRedirect(w, r, a.cookies.loginPage+"?error="+re.ref.reason+"&return="+url.QueryEscape(safeReturnPath(ret)))
}

// login runs req through the defences and returns the user whose
// credentials it holds, the time it read the user (before the store
// lookup: the session's CreatedAt), and the attempt, which remembers a
// successful login's address. Only a login whose password was compared and refused
// keeps its throttle tokens; the deferred End gives every other login's
// back, a panic's too (it goes on to net/http, which logs it and drops the
// connection).
func (h *loginHandler) login(ctx context.Context, r *http.Request, req loginRequest) (User, time.Time, *guard.Attempt, error) {
	at, err := h.auth.guard.Begin(ctx, r, req.Username)
	defer at.End(ctx)
	if err != nil {
		return User{}, time.Time{}, at, loginError(err)
	}
	u, readAt, err := h.check(ctx, req, at)
	return u, readAt, at, err
}

// loginError maps an error of the defences to the refusal it is.
func loginError(err error) error {
	var te *guard.ThrottledError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("%w: %w", ErrTooManyRequests, err)
	case errors.Is(err, guard.ErrStore):
		return fmt.Errorf("%w: %w", ErrOverloaded, &storeFailure{err})
	case errors.Is(err, guard.ErrCancelled):
		// The client went away; it reads no answer.
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	}
	return err
}

// check returns the user whose credentials req holds. Its error wraps
// ErrInvalidCredentials for a wrong guess (unknown user, wrong or over-long
// password, disabled account), ErrOverloaded when no password-hashing
// budget or slot freed up in time, and ErrInternal when the store or the
// stored hash failed. It marks at as a guess when a password comparison ran
// and the login is refused: only then does it keep its throttle tokens. It
// returns too the time, taken before the store lookup, at which it read
// the user: a session store refuses a session started then if the user's
// sessions were revoked since (a password change that the hash it read
// may predate).
func (h *loginHandler) check(ctx context.Context, req loginRequest, at *guard.Attempt) (_ User, readAt time.Time, err error) {
	password, alt := loginCandidates(req.Password)
	if password == "" {
		// Refused without a comparison, so without a guess: the throttle
		// gives its tokens back (no password over 72 bytes can be right).
		return User{}, readAt, fmt.Errorf("%w: password longer than %d bytes", ErrInvalidCredentials, maxPasswordLength)
	}
	// Taken before the lookup: whatever the store returns was read after.
	readAt = h.auth.cfg.now()
	u, err := h.users.LookupUser(ctx, req.Username)
	found := err == nil
	switch {
	case found:
	case errors.Is(err, ErrUserNotFound), errors.Is(err, sql.ErrNoRows):
		u = User{}
	case ctx.Err() != nil:
		// The client went away during the lookup, and the store failed
		// for it (a driver reports the cancellation in its own words):
		// not a server error, and answered like a client that went away
		// while waiting for budget; it reads no answer.
		return User{}, readAt, fmt.Errorf("%w: request cancelled during the user lookup: %w", ErrOverloaded, err)
	default:
		return User{}, readAt, userStoreError(err)
	}
	// The store may match spellings that the username's fold keeps apart:
	// guesses for one user share its ID's bucket too. An unknown user takes
	// a bucket of its own the same way, so that the Throttle sees the same
	// calls for both.
	id := ""
	if found {
		id = u.ID
	}
	if err := at.TakeUser(ctx, id); err != nil {
		return User{}, readAt, loginError(err)
	}
	compared, err := at.Compare(ctx, u.PasswordHash, found, password, alt)
	if compared {
		// A comparison that ends in a refusal was a guess (whatever the
		// client did after); a successful login costs nothing.
		defer func() {
			if err != nil {
				at.Guess()
			}
		}()
	}
	switch {
	case errors.Is(err, guard.ErrOverloaded):
		return User{}, readAt, fmt.Errorf("%w: %w", ErrOverloaded, err)
	case errors.Is(err, guard.ErrUnusableHash):
		// Answered as a wrong password (it was compared against the dummy
		// hash, taking as long), so that accounts without a usable hash
		// (single sign-on only, say) do not stand out; the operator is told.
		h.auth.log.LogAttrs(ctx, slog.LevelError, "jwtguard: the user store returned a password hash that is not a usable bcrypt hash",
			slog.String("user_id", u.ID), slog.String("reason", err.Error()))
		return User{}, readAt, fmt.Errorf("%w: user ID %q has no usable password hash", ErrInvalidCredentials, u.ID)
	case err != nil && ctx.Err() != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		// The client went away while waiting, before any comparison; it
		// reads no answer. (A comparison that ran counts as a guess,
		// whatever the client did after.)
		return User{}, readAt, fmt.Errorf("%w: request cancelled while waiting for budget or a slot: %w", ErrOverloaded, err)
	case err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return User{}, readAt, fmt.Errorf("%w: password check for user ID %q: %w", ErrInternal, u.ID, err)
	case !found:
		return User{}, readAt, fmt.Errorf("%w: unknown user", ErrInvalidCredentials)
	case err != nil:
		return User{}, readAt, fmt.Errorf("%w: wrong password for user ID %q", ErrInvalidCredentials, u.ID)
	case u.Disabled:
		return User{}, readAt, fmt.Errorf("%w: user ID %q is disabled", ErrInvalidCredentials, u.ID)
	}
	return u, readAt, nil
}

// loginCandidates returns the forms of a login's password to compare: its
// NFKC form, as HashPassword and the register handler hash it, and, when
// the password as sent is not its own NFKC form, the password as sent
// (alt), for hashes made elsewhere of the password as typed (bcryptjs,
// PHP's password_hash). A form over the 72 bytes that bcrypt reads is
// left out (no such password can be right, and bcrypt would truncate it);
// password is "" when both are.
func loginCandidates(sent string) (password, alt string) {
	normalised := passwords.Normalize(sent)
	if normalised != sent && len(sent) <= maxPasswordLength {
		alt = sent
	}
	if len(normalised) > maxPasswordLength {
		return alt, ""
	}
	return normalised, alt
}

// decodeLogin checks the content type and decodes the body, read whole up
// to limit, with strictjson.StringObject: exactly the members username and
// password (names matched exactly once escapes are undone, so
// "\u0075sername" is username, as for any JSON parser), each once, each a
// JSON string, strictly unescaped (lone surrogate escapes, raw control
// characters and invalid UTF-8 refused), nothing else in the object and
// nothing after it. encoding/json would take the last of two usernames and
// match "USERNAME" too, so a gateway in front that reads the first one
// could disagree with us about who logs in.
func decodeLogin(w http.ResponseWriter, r *http.Request, limit int64) (loginRequest, error) {
	var req loginRequest
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return req, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return req, bodyError(err)
	}
	if err := strictjson.StringObject(body,
		strictjson.StringField{Name: "username", Dst: &req.Username},
		strictjson.StringField{Name: "password", Dst: &req.Password},
	); err != nil {
		return loginRequest{}, bodyError(err)
	}
	return req, checkLoginFields(req)
}

// isFormRequest reports whether r's body is an HTML form's
// (application/x-www-form-urlencoded).
func isFormRequest(r *http.Request) bool {
	mt, err := mediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// decodeLoginForm reads an HTML form's login body, read whole up to limit,
// with form.Decode (body fields only, never the query; a field given twice,
// a ';', a malformed escape or a control character refused): username,
// password and an optional return path. It checks the username as
// decodeLogin does.
func decodeLoginForm(w http.ResponseWriter, r *http.Request, limit int64) (loginRequest, error) {
	var req loginRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return req, bodyError(err)
	}
	if err := form.Decode(body,
		form.Field{Name: "username", Dst: &req.Username},
		form.Field{Name: "password", Dst: &req.Password},
		form.Field{Name: "return", Dst: &req.Return},
	); err != nil {
		return loginRequest{Return: req.Return}, fmt.Errorf("%w: login form: %w", ErrInvalidRequest, err)
	}
	return req, checkLoginFields(req)
}

// checkLoginFields refuses a login without a username or a password, or
// whose username is too long or has a control character.
func checkLoginFields(req loginRequest) error {
	if req.Username == "" || req.Password == "" {
		return fmt.Errorf("%w: login body lacks a username or a password", ErrInvalidRequest)
	}
	if len(req.Username) > maxUsernameLength {
		return fmt.Errorf("%w: username longer than %d bytes", ErrInvalidRequest, maxUsernameLength)
	}
	for i := 0; i < len(req.Username); i++ {
		if c := req.Username[i]; c < 0x20 || c == 0x7f {
			// A NUL or a line break in a username is no one's name, and
			// some stores fail on it (PostgreSQL refuses NUL).
			return fmt.Errorf("%w: username has a control character at byte %d", ErrInvalidRequest, i)
		}
	}
	return nil
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: %w", errRequestTooLarge, err)
	}
	return fmt.Errorf("%w: login body: %w", ErrInvalidRequest, err)
}

func checkJSONContentType(ct string) error {
	mt, err := mediaType(ct)
	if err == nil && mt != "application/json" {
		err = fmt.Errorf("%w: Content-Type %q", errUnsupportedMediaType, ct)
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own response types come here
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

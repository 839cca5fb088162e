package jwtguard

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard/internal/guard"
	"github.com/jwtguard/jwtguard/internal/passwords"
)

// UserWriter is a [UserByIDStore] that also adds users and changes their
// passwords, for [Auth.RegisterHandler] and [Auth.SetPassword]. A store
// that only reads stays a [UserStore]; the login handler needs no more.
type UserWriter interface {
	UserByIDStore
	// CreateUser adds u. It returns [ErrUserExists] when a user of that
	// ID exists, or one whose username equals u.Username without regard
	// to letter case as strings.EqualFold compares them (the account
	// throttle's fold, [UsernameKey], which a store may keep under a
	// UNIQUE constraint; for the ASCII usernames RegisterHandler admits,
	// plain ASCII case folding, which a UNIQUE index on lower(username)
	// gives). Of two concurrent creations of one username, exactly one
	// succeeds.
	CreateUser(ctx context.Context, u User) error
	// SetPasswordHash replaces the password hash of the user of ID id;
	// [ErrUserNotFound] when there is none.
	SetPasswordHash(ctx context.Context, id string, hash []byte) error
}

// ErrUserExists: a registration named a username that is taken, as
// [UserWriter].CreateUser compares usernames. 409 username_taken.
var ErrUserExists = errors.New("jwtguard: username taken")

// ErrPasswordRejected: a new password does not meet the password policy
// ([RegisterPolicy]): too short, too long, one of the commonest passwords
// or made like them (repeated, sequential, decorated), the username, or
// holding a control character. 400 invalid_password,
// with a reason that says which.
var ErrPasswordRejected = errors.New("jwtguard: password rejected by the policy")

// The refusals of a registration, each with an answer of its own.
var (
	errUsernameRejected     = fmt.Errorf("%w: username does not meet the rules", ErrInvalidRequest)
	errPasswordTooShort     = fmt.Errorf("%w: %w", ErrPasswordRejected, passwords.ErrTooShort)
	errPasswordTooLong      = fmt.Errorf("%w: %w", ErrPasswordRejected, passwords.ErrTooLong)
	errPasswordCommon       = fmt.Errorf("%w: %w", ErrPasswordRejected, passwords.ErrCommon)
	errPasswordUsername     = fmt.Errorf("%w: %w", ErrPasswordRejected, passwords.ErrUsername)
	errTooManyRegistrations = fmt.Errorf("%w: registrations", ErrTooManyRequests)
)

// RegisterPolicy is how [Auth.RegisterHandler] and [Auth.SetPassword]
// check new accounts and passwords. Give it to [New] with
// [WithRegisterPolicy]; the zero value of each field means the default its
// comment states. It follows NIST SP 800-63B-4 §3.1.1.2 for passwords.
type RegisterPolicy struct {
	// MinPasswordLength is the fewest characters a new password may have,
	// counted in Unicode code points both as sent and once normalised
	// (NFKC), so that neither a character that NFKC expands into many
	// (U+FDFA is 18) nor one that it composes can pass it alone.
	// 800-63B-4 asks for 15 when the password is the only factor, and
	// allows 8 when it is one of several. Zero: 15; at least 8.
	MinPasswordLength int
	// Roles are the roles a registered user gets: the server's choice,
	// never the request's. Zero: ["user"].
	Roles []string
	// Address limits registrations per client address (IPv6: per /64),
	// read as LoginPolicy.TrustedProxies says. Every registration that
	// reaches the user store counts, created or refused as taken: a
	// taken name is answered 409, which tells that the name exists, and
	// this limit is what bounds how fast a client can learn which names
	// do. Zero: a burst of 5, then one more every 10 minutes; each field
	// on its own (a Burst alone keeps the 10 minutes, an Every alone the
	// burst of 5), not the login limits' defaults; Off turns it off.
	Address Limit
	// BcryptCost is the cost of the hashes of new passwords, computed
	// within the login's password budget (LoginPolicy.CPUShare). Zero:
	// LoginPolicy.DummyHashCost (whose own zero is 10), so that a failed
	// login for a registered user takes as long as one for an unknown
	// username, which is compared against a dummy hash of that cost; 4
	// to 31. A cost set here above the dummy's raises the dummy's to it
	// once the first hash is made (the login compares unknown usernames
	// at the highest cost it has seen), so that it does not tell them
	// apart either; one below it makes registered users' failed logins
	// quicker than unknown names' until the store holds only such hashes.
	BcryptCost int
}

// Registration defaults, stated in RegisterPolicy's comments.
const (
	defaultMinPasswordLength = 15
	minMinPasswordLength     = 8
	defaultRegisterBurst     = 5
	defaultRegisterEvery     = 10 * time.Minute
	minUsernameLength        = 3
	maxRegisteredUsername    = 64
)

// WithRegisterPolicy sets how [Auth.RegisterHandler] and [Auth.SetPassword]
// check new accounts and passwords. Default: the zero [RegisterPolicy],
// whose fields' comments state the defaults.
func WithRegisterPolicy(p RegisterPolicy) Option {
	return func(c *config) {
		c.register = p
		c.register.Roles = slices.Clone(p.Roles)
	}
}

// registerConfig is a RegisterPolicy with its defaults resolved.
type registerConfig struct {
	minPassword int
	roles       []string
	address     guard.Limit
	cost        int
}

// resolve resolves the policy; dummyCost is the login's resolved
// DummyHashCost, BcryptCost's default.
func (p *RegisterPolicy) resolve(dummyCost int) (registerConfig, error) {
	fail := func(format string, args ...any) (registerConfig, error) {
		return registerConfig{}, fmt.Errorf("jwtguard: register policy: "+format, args...)
	}
	rc := registerConfig{
		minPassword: cmp.Or(p.MinPasswordLength, defaultMinPasswordLength),
		roles:       p.Roles,
		cost:        cmp.Or(p.BcryptCost, dummyCost),
	}
	if rc.roles == nil {
		rc.roles = []string{"user"}
	}
	var err error
	if rc.address, err = p.Address.resolveWith(false, defaultRegisterBurst, defaultRegisterEvery); err != nil {
		return fail("Address: %v", err)
	}
	switch {
	case rc.minPassword < minMinPasswordLength || rc.minPassword > passwords.MaxBytes:
		return fail("MinPasswordLength %d is outside %d..%d", p.MinPasswordLength, minMinPasswordLength, passwords.MaxBytes)
	case rc.cost < bcrypt.MinCost || rc.cost > bcrypt.MaxCost:
		return fail("BcryptCost %d is outside %d..%d", p.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	case slices.Contains(rc.roles, ""):
		return fail("an empty role")
	}
	return rc, nil
}

// RegisterHandler returns a handler for POST requests that create an
// account: a JSON body {"username": "…", "password": "…"}, decoded as
// strictly as a login's. It checks both, hashes the password with bcrypt
// within the password budget that logins share, adds the user to users
// with the roles of [RegisterPolicy] (never the request's) and a random ID,
// and answers 201 with {"id": "…", "username": "…"}; the client then logs
// in. It refuses, through the [ErrorHandler]:
//
//   - a method other than POST, a Content-Type other than
//     application/json, a body over LoginPolicy.MaxBodySize, or a body of
//     another shape: [ErrInvalidRequest], 405, 415, 413 or 400, as the
//     login handler does;
//   - a username that breaks the rules: 3 to 64 bytes of ASCII letters,
//     digits and ". _ - @ +", beginning and ending with a letter or a
//     digit: ErrInvalidRequest, 400 invalid_username. Its letter case is
//     kept, but two usernames that differ only in case are one: the
//     second is taken (the account throttle folds usernames so too);
//   - a password that breaks the policy: fewer than MinPasswordLength
//     characters, as sent or once normalised to NFKC (as the login
//     handler normalises it); more than 72 bytes once normalised (bcrypt
//     reads no more); in NFKC and without regard to case, one of the
//     commonest passwords of a published breach corpus (15,769 of at
//     least 8 characters) or made like them (800-63B-4's "repetitive or
//     sequential characters"): one short unit repeated
//     ("passwordpassword", "aaaaaaaaaaaaaaa"), a run of the alphabet, the
//     digits or a keyboard row, forwards or backwards ("123456789012345",
//     "qwertyuiopasdfgh"), or a listed password or such a pattern with
//     only digits, punctuation or spaces added before or after it
//     ("password1234567"), all answered password_too_common; the
//     username itself; or a control character: [ErrPasswordRejected], 400
//     invalid_password, with a reason naming the rule;
//   - more registrations from the client address than RegisterPolicy's
//     Address limit allows: [ErrTooManyRequests], 429 with Retry-After;
//   - a username taken: [ErrUserExists], 409 username_taken. This tells
//     the client that the name exists, which a sign-up form must say
//     anyway; the address limit is what bounds how fast names can be
//     tried, so keep it on;
//   - no password-hashing budget within the login wait, or a failing
//     Throttle or UserWriter: [ErrOverloaded], 503 with Retry-After, the
//     store's failures logged at Error level; [ErrUserStoreFull] of a
//     full [NewMemoryStore] (100,000 users), which no retry mends:
//     [ErrInternal], 500, logged at Error level.
//
// A 409 takes as long as a 201: both hash the password first. It panics
// if users is nil.
func (a *Auth) RegisterHandler(users UserWriter) http.Handler {
	a.mustSign("RegisterHandler")
	if users == nil {
		panic("jwtguard: RegisterHandler with a nil UserWriter")
	}
	return &registerHandler{auth: a, users: users}
}

type registerHandler struct {
	auth  *Auth
	users UserWriter
}

// registered is a registration's answer.
type registered struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

func (h *registerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.auth
	if !a.postOnly(w, r) {
		return
	}
	err := a.checkOrigin(r) // cookie mode: a cross-site sign-up is refused too
	var req loginRequest
	if err == nil {
		req, err = decodeLogin(w, r, a.maxLoginBody)
	}
	if err == nil {
		err = checkUsername(req.Username)
	}
	if err == nil {
		req.Password, err = a.checkNewPassword(req.Password, req.Username)
	}
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	u, err := h.register(r.Context(), r, req)
	if err != nil {
		a.setRetryAfterFor(w, err)
		a.refuse(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "jwtguard: registration", slog.String("user_id", u.ID), slog.String("remote_addr", r.RemoteAddr))
	writeJSON(w, http.StatusCreated, registered{ID: u.ID, Username: u.Username})
}

// register runs a checked request through the address limit, the hash and
// the store. The limit's token is kept once the store was asked.
func (h *registerHandler) register(ctx context.Context, r *http.Request, req loginRequest) (User, error) {
	a := h.auth
	at, err := a.guard.BeginRegistration(ctx, r, a.register.address)
	defer at.End(ctx)
	if err != nil {
		if loginErr := loginError(err); !errors.Is(loginErr, ErrTooManyRequests) {
			return User{}, loginErr
		}
		return User{}, fmt.Errorf("%w: %w", errTooManyRegistrations, err)
	}
	hash, err := a.guard.Hash(ctx, req.Password, a.register.cost)
	if err != nil {
		return User{}, hashError(err)
	}
	u := User{ID: newTokenID(), Username: req.Username, PasswordHash: hash, Roles: slices.Clone(a.register.roles)}
	at.Guess() // the store is asked: the token is spent, created or taken
	switch err := h.users.CreateUser(ctx, u); {
	case errors.Is(err, ErrUserExists):
		return User{}, err // the store's words already say ErrUserExists
	case errors.Is(err, ErrUserStoreFull):
		return User{}, fmt.Errorf("%w: user store: %w", ErrInternal, err)
	case err != nil:
		return User{}, userStoreError(err)
	}
	return u, nil
}

// hashError maps an error of guard.Hash to the refusal it is.
func hashError(err error) error {
	switch {
	case errors.Is(err, guard.ErrOverloaded):
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: request cancelled while waiting for password-hashing budget: %w", ErrOverloaded, err)
	}
	return fmt.Errorf("%w: hashing the password: %w", ErrInternal, err)
}

// checkUsername applies RegisterHandler's username rules.
func checkUsername(name string) error {
	if len(name) < minUsernameLength || len(name) > maxRegisteredUsername {
		return fmt.Errorf("%w: %d bytes, not %d to %d", errUsernameRejected, len(name), minUsernameLength, maxRegisteredUsername)
	}
	alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !alnum(c) && (i == 0 || i == len(name)-1 || !slices.Contains([]byte("._-@+"), c)) {
			return fmt.Errorf("%w: byte %d is not allowed there", errUsernameRejected, i)
		}
	}
	return nil
}

// checkNewPassword checks password, as sent, against the policy (its
// length as sent and once normalised, the rest once normalised); it
// returns the normalised password, the one to hash.
func (a *Auth) checkNewPassword(password, username string) (string, error) {
	err := passwords.Check(password, username, a.register.minPassword)
	switch {
	case err == nil:
		return passwords.Normalize(password), nil
	case errors.Is(err, passwords.ErrTooShort):
		return "", fmt.Errorf("%w: %w", errPasswordTooShort, err)
	case errors.Is(err, passwords.ErrTooLong):
		return "", fmt.Errorf("%w: %w", errPasswordTooLong, err)
	case errors.Is(err, passwords.ErrCommon):
		return "", errPasswordCommon
	case errors.Is(err, passwords.ErrUsername):
		return "", errPasswordUsername
	}
	return "", fmt.Errorf("%w: %w", ErrPasswordRejected, err)
}

// SetPassword changes the password of the user of ID userID in users: it
// checks the new password against the [RegisterPolicy] (the error then
// wraps [ErrPasswordRejected]), hashes it within the password budget
// (ErrOverloaded when there is none within the login wait), stores the
// hash, and, with a session store ([WithSessions]), revokes every session
// of the user, so that whoever held one must log in with the new
// password; a login that read the old hash before the change and would
// start its session after it is refused too (the store's mark, see
// [SessionStore].RevokeUserSessions). Without a session store, access
// tokens already issued stay valid until they expire. An unknown user is an error wrapping [ErrUserNotFound]. It
// does not check the old password: that is the caller's decision (a
// password-change form asks for it; an administrator's reset does not).
func (a *Auth) SetPassword(ctx context.Context, users UserWriter, userID, password string) error {
	a.mustBeNew("SetPassword")
	u, err := users.LookupUserByID(ctx, userID)
	switch {
	case errors.Is(err, ErrUserNotFound), errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: user ID %q", ErrUserNotFound, userID)
	case err != nil:
		return fmt.Errorf("%w: user store: %w", ErrInternal, err)
	}
	normalised, err := a.checkNewPassword(password, u.Username)
	if err != nil {
		return err
	}
	hash, err := a.guard.Hash(ctx, normalised, a.register.cost)
	if err != nil {
		return hashError(err)
	}
	if err := users.SetPasswordHash(ctx, userID, hash); err != nil {
		return fmt.Errorf("%w: user store: %w", ErrInternal, err)
	}
	if a.cfg.sessions != nil {
		if err := a.cfg.sessions.RevokeUserSessions(ctx, userID, a.cfg.now()); err != nil {
			return storeError(err)
		}
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "jwtguard: password changed", slog.String("user_id", userID))
	return nil
}

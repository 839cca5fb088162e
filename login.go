package jwtguard

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard/internal/guard"
	"github.com/jwtguard/jwtguard/internal/strictjson"
)

// LoginPolicy is how [Auth.LoginHandler] defends logins against password guessing
// and floods. Give it to [New] with [WithLoginPolicy]; the zero [LoginPolicy] is
// the default policy, and the zero value of each field means the default
// that its comment states. Turning a defence off takes a field that says
// so (Account.Off, NoBudget, NoWait). [New] validates the policy once.
//
// Two clocks drive the defences: the throttles and the memory of returning
// owners run on the [Auth]'s clock (WithClock), the password budget and the
// login wait on the runtime clock, so that a test's frozen clock cannot
// freeze the budget's refills (testing/synctest fakes the runtime clock).
type LoginPolicy struct {
	// Account limits failed logins per account: per username, as
	// strings.EqualFold compares them, and, once the UserStore has found
	// the user, per User.ID too, so that spellings the store maps to one
	// user share a bucket however it folds them. A login over the limit is
	// refused with 429 and Retry-After before any password is compared.
	// Only a login refused after its password was compared costs a token.
	// Zero: a burst of 10, then one more every 30 seconds.
	//
	// Logins from the client address of the account's last successful
	// login (within 30 days) count against a bucket of their own, so that
	// an attacker guessing from elsewhere cannot keep the account's owner
	// out. That bucket needs distinct client addresses: behind a reverse
	// proxy, name it in TrustedProxies, or every client has the proxy's
	// address and the attacker shares the owner's bucket. A login whose
	// address cannot be read is never the owner's; an attacker at the
	// owner's own address (the same NAT, the same IPv6 /64) shares it
	// whatever is configured.
	Account Limit
	// Address limits failed logins per client address (IPv6: per /64), as
	// Account does per account. Zero: off, because behind a reverse proxy
	// every client shares the proxy's address until TrustedProxies names
	// it; a Burst or an Every turns it on, the other field then defaulting
	// as in Account.
	Address Limit
	// Throttle keeps the throttles' buckets and each account's last
	// successful login. Nil: this process's memory, Capacity keys of each
	// limit and Capacity accounts, the least useful forgotten first (see
	// SECURITY.md). A shared Throttle lets replicas share one budget of
	// guesses per account.
	Throttle Throttle
	// Capacity bounds what the in-memory Throttle, and the password
	// budget's memory of returning owners, remember: keys per limit and
	// accounts. Each costs a few hundred bytes. Zero: 65 536.
	Capacity int
	// TrustedProxies names the reverse proxies (addresses such as
	// "10.0.0.5" or prefixes such as "10.0.0.0/8") whose ForwardedHeader
	// tells the client address. Requests from any other peer are keyed by
	// RemoteAddr and their forwarding headers ignored. Zero: none.
	TrustedProxies []string
	// ForwardedHeader is the one header a trusted proxy's client address is
	// read from: "X-Forwarded-For" (nginx, HAProxy, the cloud load
	// balancers) or "Forwarded" (RFC 7239). Only that header is read: a
	// proxy that sets one usually passes the other through from the client,
	// and reading it would let clients choose their address. Zero:
	// "X-Forwarded-For".
	ForwardedHeader string

	// CPUShare is the share of the machine that bcrypt comparisons may take
	// on average: comparisons start at most at CPUShare × GOMAXPROCS
	// divided by the measured time of one comparison, per second (at cost
	// 10 about 55 ms a core, so 10% of 2 cores is about 3.6 logins a
	// second), with a burst of a second's worth (at least 4). A fifth of
	// it is kept for returning owners, each at most once a minute. Logins
	// beyond it wait (Wait) and are then refused with 503 and Retry-After,
	// so that a guessing flood cannot take the CPU from the rest of the
	// service. The budget protects this process's CPU and is never shared.
	// For a login-heavy service: CPUShare = peak logins a second × seconds
	// a comparison ÷ cores, with headroom. Zero: 0.10; at most 1.
	CPUShare float64
	// BudgetRate fixes the budget at this many comparisons a second, split
	// four to one like the derived one, instead of deriving it from
	// CPUShare; BudgetBurst is its burst. Zero: derived; a zero BudgetBurst
	// is a second's worth, at least 4.
	BudgetRate  float64
	BudgetBurst int
	// NoBudget turns the budget off, leaving only Concurrency: a flood can
	// then keep that many cores busy.
	NoBudget bool
	// Concurrency bounds the bcrypt comparisons running at once. Zero:
	// GOMAXPROCS when New runs.
	Concurrency int
	// Wait is how long a login waits for budget and a free comparison slot
	// before it is refused with 503 and Retry-After. A login that cannot
	// get budget within the wait is held for all of it (a tarpit: a flood's
	// refused guesses come back slowly and cost no CPU while they wait).
	// Zero: 1 second. NoWait refuses at once instead.
	Wait   time.Duration
	NoWait bool
	// MaxWaiting bounds the logins waiting at once, each holding a
	// goroutine and its request; past it a login is refused with 503 at
	// once, which gives up the tarpit: keep it above the connections an
	// attacker can hold open. Zero: 1024.
	MaxWaiting int
	// MaxBodySize bounds a login body in bytes; a larger one is refused
	// with 413. Zero: 4096; at least 64.
	MaxBodySize int64
	// DummyHashCost is the bcrypt cost of the dummy hash that unknown users
	// (and users whose stored hash cannot be used) are compared against,
	// so that they take as long as known users, until a real hash has been
	// seen; from then on the highest cost seen. Set it to the cost of the
	// store's hashes. It does not change HashPassword. Zero: 10; 4 to 31.
	DummyHashCost int
	// TokenField makes a successful login also carry the access token as
	// "token", the member the tutorials' clients read, beside the RFC 6749
	// "access_token". Zero: only "access_token".
	TokenField bool
}

// Limit is a throttle's token bucket: Burst failed logins at once, then one
// more every Every. Off turns the throttle off; otherwise a zero Burst is
// 10 and a zero Every 30 seconds (LoginPolicy says when a zero [Limit] is off
// instead).
type Limit struct {
	Burst int
	Every time.Duration
	Off   bool
}

// Throttle keeps the state of [LoginPolicy]'s throttles, so that a shared
// backend (Redis, a database) can replace the in-memory default and let
// replicas share it. Keys are opaque ASCII strings of at most a few dozen
// bytes; Take and Done are called with the same limit for a key. An error
// fails the login closed: Take's and LastLogin's with 503 and an Error log,
// Done's and Remember's with an Error log (the login was already decided).
// Implementations must be safe for concurrent use.
type Throttle interface {
	// Take takes a token from key's bucket, which holds at most
	// limit.Burst tokens and gains one every limit.Every, at now, and holds
	// it for the login until Done. It returns 0 when it took one, and
	// otherwise how long until the bucket has one (taking nothing).
	Take(ctx context.Context, key string, limit Limit, now time.Time) (wait time.Duration, err error)
	// Done ends the login's hold on the token that Take took for key.
	// refund gives the token back: the login was not a guess. A bucket
	// that no login holds and that is full again may be forgotten.
	Done(ctx context.Context, key string, limit Limit, refund bool, now time.Time) error
	// Remember records addr as the client address of account's last
	// successful login, at now.
	Remember(ctx context.Context, account, addr string, now time.Time) error
	// LastLogin returns the client address and time of account's last
	// successful login; addr is "" when none is remembered.
	LastLogin(ctx context.Context, account string) (addr string, at time.Time, err error)
}

// WithLoginPolicy sets how [Auth.LoginHandler] defends logins. Default: the zero
// [LoginPolicy], whose fields' comments state the defaults.
func WithLoginPolicy(p LoginPolicy) Option {
	return func(c *config) {
		c.login = p
		c.login.TrustedProxies = slices.Clone(p.TrustedProxies)
	}
}

// Login-policy defaults, stated in LoginPolicy's comments.
const (
	defaultLimitBurst  = 10
	defaultLimitEvery  = 30 * time.Second
	defaultCapacity    = 65536
	defaultCPUShare    = 0.10
	defaultLoginWait   = time.Second
	defaultMaxWaiting  = 1024
	defaultMaxBodySize = 4096
	defaultDummyCost   = 10
)

// limit resolves a Limit: nil-equivalent (Burst 0) when off.
func (l Limit) resolve(zeroIsOff bool) (guard.Limit, error) {
	switch {
	case l.Burst < 0 || l.Every < 0:
		return guard.Limit{}, errors.New("a negative burst or interval")
	case l.Off, zeroIsOff && l.Burst == 0 && l.Every == 0:
		return guard.Limit{}, nil
	}
	if l.Burst == 0 {
		l.Burst = defaultLimitBurst
	}
	if l.Every == 0 {
		l.Every = defaultLimitEvery
	}
	return guard.Limit{Burst: l.Burst, Every: l.Every}, nil
}

// guardConfig resolves the policy's defaults and validates it.
func (p *LoginPolicy) guardConfig(now func() time.Time, log *slog.Logger) (guard.Config, error) {
	fail := func(format string, args ...any) (guard.Config, error) {
		return guard.Config{}, fmt.Errorf("jwtguard: login policy: "+format, args...)
	}
	c := guard.Config{Now: now, Log: log, Procs: runtime.GOMAXPROCS(0)}
	var err error
	if c.Account, err = p.Account.resolve(false); err != nil {
		return fail("Account: %v", err)
	}
	if c.Address, err = p.Address.resolve(true); err != nil {
		return fail("Address: %v", err)
	}
	c.Capacity = cmp.Or(p.Capacity, defaultCapacity)
	for _, s := range p.TrustedProxies {
		pfx, err := guard.ParsePrefix(s)
		if err != nil {
			return fail("trusted proxy %q: %v", s, err)
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}
	c.ForwardedHeader = http.CanonicalHeaderKey(cmp.Or(p.ForwardedHeader, "X-Forwarded-For"))
	c.CPUShare = cmp.Or(p.CPUShare, defaultCPUShare)
	c.BudgetRate, c.BudgetBurst, c.NoBudget = p.BudgetRate, p.BudgetBurst, p.NoBudget
	c.Concurrency = cmp.Or(p.Concurrency, c.Procs)
	c.Wait = cmp.Or(p.Wait, defaultLoginWait)
	if p.NoWait {
		c.Wait = 0
	}
	c.MaxWaiting = cmp.Or(p.MaxWaiting, defaultMaxWaiting)
	c.DummyCost = cmp.Or(p.DummyHashCost, defaultDummyCost)
	switch {
	case p.Capacity < 0:
		return fail("Capacity %d is negative", p.Capacity)
	case c.ForwardedHeader != "X-Forwarded-For" && c.ForwardedHeader != "Forwarded":
		return fail("ForwardedHeader %q is neither X-Forwarded-For nor Forwarded", p.ForwardedHeader)
	case !(c.CPUShare > 0 && c.CPUShare <= 1):
		return fail("CPUShare %v is not above 0 and at most 1", p.CPUShare)
	case p.BudgetRate < 0 || math.IsInf(p.BudgetRate, 0) || math.IsNaN(p.BudgetRate) || p.BudgetBurst < 0:
		return fail("BudgetRate and BudgetBurst must be finite and not negative")
	case p.Concurrency < 0:
		return fail("Concurrency %d is negative", p.Concurrency)
	case p.Wait < 0:
		return fail("Wait %v is negative", p.Wait)
	case p.MaxWaiting < 0:
		return fail("MaxWaiting %d is negative", p.MaxWaiting)
	case p.MaxBodySize < 0 || p.MaxBodySize > 0 && p.MaxBodySize < 64:
		return fail("MaxBodySize %d is below 64 bytes", p.MaxBodySize)
	case c.DummyCost < bcrypt.MinCost || c.DummyCost > bcrypt.MaxCost:
		return fail("DummyHashCost %d is outside %d..%d", p.DummyHashCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if p.Throttle != nil {
		c.Store = throttleStore{p.Throttle}
	} else {
		c.Store = guard.NewMemory(c.Capacity)
	}
	return c, nil
}

// throttleStore adapts a Throttle to the guard's Store.
type throttleStore struct{ t Throttle }

func (s throttleStore) Take(ctx context.Context, key string, l guard.Limit, now time.Time) (time.Duration, error) {
	return s.t.Take(ctx, key, Limit{Burst: l.Burst, Every: l.Every}, now)
}

func (s throttleStore) Done(ctx context.Context, key string, l guard.Limit, refund bool, now time.Time) error {
	return s.t.Done(ctx, key, Limit{Burst: l.Burst, Every: l.Every}, refund, now)
}

func (s throttleStore) Remember(ctx context.Context, account, addr string, now time.Time) error {
	return s.t.Remember(ctx, account, addr, now)
}

func (s throttleStore) LastLogin(ctx context.Context, account string) (string, time.Time, error) {
	return s.t.LastLogin(ctx, account)
}

// LoginHandler returns a handler for POST requests with a JSON body
// {"username": "…", "password": "…"}. It looks the user up in users, compares
// the password with bcrypt and answers 200 with a [TokenResponse] and
// Cache-Control: no-store. It refuses, through the [ErrorHandler]:
//
//   - a method other than POST: errMethodNotAllowed, 405 with Allow: POST;
//   - a Content-Type other than application/json (charset, if given, must be
//     utf-8): errUnsupportedMediaType, 415;
//   - a body over LoginPolicy.MaxBodySize: errRequestTooLarge, 413;
//   - a body that is not exactly {"username": string, "password": string}
//     (malformed JSON, another member, a member twice or in another letter
//     case, trailing data), or an empty username or password:
//     ErrInvalidRequest, 400;
//   - an unknown user, a wrong password, a password over 72 bytes, a
//     disabled account, or a user whose stored hash is not a usable bcrypt
//     hash (logged at Error level): ErrInvalidCredentials, 401, all with
//     the same body; unknown users and unusable hashes are compared against
//     a dummy hash so that they take as long as known ones;
//   - too many failed logins for the account or the client address
//     (LoginPolicy.Account, on by default, and Address): ErrTooManyRequests,
//     429 with Retry-After, before any password is compared;
//   - no password-hashing budget or free bcrypt slot within the login wait,
//     or too many logins waiting already: ErrOverloaded, 503 with
//     Retry-After; a client that goes away while its login waits or while
//     the UserStore looks it up: ErrOverloaded, logged at Debug level;
//   - a failing Throttle (fail closed): ErrOverloaded, 503, logged at Error;
//   - a UserStore error other than ErrUserNotFound or sql.ErrNoRows (both
//     answered as an unknown user): ErrInternal, 500.
//
// Only a login refused after its password was compared spends throttle
// tokens; every other login gives them back, a panic in the [UserStore] too
// (the panic is not recovered: net/http logs it and drops the connection).
//
// All handlers of one [Auth] share one password-hashing budget and one bound
// on concurrent comparisons (LoginPolicy), so a flood of logins cannot take
// the CPU from the rest of the service. [Stats] counts what they did. It
// panics if users is nil.
func (a *Auth) LoginHandler(users UserStore) http.Handler {
	a.mustBeNew("LoginHandler")
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
}

// loginResponse is a TokenResponse with the tutorials' "token" member when
// LoginPolicy.TokenField asks for it.
type loginResponse struct {
	TokenResponse
	Token string `json:"token,omitempty"`
}

func (h *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.auth
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		a.refuse(w, r, fmt.Errorf("%w: %s", errMethodNotAllowed, r.Method))
		return
	}
	req, err := decodeLogin(w, r, a.maxLoginBody)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	u, at, err := h.login(r.Context(), r, req)
	if err != nil {
		var te *guard.ThrottledError
		switch {
		case errors.As(err, &te):
			w.Header().Set("Retry-After", guard.RetryAfter(te.Wait))
		case errors.Is(err, ErrOverloaded):
			w.Header().Set("Retry-After", a.guard.RetryAfter())
		}
		a.refuse(w, r, err)
		return
	}
	tr, err := a.Issue(r.Context(), u)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	at.Succeeded(r.Context())
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "jwtguard: login", slog.String("user_id", u.ID), slog.String("remote_addr", r.RemoteAddr))
	resp := loginResponse{TokenResponse: tr}
	if a.cfg.login.TokenField {
		resp.Token = tr.AccessToken
	}
	writeJSON(w, http.StatusOK, resp)
}

// login runs req through the defences and returns the user whose
// credentials it holds, and the attempt, which remembers a successful
// login's address. Only a login whose password was compared and refused
// keeps its throttle tokens; the deferred End gives every other login's
// back, a panic's too (it goes on to net/http, which logs it and drops the
// connection).
func (h *loginHandler) login(ctx context.Context, r *http.Request, req loginRequest) (User, *guard.Attempt, error) {
	at, err := h.auth.guard.Begin(ctx, r, req.Username)
	defer at.End(ctx)
	if err != nil {
		return User{}, at, loginError(err)
	}
	u, err := h.check(ctx, req, at)
	return u, at, err
}

// loginError maps an error of the defences to the refusal it is.
func loginError(err error) error {
	var te *guard.ThrottledError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("%w: %w", ErrTooManyRequests, err)
	case errors.Is(err, guard.ErrStore):
		return fmt.Errorf("%w: %w", ErrOverloaded, &storeFailure{err})
	}
	return err
}

// storeFailure marks an overload that is a failing Throttle, which the
// operator must see at Error level.
type storeFailure struct{ error }

func (e *storeFailure) Unwrap() error { return e.error }

// check returns the user whose credentials req holds. Its error wraps
// ErrInvalidCredentials for a wrong guess (unknown user, wrong or over-long
// password, disabled account), ErrOverloaded when no password-hashing
// budget or slot freed up in time, and ErrInternal when the store or the
// stored hash failed. It marks at as a guess when a password comparison ran
// and the login is refused: only then does it keep its throttle tokens.
func (h *loginHandler) check(ctx context.Context, req loginRequest, at *guard.Attempt) (_ User, err error) {
	if len(req.Password) > maxPasswordLength {
		// Refused without a comparison, so without a guess: the throttle
		// gives its tokens back (no password over 72 bytes can be right).
		return User{}, fmt.Errorf("%w: password longer than %d bytes", ErrInvalidCredentials, maxPasswordLength)
	}
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
		return User{}, fmt.Errorf("%w: request cancelled during the user lookup: %w", ErrOverloaded, err)
	default:
		return User{}, fmt.Errorf("%w: user store: %w", ErrInternal, err)
	}
	if found {
		// The store may match spellings that the username's fold keeps
		// apart: guesses for one user share its ID's bucket too.
		if err := at.TakeUser(ctx, u.ID); err != nil {
			return User{}, loginError(err)
		}
	}
	compared, err := at.Compare(ctx, u.PasswordHash, found, req.Password)
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
		return User{}, fmt.Errorf("%w: %w", ErrOverloaded, err)
	case errors.Is(err, guard.ErrUnusableHash):
		// Answered as a wrong password (it was compared against the dummy
		// hash, taking as long), so that accounts without a usable hash
		// (single sign-on only, say) do not stand out; the operator is told.
		h.auth.log.LogAttrs(ctx, slog.LevelError, "jwtguard: the user store returned a password hash that is not a usable bcrypt hash",
			slog.String("user_id", u.ID), slog.String("reason", err.Error()))
		return User{}, fmt.Errorf("%w: user ID %q has no usable password hash", ErrInvalidCredentials, u.ID)
	case err != nil && ctx.Err() != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		// The client went away while waiting, before any comparison; it
		// reads no answer. (A comparison that ran counts as a guess,
		// whatever the client did after.)
		return User{}, fmt.Errorf("%w: request cancelled while waiting for budget or a slot: %w", ErrOverloaded, err)
	case err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return User{}, fmt.Errorf("%w: password check for user ID %q: %w", ErrInternal, u.ID, err)
	case !found:
		return User{}, fmt.Errorf("%w: unknown user", ErrInvalidCredentials)
	case err != nil:
		return User{}, fmt.Errorf("%w: wrong password for user ID %q", ErrInvalidCredentials, u.ID)
	case u.Disabled:
		return User{}, fmt.Errorf("%w: user ID %q is disabled", ErrInvalidCredentials, u.ID)
	}
	return u, nil
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
	if req.Username == "" || req.Password == "" {
		return req, fmt.Errorf("%w: login body lacks a username or a password", ErrInvalidRequest)
	}
	if len(req.Username) > maxUsernameLength {
		return req, fmt.Errorf("%w: username longer than %d bytes", ErrInvalidRequest, maxUsernameLength)
	}
	return req, nil
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: %w", errRequestTooLarge, err)
	}
	return fmt.Errorf("%w: login body: %w", ErrInvalidRequest, err)
}

func checkJSONContentType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("%w: Content-Type %q", errUnsupportedMediaType, ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Errorf("%w: charset %q", errUnsupportedMediaType, cs)
	}
	return nil
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

package jwtguard

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// LoginHandler returns a handler for POST requests with a JSON body
// {"username": "…", "password": "…"}. It looks the user up in users, compares
// the password with bcrypt and answers 200 with a TokenResponse and
// Cache-Control: no-store. It refuses, through the ErrorHandler:
//
//   - a method other than POST: ErrMethodNotAllowed, 405 with Allow: POST;
//   - a Content-Type other than application/json (charset, if given, must be
//     utf-8): ErrUnsupportedMediaType, 415;
//   - a body over the bound (WithMaxLoginBodySize): ErrRequestTooLarge, 413;
//   - malformed JSON, unknown fields, wrong types, trailing data, or an
//     empty username or password: ErrInvalidRequest, 400;
//   - an unknown user, a wrong password, a password over 72 bytes, or a
//     disabled account: ErrInvalidCredentials, 401, all with the same body;
//     unknown users are compared against a dummy hash so that they take as
//     long as known ones;
//   - too many failed logins for the account or the client address
//     (WithAccountThrottle, on by default; WithAddressThrottle):
//     ErrTooManyRequests, 429 with Retry-After, before any password is
//     compared;
//   - no free bcrypt slot within the login wait: ErrOverloaded, 503 with
//     Retry-After;
//   - a UserStore error other than ErrUserNotFound: ErrInternal, 500.
//
// All handlers of one Auth share one bound on concurrent bcrypt comparisons
// (WithLoginConcurrency), so a flood of logins cannot take every core. It
// panics if users is nil.
func (a *Auth) LoginHandler(users UserStore) http.Handler {
	if users == nil {
		panic("jwtguard: LoginHandler with a nil UserStore")
	}
	return &loginHandler{auth: a, users: users}
}

type loginHandler struct {
	auth  *Auth
	users UserStore
}

// loginRequest is the login body. Fields are strings: any other JSON type is
// a decode error, so operator-injection shapes such as {"$ne": null} are
// refused before they reach a store.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (h *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.auth
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		a.refuse(w, r, fmt.Errorf("%w: %s", ErrMethodNotAllowed, r.Method))
		return
	}
	req, err := decodeLogin(w, r, a.cfg.maxLoginBody)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	var u User
	if a.throttle == nil {
		u, err = h.check(r.Context(), req)
	} else {
		at, wait, limit := a.throttle.begin(r, req.Username)
		if at == nil {
			w.Header().Set("Retry-After", retryAfter(wait))
			a.refuse(w, r, fmt.Errorf("%w: %s limit, next attempt in %v", ErrTooManyRequests, limit, wait.Round(time.Millisecond)))
			return
		}
		u, err = h.check(r.Context(), req)
		if !errors.Is(err, ErrInvalidCredentials) {
			at.refund() // only a wrong guess keeps the tokens it spent
		}
	}
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			w.Header().Set("Retry-After", a.passwords.retryAfter)
		}
		a.refuse(w, r, err)
		return
	}
	tr, err := a.Issue(r.Context(), u)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "jwtguard: login", slog.String("user_id", u.ID), slog.String("remote_addr", r.RemoteAddr))
	writeJSON(w, http.StatusOK, tr)
}

// check returns the user whose credentials req holds. Its error wraps
// ErrInvalidCredentials for a wrong guess (unknown user, wrong or over-long
// password, disabled account), ErrOverloaded when no bcrypt slot freed up
// in time, and ErrInternal when the store or the stored hash failed.
func (h *loginHandler) check(ctx context.Context, req loginRequest) (User, error) {
	if len(req.Password) > MaxPasswordLength {
		return User{}, fmt.Errorf("%w: password longer than %d bytes", ErrInvalidCredentials, MaxPasswordLength)
	}
	u, err := h.users.LookupUser(ctx, req.Username)
	found := err == nil
	if err != nil && !errors.Is(err, ErrUserNotFound) {
		return User{}, fmt.Errorf("%w: user store: %w", ErrInternal, err)
	}
	err = h.auth.passwords.check(ctx, u.PasswordHash, found, req.Password)
	switch {
	case errors.Is(err, errOverloaded):
		return User{}, fmt.Errorf("%w: %w", ErrOverloaded, err)
	case ctx.Err() != nil:
		// The client went away while waiting for a slot; it reads no answer.
		return User{}, fmt.Errorf("%w: request cancelled while waiting for a bcrypt slot: %w", ErrOverloaded, err)
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

// retryAfter is a Retry-After value: d in whole seconds, rounded up, at
// least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// decodeLogin checks the content type and decodes the body strictly.
func decodeLogin(w http.ResponseWriter, r *http.Request, limit int64) (loginRequest, error) {
	var req loginRequest
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return req, err
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, bodyError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if err == nil {
			err = errors.New("more than one JSON value")
		}
		return req, bodyError(err)
	}
	if req.Username == "" || req.Password == "" {
		return req, fmt.Errorf("%w: login body lacks a username or a password", ErrInvalidRequest)
	}
	return req, nil
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: %w", ErrRequestTooLarge, err)
	}
	return fmt.Errorf("%w: login body: %w", ErrInvalidRequest, err)
}

func checkJSONContentType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("%w: Content-Type %q", ErrUnsupportedMediaType, ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Errorf("%w: charset %q", ErrUnsupportedMediaType, cs)
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

// errOverloaded: no comparison slot within the wait.
var errOverloaded = errors.New("no bcrypt slot free within the login wait")

// passwordChecker runs bcrypt comparisons for one Auth: at most cap(slots)
// at once, waiting at most wait for a slot. Unknown users are compared
// against a dummy hash of the cost last seen in a real hash, so that they
// cost the same time.
type passwordChecker struct {
	slots      chan struct{}
	wait       time.Duration
	retryAfter string // Retry-After seconds for a refusal
	compare    func(hash, password []byte) error

	cost    atomic.Int32 // cost of the last real hash seen
	dummies sync.Map     // cost (int) → *dummyHash
}

type dummyHash struct {
	once sync.Once
	hash []byte
}

func newPasswordChecker(concurrency int, wait time.Duration, cost int) *passwordChecker {
	pc := &passwordChecker{
		slots:      make(chan struct{}, concurrency),
		wait:       wait,
		retryAfter: retryAfter(wait),
		compare:    bcrypt.CompareHashAndPassword,
	}
	pc.cost.Store(int32(cost))
	return pc
}

// check compares password with hash (with a dummy hash when !found). It
// returns nil on a match, bcrypt.ErrMismatchedHashAndPassword on a mismatch,
// errOverloaded when no slot freed up in time, and ctx's error when the
// request went away while waiting.
func (pc *passwordChecker) check(ctx context.Context, hash []byte, found bool, password string) error {
	if found {
		if c, err := bcrypt.Cost(hash); err == nil {
			pc.cost.Store(int32(c))
		}
	}
	if err := pc.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-pc.slots }()
	if !found {
		hash = pc.dummy(int(pc.cost.Load()))
	}
	return pc.compare(hash, []byte(password))
}

func (pc *passwordChecker) acquire(ctx context.Context) error {
	select {
	case pc.slots <- struct{}{}:
		return nil
	default:
	}
	if pc.wait == 0 {
		return errOverloaded
	}
	t := time.NewTimer(pc.wait)
	defer t.Stop()
	select {
	case pc.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errOverloaded
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// dummy returns a bcrypt hash of a random password at cost, made once per
// cost. A wrong guess can never match it.
func (pc *passwordChecker) dummy(cost int) []byte {
	v, _ := pc.dummies.LoadOrStore(cost, new(dummyHash))
	d := v.(*dummyHash)
	d.once.Do(func() {
		var pw [32]byte
		rand.Read(pw[:])
		h, err := bcrypt.GenerateFromPassword(pw[:], cost)
		if err != nil {
			panic(fmt.Sprintf("jwtguard: making the dummy hash: %v", err)) // cost was validated
		}
		d.hash = h
	})
	return d.hash
}

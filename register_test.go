package jwtguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

// rgEnv is an Auth with a memory user store, its register and login
// handlers, and cost-4 hashes.
type rgEnv struct {
	auth     *jwtguard.Auth
	users    jwtguard.UserWriter
	register http.Handler
	login    http.Handler
}

func rgSetup(t testing.TB, policy jwtguard.RegisterPolicy, opts ...jwtguard.Option) *rgEnv {
	t.Helper()
	if policy.BcryptCost == 0 {
		policy.BcryptCost = 4
	}
	users, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "u-alice", Username: "alice", PasswordHash: ltHash(t, "password123"), Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	a := ltAuth(t, append([]jwtguard.Option{jwtguard.WithRegisterPolicy(policy)}, opts...)...)
	jwtguard.SetPasswordCompare(a, bcrypt.CompareHashAndPassword)
	return &rgEnv{auth: a, users: users, register: a.RegisterHandler(users), login: a.LoginHandler(users)}
}

func rgBody(username, password string) string {
	b, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return string(b)
}

// rgPost posts a registration from remote.
func rgPost(h http.Handler, remote, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/auth/register", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

const rgPassword = "correct horse battery staple"

// TestRegister: a registration answers 201 with the new user's ID and
// username, no-store; the user has the policy's roles, a bcrypt hash of
// the policy's cost, and can log in, with the username in any letter case.
func TestRegister(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{})
	rec := rgPost(e.register, "192.0.2.1:1", rgBody("Carol.Smith", rgPassword))
	if rec.Code != http.StatusCreated || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("register: %d, Cache-Control %q: %s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
	var got struct{ ID, Username string }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID == "" || got.Username != "Carol.Smith" {
		t.Fatalf("answer %s: %v", rec.Body, err)
	}
	if strings.Contains(rec.Body.String(), rgPassword) || strings.Contains(rec.Body.String(), "$2") {
		t.Fatalf("the answer carries the password or its hash: %s", rec.Body)
	}
	u, err := e.users.LookupUserByID(context.Background(), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost(u.PasswordHash); err != nil || cost != 4 || len(u.Roles) != 1 || u.Roles[0] != "user" || u.Disabled {
		t.Errorf("stored user %+v (cost %d, %v): want cost 4, roles [user], enabled", u, cost, err)
	}
	for _, name := range []string{"Carol.Smith", "carol.smith", "CAROL.SMITH"} {
		if rec := ltLogin(e.login, rgBody(name, rgPassword)); rec.Code != http.StatusOK {
			t.Errorf("login as %q: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// TestRegisterRolesAreTheServers: the roles are the policy's; a request
// naming roles is refused as malformed, before anything is stored.
func TestRegisterRolesAreTheServers(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Roles: []string{"member", "beta"}})
	rec := rgPost(e.register, "192.0.2.1:1", `{"username":"dave","password":"`+rgPassword+`","roles":["admin"]}`)
	rtRefused(t, "a body naming roles", rec, http.StatusBadRequest, "invalid_request")
	if _, err := e.users.LookupUser(context.Background(), "dave"); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Fatalf("dave was stored: %v", err)
	}
	if rec := rgPost(e.register, "192.0.2.1:1", rgBody("dave", rgPassword)); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	u, _ := e.users.LookupUser(context.Background(), "dave")
	if strings.Join(u.Roles, ",") != "member,beta" {
		t.Errorf("roles %v, want the policy's [member beta]", u.Roles)
	}
}

// TestRegisterTaken: a username taken, in any letter case, is 409; the
// existing user is unchanged. Two concurrent registrations of one name:
// exactly one is created.
func TestRegisterTaken(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}})
	for _, name := range []string{"alice", "ALICE", "Alice"} {
		rtRefused(t, name, rgPost(e.register, "192.0.2.1:1", rgBody(name, rgPassword)), http.StatusConflict, "username_taken")
	}
	if rec := ltLogin(e.login, ltAlice); rec.Code != http.StatusOK {
		t.Errorf("alice's own password after the attempts: %d", rec.Code)
	}
	if st := e.auth.Stats().Refusals; st["username_taken"] != 3 {
		t.Errorf("username_taken %d, want 3", st["username_taken"])
	}
	var log bytes.Buffer
	logged := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}}, vtLogged(&log))
	rgPost(logged.register, "192.0.2.1:1", rgBody("alice", rgPassword))
	if n := strings.Count(log.String(), "username taken"); n != 1 {
		t.Errorf("the refusal's log says %q %d times, want once:\n%s", "username taken", n, log.String())
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
	)
	for i := range 8 {
		wg.Go(func() {
			rec := rgPost(e.register, "192.0.2.1:1", rgBody([]string{"erin", "Erin"}[i%2], rgPassword))
			mu.Lock()
			defer mu.Unlock()
			if rec.Code == http.StatusCreated {
				created++
			} else if rec.Code != http.StatusConflict {
				t.Errorf("concurrent registration: %d %s", rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d of 8 concurrent registrations of one name created it, want 1", created)
	}
}

// TestRegisterUsernameRules: the stated rules, each way they can be broken.
func TestRegisterUsernameRules(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}})
	for _, name := range []string{"a.b", "user+tag@example.com", "A_b-c", "x9z", strings.Repeat("n", 64)} {
		if rec := rgPost(e.register, "192.0.2.1:1", rgBody(name, rgPassword)); rec.Code != http.StatusCreated {
			t.Errorf("%q: %d %s, want 201", name, rec.Code, rec.Body)
		}
	}
	for _, name := range []string{"ab", strings.Repeat("n", 65), ".alice", "alice.", "-bob", "bob@", "al ice", "alicé", "al/ice", "al\\ice", "al\"ice", "ſam", "bob\u200b"} {
		rtRefused(t, name, rgPost(e.register, "192.0.2.1:1", rgBody(name, rgPassword)), http.StatusBadRequest, "invalid_username")
	}
	rtRefused(t, "a control character", rgPost(e.register, "192.0.2.1:1", rgBody("bo\x01b", rgPassword)), http.StatusBadRequest, "invalid_request")
	if st := e.auth.Stats().Refusals; st["username_rejected"] != 13 {
		t.Errorf("username_rejected %d, want 13", st["username_rejected"])
	}
}

// rg72 is a password of 72 bytes that no rule but the length refuses.
const rg72 = "the quick brown fox jumps over the lazy dog; pack my box with five dozen"

// rgDecomposed36 is 36 vowels with a combining accent (108 bytes), each of
// which NFKC composes into a character of 2 bytes: 72 bytes, in no
// repeating pattern of 18 characters or fewer.
func rgDecomposed36() string {
	var b strings.Builder
	for i := range 36 {
		b.WriteByte("aeiou"[i%5])
		b.WriteRune([]rune("\u0301\u0300\u0302\u0308")[i%4])
	}
	return b.String()
}

// TestRegisterPasswordPolicy: length in code points after NFKC, at most
// 72 bytes, not common, not the username; each refusal names its rule.
func TestRegisterPasswordPolicy(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}})
	n := 0
	name := func() string { n++; return "user" + strings.Repeat("x", n) }
	for _, tc := range []struct {
		what, password string
		reason         string // "" for 201
	}{
		{"14 characters", "fourteen chars", "password_too_short"},
		{"15 characters", "fifteen chars!!", ""},
		{"15 code points of 2 bytes", "éàèùâêîôûëïüÿçœ", ""},
		{"14 code points of 2 bytes", "éàèùâêîôûëïüÿç", "password_too_short"},
		{"72 bytes", rg72, ""},
		{"73 bytes", rg72 + "x", "password_too_long"},
		{"72 bytes once decomposed forms compose", rgDecomposed36(), ""}, // 108 bytes sent, 72 in NFKC
		{"a tab", "a password\twith a tab", "password_rejected"},
	} {
		rec := rgPost(e.register, "192.0.2.1:1", rgBody(name(), tc.password))
		if tc.reason == "" {
			if rec.Code != http.StatusCreated {
				t.Errorf("%s: %d %s, want 201", tc.what, rec.Code, rec.Body)
			}
			continue
		}
		rtRefused(t, tc.what, rec, http.StatusBadRequest, "invalid_password")
		if !strings.Contains(rec.Body.String(), `"reason":"`+tc.reason+`"`) {
			t.Errorf("%s: %s, want reason %s", tc.what, rec.Body, tc.reason)
		}
	}
	rec := rgPost(e.register, "192.0.2.1:1", rgBody("frank.long.name", "Frank.Long.Name"))
	if !strings.Contains(rec.Body.String(), `"reason":"password_is_username"`) {
		t.Errorf("the username as password: %d %s", rec.Code, rec.Body)
	}

	// With a minimum of 8 (a second factor), the blocklist does the work.
	e = rgSetup(t, jwtguard.RegisterPolicy{MinPasswordLength: 8, Address: jwtguard.Limit{Off: true}})
	for _, p := range []string{"password1234", "Password1234", "iloveyou", "qwertyuiop"} {
		rec := rgPost(e.register, "192.0.2.1:1", rgBody(name(), p))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"reason":"password_too_common"`) {
			t.Errorf("%q: %d %s, want password_too_common", p, rec.Code, rec.Body)
		}
	}
	if rec := rgPost(e.register, "192.0.2.1:1", rgBody(name(), "k7#Qm2!v")); rec.Code != http.StatusCreated {
		t.Errorf("an uncommon 8-character password: %d %s", rec.Code, rec.Body)
	}
}

// TestPasswordsAreNormalised: a password registered in one Unicode form
// logs in in another (NFKC at both ends), and HashPassword agrees.
func TestPasswordsAreNormalised(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{})
	composed, decomposed := "caf\u00e9 au lait, s'il vous plaît", "cafe\u0301 au lait, s'il vous plai\u0302t"
	if rec := rgPost(e.register, "192.0.2.1:1", rgBody("gina", decomposed)); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	if rec := ltLogin(e.login, rgBody("gina", composed)); rec.Code != http.StatusOK {
		t.Errorf("login in the composed form: %d", rec.Code)
	}
	if rec := ltLogin(e.login, rgBody("gina", "\ufb01 "+composed)); rec.Code != http.StatusUnauthorized {
		t.Errorf("login with another password: %d", rec.Code)
	}
	h, err := jwtguard.HashPassword("\ufb01le") // the fi ligature
	if err != nil || bcrypt.CompareHashAndPassword(h, []byte("file")) != nil {
		t.Errorf("HashPassword does not normalise: %v", err)
	}
}

// TestRegisterRateLimit: registrations per client address are limited,
// created or taken alike; refusals before the store spend nothing; other
// addresses are not affected.
func TestRegisterRateLimit(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Burst: 2, Every: 10 * time.Minute}})
	rtRefused(t, "a short password", rgPost(e.register, "192.0.2.1:1", rgBody("hank", "short")), http.StatusBadRequest, "invalid_password")
	if rec := rgPost(e.register, "192.0.2.1:1", rgBody("hank", rgPassword)); rec.Code != http.StatusCreated {
		t.Fatalf("first: %d %s", rec.Code, rec.Body)
	}
	rtRefused(t, "a taken name", rgPost(e.register, "192.0.2.1:2", rgBody("alice", rgPassword)), http.StatusConflict, "username_taken")
	rec := rgPost(e.register, "192.0.2.1:3", rgBody("ivan", rgPassword))
	rtRefused(t, "the third from one address", rec, http.StatusTooManyRequests, "too_many_requests")
	if !strings.Contains(rec.Body.String(), "too_many_registrations") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("429: %s, Retry-After %q", rec.Body, rec.Header().Get("Retry-After"))
	}
	if _, err := e.users.LookupUser(context.Background(), "ivan"); err == nil {
		t.Error("the throttled registration was stored")
	}
	if rec := rgPost(e.register, "198.51.100.7:1", rgBody("ivan", rgPassword)); rec.Code != http.StatusCreated {
		t.Errorf("another address: %d %s", rec.Code, rec.Body)
	}
	// The default: 5 at once.
	e = rgSetup(t, jwtguard.RegisterPolicy{})
	for i := range 6 {
		rec := rgPost(e.register, "192.0.2.9:1", rgBody("user"+strings.Repeat("z", i+1), rgPassword))
		if want := map[bool]int{true: 201, false: 429}[i < 5]; rec.Code != want {
			t.Errorf("registration %d by default: %d, want %d", i+1, rec.Code, want)
		}
	}
}

// TestRegisterRefusals: the shapes a login refuses, a registration
// refuses too.
func TestRegisterRefusals(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{})
	for _, tc := range []struct {
		name, method, ct, body string
		status                 int
		code                   string
	}{
		{"GET", http.MethodGet, "application/json", rgBody("jane", rgPassword), 405, "method_not_allowed"},
		{"a form", http.MethodPost, "application/x-www-form-urlencoded", "username=jane&password=x", 415, "unsupported_media_type"},
		{"too large", http.MethodPost, "application/json", rgBody("jane", strings.Repeat("x", 5000)), 413, "request_too_large"},
		{"malformed", http.MethodPost, "application/json", `{"username":"jane"`, 400, "invalid_request"},
		{"a name twice", http.MethodPost, "application/json", `{"username":"jane","username":"admin","password":"` + rgPassword + `"}`, 400, "invalid_request"},
		{"no password", http.MethodPost, "application/json", `{"username":"jane","password":""}`, 400, "invalid_request"},
	} {
		r := httptest.NewRequest(tc.method, "/api/auth/register", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ct)
		rec := httptest.NewRecorder()
		e.register.ServeHTTP(rec, r)
		rtRefused(t, tc.name, rec, tc.status, tc.code)
	}
}

// TestRegisterHashesInTheBudget: a registration's bcrypt work is taken
// from the password budget logins share: with none left, 503 with
// Retry-After, and nothing stored. A 409 hashes too, as a 201 does, so
// that it takes as long.
func TestRegisterHashesInTheBudget(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}}, ltBudget(0.001, 1), ltPolicy(func(p *jwtguard.LoginPolicy) { p.NoWait = true }))
	rtRefused(t, "taken, spending the budget", rgPost(e.register, "192.0.2.1:1", rgBody("alice", rgPassword)), http.StatusConflict, "username_taken")
	if st := e.auth.Stats(); st.LoginsAdmitted != 1 {
		t.Errorf("LoginsAdmitted %d after a 409, want 1 (it hashed)", st.LoginsAdmitted)
	}
	rec := rgPost(e.register, "192.0.2.1:1", rgBody("kate", rgPassword))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("no budget: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if _, err := e.users.LookupUser(context.Background(), "kate"); err == nil {
		t.Error("stored without a hash")
	}
}

// rgFailingWriter is a UserWriter whose writes fail.
type rgFailingWriter struct{ jwtguard.UserWriter }

func (rgFailingWriter) CreateUser(context.Context, jwtguard.User) error {
	return errors.New("disk full")
}

func (rgFailingWriter) SetPasswordHash(context.Context, string, []byte) error {
	return errors.New("disk full")
}

// TestRegisterStoreFails: a store that fails to write is a 503 with
// Retry-After, its reason not sent.
func TestRegisterStoreFails(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{})
	rec := rgPost(e.auth.RegisterHandler(rgFailingWriter{e.users}), "192.0.2.1:1", rgBody("lena", rgPassword))
	rtRefused(t, "a failing store", rec, http.StatusServiceUnavailable, "temporarily_unavailable")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("a failing store: no Retry-After")
	}
	if strings.Contains(rec.Body.String(), "disk") {
		t.Errorf("the store's error reached the client: %s", rec.Body)
	}
	vtCheckPanics(t, map[string]func(){"nil": func() { e.auth.RegisterHandler(nil) }}, "nil UserWriter")
}

// TestSetPassword: a password change applies the policy, replaces the
// hash (the old password stops working) and revokes every session of the
// user, refresh and access tokens alike.
func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	sessions := jwtguard.NewMemorySessionStore()
	e := rgSetup(t, jwtguard.RegisterPolicy{}, jwtguard.WithSessions(sessions))
	tr := slDecode(t, ltLogin(e.login, ltAlice).Body.Bytes())
	refresh := e.auth.RefreshHandler(e.users)

	if err := e.auth.SetPassword(ctx, e.users, "u-alice", "too short"); !errors.Is(err, jwtguard.ErrPasswordRejected) {
		t.Errorf("a short password: %v, want ErrPasswordRejected", err)
	}
	if err := e.auth.SetPassword(ctx, e.users, "u-nobody", rgPassword); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("an unknown user: %v, want ErrUserNotFound", err)
	}
	if _, ok := ltVerify(e.auth, tr.AccessToken); !ok {
		t.Fatal("a refused change revoked the sessions")
	}
	if err := e.auth.SetPassword(ctx, e.users, "u-alice", rgPassword); err != nil {
		t.Fatal(err)
	}
	if rec := ltLogin(e.login, ltAlice); rec.Code != http.StatusUnauthorized {
		t.Errorf("the old password: %d, want 401", rec.Code)
	}
	if rec := ltLogin(e.login, rgBody("alice", rgPassword)); rec.Code != http.StatusOK {
		t.Errorf("the new password: %d", rec.Code)
	}
	if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
		t.Error("an access token from before the change is accepted")
	}
	rtRefused(t, "a refresh token from before the change", rtPost(refresh, "application/json", rtJSON(tr.RefreshToken)), http.StatusBadRequest, "invalid_grant")
	if err := e.auth.SetPassword(ctx, rgFailingWriter{e.users}, "u-alice", rgPassword+"!"); !errors.Is(err, jwtguard.ErrInternal) {
		t.Errorf("a failing store: %v, want ErrInternal", err)
	}
}

// TestRegisterPolicyValidated: New refuses a policy out of range.
func TestRegisterPolicyValidated(t *testing.T) {
	for name, p := range map[string]jwtguard.RegisterPolicy{
		"minimum 7":       {MinPasswordLength: 7},
		"minimum 73":      {MinPasswordLength: 73},
		"cost 3":          {BcryptCost: 3},
		"cost 32":         {BcryptCost: 32},
		"an empty role":   {Roles: []string{"user", ""}},
		"negative burst":  {Address: jwtguard.Limit{Burst: -1}},
		"off with burst":  {Address: jwtguard.Limit{Off: true, Burst: 3}},
		"negative length": {MinPasswordLength: -1},
	} {
		if _, err := jwtguard.New(testKey(t, ltSecret), jwtguard.WithRegisterPolicy(p)); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestMemoryStoreFoldsUsernames: the memory store finds users whatever
// the letter case, and refuses two usernames equal but for it.
func TestMemoryStoreFoldsUsernames(t *testing.T) {
	h := ltHash(t, "password123")
	if _, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "sam", PasswordHash: h}, jwtguard.User{ID: "2", Username: "SAM", PasswordHash: h}); !errors.Is(err, jwtguard.ErrUserExists) {
		t.Errorf("sam and SAM: %v, want ErrUserExists", err)
	}
	if _, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "sam", PasswordHash: h}, jwtguard.User{ID: "1", Username: "tom", PasswordHash: h}); !errors.Is(err, jwtguard.ErrUserExists) {
		t.Errorf("two users of one ID: %v, want ErrUserExists", err)
	}
	s, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "Sam", PasswordHash: h})
	for _, name := range []string{"Sam", "sam", "SAM", "ſam"} {
		if u, err := s.LookupUser(context.Background(), name); err != nil || u.ID != "1" {
			t.Errorf("LookupUser(%q) = %+v, %v", name, u, err)
		}
	}
	if err := s.CreateUser(context.Background(), jwtguard.User{ID: "2", Username: "sAM", PasswordHash: h}); !errors.Is(err, jwtguard.ErrUserExists) {
		t.Errorf("CreateUser sAM: %v, want ErrUserExists", err)
	}
	if err := s.SetPasswordHash(context.Background(), "9", h); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("SetPasswordHash of an unknown ID: %v, want ErrUserNotFound", err)
	}
}

package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

// The registration review's findings (commit bf3f484), each fixed and
// tested here; internal/passwords, internal/guard and storetest hold the
// rest of their tests.

// TestReviewRegisterRefusesCommonPatterns: the review's passwords of 15
// characters or more that the blocklist did not hold are refused at the
// default policy as too common, and a password of one character that NFKC
// expands to 18 as too short. A finding of the registration review, fixed.
func TestReviewRegisterRefusesCommonPatterns(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}})
	for i, tc := range []struct{ password, reason string }{
		{"passwordpassword", "password_too_common"},
		{"aaaaaaaaaaaaaaa", "password_too_common"},
		{"123456789012345", "password_too_common"},
		{"qwertyuiopasdfgh", "password_too_common"},
		{"password1234567", "password_too_common"},
		{"iloveyouiloveyou", "password_too_common"},
		{"abcabcabcabcabc", "password_too_common"},
		{"\ufdfa", "password_too_short"},
	} {
		rec := rgPost(e.register, "192.0.2.1:1", rgBody("review"+strings.Repeat("x", i+1), tc.password))
		rtRefused(t, tc.password, rec, http.StatusBadRequest, "invalid_password")
		if !strings.Contains(rec.Body.String(), `"reason":"`+tc.reason+`"`) {
			t.Errorf("%q: %s, want reason %s", tc.password, rec.Body, tc.reason)
		}
	}
	for i, p := range []string{"correct horse battery staple", "Tr0ub4dor&3 is not a passphrase"} {
		if rec := rgPost(e.register, "192.0.2.1:1", rgBody("fine"+strings.Repeat("x", i+1), p)); rec.Code != http.StatusCreated {
			t.Errorf("%q: %d %s, want 201", p, rec.Code, rec.Body)
		}
	}
}

// TestReviewRegisterLimitDefaultsPerField: RegisterPolicy.Address with only
// Burst set keeps the registration's 10 minutes (it took the login's 30
// seconds), and with only Every set the registration's burst of 5 (not the
// login's 10). A finding of the registration review, fixed.
func TestReviewRegisterLimitDefaultsPerField(t *testing.T) {
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Burst: 2}})
	for i := range 2 {
		if rec := rgPost(e.register, "192.0.2.1:1", rgBody("burst"+strings.Repeat("x", i+1), rgPassword)); rec.Code != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := rgPost(e.register, "192.0.2.1:1", rgBody("burstzzz", rgPassword))
	rtRefused(t, "the third with Burst 2", rec, http.StatusTooManyRequests, "too_many_requests")
	if ra := rec.Header().Get("Retry-After"); ra != "600" {
		t.Errorf("Retry-After %q with only Burst set, want 600 (the registration's 10 minutes)", ra)
	}

	e = rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Every: time.Hour}})
	for i := range 6 {
		rec := rgPost(e.register, "192.0.2.1:1", rgBody("every"+strings.Repeat("x", i+1), rgPassword))
		if want := map[bool]int{true: 201, false: 429}[i < 5]; rec.Code != want {
			t.Errorf("registration %d with only Every set: %d, want %d (a burst of 5)", i+1, rec.Code, want)
		}
		if i == 5 && rec.Header().Get("Retry-After") != "3600" {
			t.Errorf("Retry-After %q, want 3600", rec.Header().Get("Retry-After"))
		}
	}
}

// rvRegisterAuth is an Auth with the given options (after ltAuth's, whose
// dummy cost is 4), the register policy as given (BcryptCost not forced to
// 4, unlike rgSetup), real bcrypt comparisons and a memory user store.
func rvRegisterAuth(t *testing.T, policy jwtguard.RegisterPolicy, opts ...jwtguard.Option) *rgEnv {
	t.Helper()
	users, err := jwtguard.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	a := ltAuth(t, append(opts, jwtguard.WithRegisterPolicy(policy))...)
	jwtguard.SetPasswordCompare(a, bcrypt.CompareHashAndPassword)
	return &rgEnv{auth: a, users: users, register: a.RegisterHandler(users), login: a.LoginHandler(users)}
}

// rvCost is the bcrypt cost of the stored hash of the user named name.
func rvCost(t *testing.T, users jwtguard.UserStore, name string) int {
	t.Helper()
	u, err := users.LookupUser(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := bcrypt.Cost(u.PasswordHash)
	if err != nil {
		t.Fatal(err)
	}
	return cost
}

// TestReviewRegisterCostFollowsDummyCost: with BcryptCost zero, new
// passwords are hashed at LoginPolicy.DummyHashCost, the cost unknown
// usernames are compared at, so that a failed login for a registered user
// takes as long as one for an unknown name (it hashed at 10 whatever the
// dummy cost). A finding of the registration review, fixed.
func TestReviewRegisterCostFollowsDummyCost(t *testing.T) {
	e := rvRegisterAuth(t, jwtguard.RegisterPolicy{}, ltDummyCost(5))
	if rec := rgPost(e.register, "192.0.2.1:1", rgBody("olga", rgPassword)); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	if cost := rvCost(t, e.users, "olga"); cost != 5 {
		t.Errorf("registered at cost %d, want the dummy cost 5", cost)
	}
	u, _ := e.users.LookupUser(context.Background(), "olga")
	if err := e.auth.SetPassword(context.Background(), e.users, u.ID, rgPassword+" again"); err != nil {
		t.Fatal(err)
	}
	if cost := rvCost(t, e.users, "olga"); cost != 5 {
		t.Errorf("SetPassword hashed at cost %d, want the dummy cost 5", cost)
	}
}

// TestReviewRegisterCostRaisesDummy: a registration that hashes above the
// dummy cost raises the cost unknown usernames are compared at to its own,
// before any login has seen such a hash (the guard recorded only the costs
// that logins compared). A finding of the registration review, fixed.
func TestReviewRegisterCostRaisesDummy(t *testing.T) {
	e := rvRegisterAuth(t, jwtguard.RegisterPolicy{BcryptCost: 6}, ltDummyCost(4))
	if rec := rgPost(e.register, "192.0.2.1:1", rgBody("pavel", rgPassword)); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	if jwtguard.HasDummyHash(e.auth, 6) {
		t.Fatal("a dummy hash of cost 6 exists before any login")
	}
	if rec := ltLogin(e.login, rgBody("nobody-at-all", rgPassword)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("an unknown user: %d", rec.Code)
	}
	if !jwtguard.HasDummyHash(e.auth, 6) {
		t.Error("an unknown user was not compared at the registered cost 6")
	}
}

// TestReviewMemoryStoreBounded: the memory user store holds at most its
// limit (100,000 by default): past it, CreateUser fails with
// ErrUserStoreFull and a registration is answered 500 without storing the
// user; a taken name is still 409; users already in it still log in. A
// finding of the registration review (public registration grew it without
// bound), fixed.
func TestReviewMemoryStoreBounded(t *testing.T) {
	if jwtguard.MaxMemoryUsers != 100_000 {
		t.Errorf("the memory store holds %d users, want 100,000 as documented", jwtguard.MaxMemoryUsers)
	}
	e := rgSetup(t, jwtguard.RegisterPolicy{Address: jwtguard.Limit{Off: true}})
	jwtguard.SetMemoryStoreLimit(e.users, 3) // alice and two more
	for _, name := range []string{"quinn", "rosa"} {
		if rec := rgPost(e.register, "192.0.2.1:1", rgBody(name, rgPassword)); rec.Code != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	rec := rgPost(e.register, "192.0.2.1:1", rgBody("sven", rgPassword))
	rtRefused(t, "a registration past the limit", rec, http.StatusInternalServerError, "server_error")
	if _, err := e.users.LookupUser(context.Background(), "sven"); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("sven was stored past the limit: %v", err)
	}
	err := e.users.CreateUser(context.Background(), jwtguard.User{ID: "u-sven", Username: "sven", PasswordHash: ltHash(t, rgPassword)})
	if !errors.Is(err, jwtguard.ErrUserStoreFull) {
		t.Errorf("CreateUser past the limit: %v, want ErrUserStoreFull", err)
	}
	rtRefused(t, "a taken name in a full store", rgPost(e.register, "192.0.2.1:1", rgBody("rosa", rgPassword)), http.StatusConflict, "username_taken")
	if rec := ltLogin(e.login, rgBody("quinn", rgPassword)); rec.Code != http.StatusOK {
		t.Errorf("a stored user's login in a full store: %d", rec.Code)
	}
	if err := e.auth.SetPassword(context.Background(), e.users, "u-alice", rgPassword+" anew"); err != nil {
		t.Errorf("a password change in a full store: %v", err)
	}

	h := ltHash(t, rgPassword)
	many := make([]jwtguard.User, jwtguard.MaxMemoryUsers+1)
	for i := range many {
		many[i] = jwtguard.User{ID: strconv.Itoa(i), Username: "user" + strconv.Itoa(i), PasswordHash: h}
	}
	if _, err := jwtguard.NewMemoryStore(many...); !errors.Is(err, jwtguard.ErrUserStoreFull) {
		t.Errorf("NewMemoryStore of %d users: %v, want ErrUserStoreFull", len(many), err)
	}
}

// TestReviewLoginComparesPasswordAsSent: hashes made elsewhere (bcryptjs,
// PHP) of passwords that are not their own NFKC form log in with the
// password as typed: a comparison in NFKC that fails is followed by one of
// the password as sent, in the same slot; an unknown user's dummy is
// compared twice too, so that both take as long; a password already in
// NFKC is compared once. A finding of the registration review (the login
// compared only the NFKC form, locking such users out), fixed.
func TestReviewLoginComparesPasswordAsSent(t *testing.T) {
	sent := []string{
		"mot\u00a0de\u00a0passe", // no-break spaces
		"\ufb01rewall-2024",      // the fi ligature
		"e=mc\u00b2-forever",     // a superscript
		"\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44-2024", // full-width letters
		"\u216b o'clock, high noon",                             // a Roman numeral
		strings.Repeat("\ufdfa", 4),                             // 12 bytes, 132 in NFKC: only as sent
	}
	var users []jwtguard.User
	for i, p := range sent {
		h, err := bcrypt.GenerateFromPassword([]byte(p), 4) // as bcryptjs would: no normalising
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, jwtguard.User{ID: "u" + strconv.Itoa(i), Username: "user" + strconv.Itoa(i), PasswordHash: h})
	}
	nfkc, err := jwtguard.HashPassword("\ufb01le and more")
	if err != nil {
		t.Fatal(err)
	}
	users = append(users, jwtguard.User{ID: "u-nfkc", Username: "nfkc", PasswordHash: nfkc})
	store, err := jwtguard.NewMemoryStore(users...)
	if err != nil {
		t.Fatal(err)
	}
	a := ltAuth(t, ltAccount(0, 0))
	var compared atomic.Int64
	jwtguard.SetPasswordCompare(a, func(hash, password []byte) error {
		compared.Add(1)
		return bcrypt.CompareHashAndPassword(hash, password)
	})
	login := a.LoginHandler(store)
	try := func(what, username, password string, status int, comparisons int64) {
		t.Helper()
		compared.Store(0)
		if rec := ltLogin(login, rgBody(username, password)); rec.Code != status {
			t.Errorf("%s: %d %s, want %d", what, rec.Code, rec.Body, status)
		}
		if n := compared.Load(); n != comparisons {
			t.Errorf("%s: %d comparisons, want %d", what, n, comparisons)
		}
	}
	for i, p := range sent {
		want := int64(2)
		if i == len(sent)-1 {
			want = 1 // its NFKC form is over 72 bytes: compared as sent alone
		}
		try(fmt.Sprintf("%q as sent", p), "user"+strconv.Itoa(i), p, http.StatusOK, want)
		try(fmt.Sprintf("%q, wrong", p), "user"+strconv.Itoa(i), p+"x", http.StatusUnauthorized, want)
		try(fmt.Sprintf("%q for an unknown user", p), "nobody"+strconv.Itoa(i), p, http.StatusUnauthorized, want)
	}
	try("an NFKC hash, the password not in NFKC", "nfkc", "\ufb01le and more", http.StatusOK, 1)
	try("an NFKC hash, the NFKC form", "nfkc", "file and more", http.StatusOK, 1)
	try("an NFKC hash, a wrong password not in NFKC", "nfkc", "\ufb01le and less", http.StatusUnauthorized, 2)
	try("an ASCII password, wrong", "user0", "mot de passe", http.StatusUnauthorized, 1)
	try("an ASCII password, unknown user", "nobody", "mot de passe", http.StatusUnauthorized, 1)
	// 25 full-width letters: 75 bytes as sent, 25 in NFKC; only the NFKC
	// form can be a bcrypt password.
	try("over 72 bytes as sent only", "user0", strings.Repeat("\uff41", 25), http.StatusUnauthorized, 1)
	try("over 72 bytes in both forms", "user0", strings.Repeat("\ufdfa", 25), http.StatusUnauthorized, 0)
}

// TestReviewSetPasswordRacesLogin: a login that compared the old password
// while SetPassword ran yields no working session. The login reads alice
// (her old hash), blocks inside the comparison, SetPassword stores the new
// hash and revokes her sessions (none exist yet), and the comparison is
// released: the session store refuses the session, created at the time
// the login read her, and the login is answered 401 invalid_credentials
// (not 503). With the clock frozen (the read, the revocation and the
// session at one instant) and with it moving between each. A finding of the registration
// review (the login kept a working session with the old password), fixed.
func TestReviewSetPasswordRacesLogin(t *testing.T) {
	for _, moving := range []bool{false, true} {
		t.Run(map[bool]string{false: "frozen clock", true: "moving clock"}[moving], func(t *testing.T) {
			clock := &rtClock{now: time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)}
			e := rgSetup(t, jwtguard.RegisterPolicy{}, jwtguard.WithSessions(jwtguard.NewMemorySessionStore()), jwtguard.WithClock(clock.Now),
				ltPolicy(func(p *jwtguard.LoginPolicy) { p.Concurrency = 4 })) // SetPassword hashes while the login holds a slot
			refresh := e.auth.RefreshHandler(e.users)
			entered, release := make(chan struct{}), make(chan struct{})
			var first atomic.Bool
			jwtguard.SetPasswordCompare(e.auth, func(hash, password []byte) error {
				if first.CompareAndSwap(false, true) {
					close(entered)
					<-release
				}
				return bcrypt.CompareHashAndPassword(hash, password)
			})

			done := make(chan *httptest.ResponseRecorder)
			go func() { done <- ltLogin(e.login, ltAlice) }() // the old password
			<-entered
			if moving {
				clock.Add(time.Second)
			}
			if err := e.auth.SetPassword(context.Background(), e.users, "u-alice", rgPassword); err != nil {
				t.Fatal(err)
			}
			if moving {
				// The login issues after the revocation's instant: only the
				// time it read alice, not the time it issues, is covered.
				clock.Add(time.Second)
			}
			close(release)
			rec := <-done

			if rec.Code == http.StatusOK {
				// Acceptable only if nothing it got works.
				tr := slDecode(t, rec.Body.Bytes())
				if _, ok := ltVerify(e.auth, tr.AccessToken); ok {
					t.Error("the racing login's access token is accepted after the password change")
				}
				if rec := rtPost(refresh, "application/json", rtJSON(tr.RefreshToken)); rec.Code == http.StatusOK {
					t.Error("the racing login's refresh token works after the password change")
				}
			} else {
				rtRefused(t, "the login that raced the password change", rec, http.StatusUnauthorized, "invalid_credentials")
			}

			clock.Add(time.Second)
			rtRefused(t, "the old password after the change", ltLogin(e.login, ltAlice), http.StatusUnauthorized, "invalid_credentials")
			rec = ltLogin(e.login, rgBody("alice", rgPassword))
			if rec.Code != http.StatusOK {
				t.Fatalf("the new password: %d %s", rec.Code, rec.Body)
			}
			tr := slDecode(t, rec.Body.Bytes())
			if _, ok := ltVerify(e.auth, tr.AccessToken); !ok {
				t.Error("a login after the change: its access token is refused")
			}
			if rec := rtPost(refresh, "application/json", rtJSON(tr.RefreshToken)); rec.Code != http.StatusOK {
				t.Errorf("a login after the change: refresh %d %s", rec.Code, rec.Body)
			}
		})
	}
}

// TestReviewNonNFKCGuessesSpendTheBudgetTwice (a finding of the fixes'
// review, fixed): a login whose password is not its NFKC form runs a
// second comparison, which took no budget: a flood of such guesses got
// twice the bcrypt CPU the budget allows. Now the second comparison
// spends a second token (into debt, waited out by later logins).
func TestReviewNonNFKCGuessesSpendTheBudgetTwice(t *testing.T) {
	a := ltAuth(t, ltAccount(0, 0), ltAddress(0, 0), ltBudget(0.001, 5), ltPolicy(func(p *jwtguard.LoginPolicy) { p.NoWait = true }))
	var n atomic.Int64
	jwtguard.SetPasswordCompare(a, func(h, p []byte) error { n.Add(1); return bcrypt.CompareHashAndPassword(h, p) })
	login := a.LoginHandler(rtNewUsers(t))
	for i := range 20 {
		ltLogin(login, rgBody("nobody", fmt.Sprintf("guess\u00a0%d", i)))
	}
	if got := n.Load(); got > 6 {
		t.Errorf("%d bcrypt comparisons on a budget of 5 tokens (one more may go into debt)", got)
	}
}

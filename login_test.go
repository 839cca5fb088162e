package jwtguard_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
	"golang.org/x/crypto/bcrypt"
)

// ltSecret is the HMAC secret of the login tests.
var ltSecret = []byte("login-tests-secret-0123456789abcdef")

// ltHashes caches cost-4 hashes so the tests stay fast.
var ltHashes sync.Map

func ltHash(t testing.TB, password string) []byte {
	t.Helper()
	if h, ok := ltHashes.Load(password); ok {
		return h.([]byte)
	}
	h, err := ltHashCost(password, 4)
	if err != nil {
		t.Fatal(err)
	}
	ltHashes.Store(password, h)
	return h
}

// ltStore holds alice (user), admin (admin, user) and mallory (disabled),
// all with the password "password123".
func ltStore(t testing.TB) jwtguard.UserStore {
	t.Helper()
	h := ltHash(t, "password123")
	s, err := jwtguard.NewMemoryStore(
		jwtguard.User{ID: "u-alice", Username: "alice", PasswordHash: h, Roles: []string{"user"}},
		jwtguard.User{ID: "u-admin", Username: "admin", PasswordHash: h, Roles: []string{"admin", "user"}},
		jwtguard.User{ID: "u-mallory", Username: "mallory", PasswordHash: h, Disabled: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ltAuth(t testing.TB, opts ...jwtguard.Option) *jwtguard.Auth {
	t.Helper()
	// The password budget is off unless a test turns it on: it follows the
	// measured cost of a comparison, which on a loaded machine under -race
	// can be slow enough to hold a test's logins (password_test.go tests
	// the budget on synctest's clock).
	opts = append([]jwtguard.Option{jwtguard.WithLogger(slog.New(slog.DiscardHandler)), ltDummyCost(4), ltBudget(0, 0)}, opts...)
	a, err := jwtguard.New(testKey(t, ltSecret), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ltRequest(method, contentType, body string) *http.Request {
	r := httptest.NewRequest(method, "/api/auth/login", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func ltLogin(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, ltRequest(http.MethodPost, "application/json", body))
	return rec
}

// ltErrorBody decodes a refusal body and checks its fixed shape.
func ltErrorBody(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if v := rec.Header().Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", v)
	}
	var body struct{ Error, Reason, Message string }
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == "" || body.Reason == "" || body.Message == "" {
		t.Fatalf("refusal body %q: want {error, reason, message}: %v", rec.Body.String(), err)
	}
	return body.Error
}

func TestLoginRefusals(t *testing.T) {
	long := strings.Repeat("p", 72+1)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
	}{
		{"GET", http.MethodGet, "application/json", `{"username":"alice","password":"password123"}`, 405, "method_not_allowed"},
		{"PUT", http.MethodPut, "application/json", `{"username":"alice","password":"password123"}`, 405, "method_not_allowed"},
		{"no content type", http.MethodPost, "", `{"username":"alice","password":"password123"}`, 415, "unsupported_media_type"},
		{"form content type", http.MethodPost, "application/x-www-form-urlencoded", `username=alice&password=password123`, 415, "unsupported_media_type"},
		{"text/plain", http.MethodPost, "text/plain", `{"username":"alice","password":"password123"}`, 415, "unsupported_media_type"},
		{"json with latin1 charset", http.MethodPost, "application/json; charset=iso-8859-1", `{"username":"alice","password":"password123"}`, 415, "unsupported_media_type"},
		{"malformed media type", http.MethodPost, "application/json; ;;", `{"username":"alice","password":"password123"}`, 415, "unsupported_media_type"},
		{"body over the cap", http.MethodPost, "application/json", `{"username":"alice","password":"` + strings.Repeat("x", 5000) + `"}`, 413, "request_too_large"},
		{"malformed JSON", http.MethodPost, "application/json", `{"username":"alice",`, 400, "invalid_request"},
		{"empty body", http.MethodPost, "application/json", ``, 400, "invalid_request"},
		{"JSON array", http.MethodPost, "application/json", `["alice","password123"]`, 400, "invalid_request"},
		{"JSON null", http.MethodPost, "application/json", `null`, 400, "invalid_request"},
		{"operator injection", http.MethodPost, "application/json", `{"username":{"$ne":null},"password":{"$ne":null}}`, 400, "invalid_request"},
		{"number password", http.MethodPost, "application/json", `{"username":"alice","password":123}`, 400, "invalid_request"},
		{"unknown field", http.MethodPost, "application/json", `{"username":"alice","password":"password123","admin":true}`, 400, "invalid_request"},
		{"trailing value", http.MethodPost, "application/json", `{"username":"alice","password":"password123"}{}`, 400, "invalid_request"},
		{"trailing garbage", http.MethodPost, "application/json", `{"username":"alice","password":"password123"} x`, 400, "invalid_request"},
		{"missing password", http.MethodPost, "application/json", `{"username":"alice"}`, 400, "invalid_request"},
		{"empty username", http.MethodPost, "application/json", `{"username":"","password":"password123"}`, 400, "invalid_request"},
		{"null username", http.MethodPost, "application/json", `{"username":null,"password":"password123"}`, 400, "invalid_request"},
		{"unknown user", http.MethodPost, "application/json", `{"username":"nobody","password":"password123"}`, 401, "invalid_credentials"},
		{"wrong password", http.MethodPost, "application/json", `{"username":"alice","password":"password124"}`, 401, "invalid_credentials"},
		{"disabled user, right password", http.MethodPost, "application/json", `{"username":"mallory","password":"password123"}`, 401, "invalid_credentials"},
		{"password over 72 bytes", http.MethodPost, "application/json", `{"username":"alice","password":"` + long + `"}`, 401, "invalid_credentials"},
	}
	a := ltAuth(t)
	h := a.LoginHandler(ltStore(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, ltRequest(tc.method, tc.contentType, tc.body))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if code := ltErrorBody(t, rec); code != tc.wantCode {
				t.Errorf("error code = %q, want %q", code, tc.wantCode)
			}
			if tc.wantStatus == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
			}
			if strings.Contains(rec.Body.String(), "access_token") {
				t.Error("a refusal carries a token")
			}
			if rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("login refusal carries a Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestLoginBodyIsStrict: the login body has one reading. A repeated member
// or a member name in another letter case, which encoding/json settles by
// taking the last or by ignoring case (so that a gateway reading the first
// username and jwtguard disagree about who logs in), is refused, and so is
// text that encoding/json would silently repair.
func TestLoginBodyIsStrict(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"plain", `{"username":"alice","password":"password123"}`, 200},
		{"escaped names are the names", `{"\u0075sername":"alice","pass\u0077ord":"password123"}`, 200},
		{"escaped values", `{"username":"\u0061lice","password":"password\u0031\u00323"}`, 200},
		{"JSON white space", " {\r\n\t\"username\" : \"alice\" ,\"password\":\"password123\"}\n", 200},
		{"username twice", `{"username":"nobody","username":"alice","password":"password123"}`, 400},
		{"username twice, second escaped", `{"username":"nobody","\u0075sername":"alice","password":"password123"}`, 400},
		{"password twice", `{"username":"alice","password":"wrong","password":"password123"}`, 400},
		{"USERNAME", `{"USERNAME":"alice","password":"password123"}`, 400},
		{"Username beside username", `{"Username":"nobody","username":"alice","password":"password123"}`, 400},
		{"Password", `{"username":"alice","Password":"password123"}`, 400},
		{"lone surrogate in the password", `{"username":"alice","password":"password123\ud800"}`, 400},
		{"lone low surrogate in the username", `{"username":"alice\udc00","password":"password123"}`, 400},
		{"invalid UTF-8 in the password", "{\"username\":\"alice\",\"password\":\"password123\xff\"}", 400},
		{"raw control character", "{\"username\":\"alice\x7f\x01\",\"password\":\"password123\"}", 400},
		{"BOM", "\xef\xbb\xbf{\"username\":\"alice\",\"password\":\"password123\"}", 400},
		{"vertical tab", "{\v\"username\":\"alice\",\"password\":\"password123\"}", 400},
		{"no-break space", "{\u00a0\"username\":\"alice\",\"password\":\"password123\"}", 400},
		{"null password", `{"username":"alice","password":null}`, 400},
		{"trailing comma", `{"username":"alice","password":"password123",}`, 400},
		{"second value after white space", `{"username":"alice","password":"password123"} {}`, 400},
		{"body over the cap, duplicates inside", `{"username":"alice","username":"` + strings.Repeat("x", 5000) + `","password":"password123"}`, 413},
	}
	h := ltAuth(t).LoginHandler(ltStore(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := ltLogin(h, tc.body)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if tc.wantStatus == 400 {
				if code := ltErrorBody(t, rec); code != "invalid_request" {
					t.Errorf("error code = %q, want invalid_request", code)
				}
			}
		})
	}
}

// An unknown user, a wrong password and a disabled account are answered with
// the same bytes, and each costs exactly one bcrypt comparison against a
// hash of the same cost, so neither the answer nor its timing tells them
// apart.
func TestLoginDoesNotRevealWhichCredentialFailed(t *testing.T) {
	a := ltAuth(t)
	var compared []string
	var mu sync.Mutex
	jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
		mu.Lock()
		compared = append(compared, string(hash[:7])) // "$2a$04$": version and cost
		mu.Unlock()
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	h := a.LoginHandler(ltStore(t))
	// One successful login first, so the dummy follows the store's cost.
	if rec := ltLogin(h, `{"username":"alice","password":"password123"}`); rec.Code != 200 {
		t.Fatalf("alice: %d %s", rec.Code, rec.Body)
	}
	var bodies []string
	for _, body := range []string{
		`{"username":"nobody","password":"password123"}`,
		`{"username":"alice","password":"wrong"}`,
		`{"username":"mallory","password":"password123"}`,
	} {
		rec := ltLogin(h, body)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", body, rec.Code)
		}
		bodies = append(bodies, rec.Body.String())
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("bodies differ:\n%s", strings.Join(bodies, "\n"))
	}
	if len(compared) != 4 {
		t.Fatalf("%d bcrypt comparisons, want 4 (one per login): %q", len(compared), compared)
	}
	for i, c := range compared {
		if c[4:7] != "04$" {
			t.Errorf("comparison %d used a hash of cost %q, want 04 like the store's", i, c)
		}
	}
}

func TestLoginDummyHashUsesConfiguredCostBeforeAnyRealHash(t *testing.T) {
	a := ltAuth(t, ltDummyCost(5))
	var costs []string
	jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
		costs = append(costs, string(hash[4:6]))
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	if rec := ltLogin(a.LoginHandler(ltStore(t)), `{"username":"nobody","password":"x"}`); rec.Code != 401 {
		t.Fatalf("status %d", rec.Code)
	}
	if len(costs) != 1 || costs[0] != "05" {
		t.Errorf("costs = %q, want [05]", costs)
	}
}

// bcrypt reads only 72 bytes: a 73-byte password must not log in as the user
// whose password is its 72-byte prefix.
func TestLoginRefusesPasswordsOverSeventyTwoBytes(t *testing.T) {
	pw72 := strings.Repeat("a", 72)
	s, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "long", PasswordHash: ltHash(t, pw72)})
	if err != nil {
		t.Fatal(err)
	}
	h := ltAuth(t).LoginHandler(s)
	if rec := ltLogin(h, `{"username":"long","password":"`+pw72+`"}`); rec.Code != 200 {
		t.Fatalf("72 bytes: status %d, want 200", rec.Code)
	}
	if rec := ltLogin(h, `{"username":"long","password":"`+pw72+`b"}`); rec.Code != 401 {
		t.Fatalf("73 bytes: status %d, want 401", rec.Code)
	}
}

func TestLoginSuccess(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	a := ltAuth(t,
		jwtguard.WithClock(func() time.Time { return now }),
		jwtguard.WithIssuer("https://issuer.example"),
		jwtguard.WithAudience("api.example"),
		jwtguard.WithTokenLifetime(10*time.Minute),
	)
	h := a.LoginHandler(ltStore(t))
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"} {
		t.Run(ct, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, ltRequest(http.MethodPost, ct, `{"username":"admin","password":"password123"}`))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			for k, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json"} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var tr map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
				t.Fatal(err)
			}
			if len(tr) != 3 || tr["token_type"] != "Bearer" || tr["expires_in"] != 600.0 {
				t.Errorf("response = %v, want access_token, token_type Bearer, expires_in 600", tr)
			}
			tok, _ := tr["access_token"].(string)
			payload := ltPayload(t, tok)
			for _, k := range []string{"sub", "username", "roles", "iat", "exp", "jti", "iss", "aud"} {
				if _, ok := payload[k]; !ok {
					t.Errorf("claim %q missing from %v", k, payload)
				}
			}
			if len(payload) != 8 {
				t.Errorf("token carries other claims: %v", payload)
			}
			if payload["sub"] != "u-admin" || payload["username"] != "admin" || payload["exp"] != float64(now.Add(10*time.Minute).Unix()) ||
				payload["iss"] != "https://issuer.example" || payload["aud"] != "api.example" {
				t.Errorf("claims = %v", payload)
			}
			if strings.Contains(tok, "$2a$") || strings.Contains(string(ltDecodeSegment(t, tok)), "password") {
				t.Error("the token carries the password hash")
			}
			// The token passes the same Auth's Verify and Authorize.
			var got *jwtguard.Claims
			protected := a.Verify(a.Authorize("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = jwtguard.FromContext(r.Context())
			})))
			req := httptest.NewRequest(http.MethodGet, "/api/admin-data", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			vrec := httptest.NewRecorder()
			protected.ServeHTTP(vrec, req)
			if vrec.Code != 200 || got == nil || got.Subject != "u-admin" || !slices.Contains(got.Roles, "user") {
				t.Fatalf("verify: status %d, claims %+v", vrec.Code, got)
			}
		})
	}
}

func TestIssueGivesEachTokenItsOwnID(t *testing.T) {
	a := ltAuth(t)
	seen := map[string]bool{}
	for range 50 {
		tr, err := a.Issue(context.Background(), jwtguard.User{ID: "1"})
		if err != nil {
			t.Fatal(err)
		}
		jti, _ := ltPayload(t, tr.AccessToken)["jti"].(string)
		if len(jti) < 22 || seen[jti] {
			t.Fatalf("jti %q is short or repeated", jti)
		}
		seen[jti] = true
	}
	if _, err := a.Issue(context.Background(), jwtguard.User{Username: "no-id"}); !errors.Is(err, jwtguard.ErrInternal) {
		t.Errorf("Issue without a user ID: %v, want an error wrapping ErrInternal (a 500 from LoginHandler)", err)
	}
}

// TestLoginStoreErrorFailsClosedAndHidden: a user store that fails (a
// database that is down) is 503 with Retry-After, its error logged at
// Error level and never sent to the client.
func TestLoginStoreErrorFailsClosedAndHidden(t *testing.T) {
	var logs bytes.Buffer
	a := ltAuth(t, jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	store := ltStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
		return jwtguard.User{}, errors.New("dial tcp 10.0.0.7:5432: connection refused")
	})
	rec := ltLogin(a.LoginHandler(store), `{"username":"alice","password":"hunter2-secret"}`)
	if rec.Code != http.StatusServiceUnavailable || ltErrorBody(t, rec) != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q, body %s; want 503 temporarily_unavailable with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the store's failure is not logged at Error: %s", logs.String())
	}
	if strings.Contains(rec.Body.String(), "10.0.0.7") {
		t.Error("the store's error reached the client")
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the operator log lacks the store's error: %s", logs.String())
	}
	if strings.Contains(logs.String(), "hunter2-secret") {
		t.Error("the password was logged")
	}
}

func TestLoginNeverLogsPasswordOrToken(t *testing.T) {
	var logs bytes.Buffer
	a := ltAuth(t, jwtguard.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	h := a.LoginHandler(ltStore(t))
	rec := ltLogin(h, `{"username":"alice","password":"password123"}`)
	var tr jwtguard.TokenResponse
	json.Unmarshal(rec.Body.Bytes(), &tr)
	ltLogin(h, `{"username":"alice","password":"wrong-guess-77"}`)
	ltLogin(h, `{"username":"wrong-guess-78","password":"x"}`)
	for _, secret := range []string{"password123", "wrong-guess-77", tr.AccessToken, "$2a$"} {
		if secret != "" && strings.Contains(logs.String(), secret) {
			t.Errorf("log contains %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "wrong password") || !strings.Contains(logs.String(), "unknown user") {
		t.Errorf("the operator log lacks the reasons:\n%s", logs.String())
	}
}

// With every comparison slot taken, a login waits for the configured time and
// is then refused with 503 and Retry-After; verified API requests meanwhile
// are served, since Verify takes no slot.
func TestLoginOverloadedWaitsThenRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltAuth(t, ltConcurrency(1), ltWait(1500*time.Millisecond))
		release, _ := ltHoldFirstCompare(a)
		h := a.LoginHandler(ltStore(t))
		first := make(chan *httptest.ResponseRecorder)
		go func() { first <- ltLogin(h, `{"username":"alice","password":"password123"}`) }()
		synctest.Wait() // the first login holds the only slot

		api := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		tr, err := a.Issue(context.Background(), jwtguard.User{ID: "u-alice"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rec := ltLogin(h, `{"username":"admin","password":"password123"}`)
		if waited := time.Since(start); waited != 1500*time.Millisecond {
			t.Errorf("refused after %v, want the login wait 1.5s", waited)
		}
		if rec.Code != http.StatusServiceUnavailable || ltErrorBody(t, rec) != "temporarily_unavailable" {
			t.Fatalf("status %d %s, want 503", rec.Code, rec.Body)
		}
		if ra := rec.Header().Get("Retry-After"); ra != "2" {
			t.Errorf("Retry-After = %q, want 2 (the wait rounded up)", ra)
		}
		for range 3 {
			req := httptest.NewRequest(http.MethodGet, "/api/secure-data", nil)
			req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			arec := httptest.NewRecorder()
			api.ServeHTTP(arec, req)
			if arec.Code != http.StatusNoContent {
				t.Fatalf("API request during the login backlog: %d", arec.Code)
			}
		}
		close(release)
		if rec := <-first; rec.Code != http.StatusOK {
			t.Errorf("first login: %d", rec.Code)
		}
		// The slot is free again: the next login goes through.
		if rec := ltLogin(h, `{"username":"admin","password":"password123"}`); rec.Code != http.StatusOK {
			t.Errorf("login after the backlog: %d", rec.Code)
		}
	})
}

func TestLoginWaitZeroRefusesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := ltAuth(t, ltConcurrency(1), ltWait(0))
		release, _ := ltHoldFirstCompare(a)
		h := a.LoginHandler(ltStore(t))
		done := make(chan struct{})
		go func() { ltLogin(h, `{"username":"alice","password":"password123"}`); close(done) }()
		synctest.Wait()
		start := time.Now()
		rec := ltLogin(h, `{"username":"alice","password":"password123"}`)
		if rec.Code != http.StatusServiceUnavailable || time.Since(start) != 0 {
			t.Errorf("status %d after %v, want 503 at once", rec.Code, time.Since(start))
		}
		if rec.Header().Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", rec.Header().Get("Retry-After"))
		}
		close(release)
		<-done
	})
}

// Hashes made by the tools the tutorials use log in through a MemoryStore:
// bcryptjs 2.x ($2a$), bcryptjs 3.x ($2b$) and PHP's password_hash ($2y$).
func TestLoginWithForeignHashes(t *testing.T) {
	raw, err := os.ReadFile("testdata/foreign_hashes.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixtures []struct {
		Tool, Prefix, Password, Hash string
		Cost                         int
	}
	if err := json.Unmarshal(raw, &fixtures); err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]bool{}
	for i, f := range fixtures {
		if f.Cost > 4 && testing.Short() {
			continue
		}
		prefixes[f.Prefix] = true
		t.Run(f.Tool+"/"+f.Prefix+"/"+string(rune('a'+i)), func(t *testing.T) {
			s, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "u", PasswordHash: []byte(f.Hash)})
			if err != nil {
				t.Fatal(err)
			}
			h := ltAuth(t).LoginHandler(s)
			body, _ := json.Marshal(map[string]string{"username": "u", "password": f.Password})
			rec := ltLogin(h, string(body))
			if len(f.Password) > 72 {
				if rec.Code != 401 {
					t.Fatalf("%d-byte password: status %d, want 401 (refused, not truncated)", len(f.Password), rec.Code)
				}
				return
			}
			if rec.Code != 200 {
				t.Fatalf("right password: status %d", rec.Code)
			}
			// Change a byte inside the 72 that bcrypt reads.
			wrong := []byte(f.Password)
			wrong[0] ^= 1
			body, _ = json.Marshal(map[string]string{"username": "u", "password": string(wrong)})
			if rec := ltLogin(h, string(body)); rec.Code != 401 {
				t.Fatalf("wrong password: status %d", rec.Code)
			}
		})
	}
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if !prefixes[p] {
			t.Errorf("no fixture with prefix %s", p)
		}
	}
}

func TestLoginHandlerNilStorePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("LoginHandler(nil) did not panic")
		}
	}()
	ltAuth(t).LoginHandler(nil)
}

func BenchmarkLogin(b *testing.B) {
	hash, err := jwtguard.HashPassword("password123")
	if err != nil {
		b.Fatal(err)
	}
	s, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "alice", PasswordHash: hash, Roles: []string{"user"}})
	// The throttle and the password budget are off so that every iteration
	// compares a password at once: the figure is bcrypt's and the
	// handler's, not the budget's wait.
	a, _ := jwtguard.New(testKey(b, ltSecret), jwtguard.WithLogger(slog.New(slog.DiscardHandler)), ltAccount(0, 0), ltBudget(0, 0))
	h := a.LoginHandler(s)
	for _, bc := range []struct{ name, body string }{
		{"success", `{"username":"alice","password":"password123"}`},
		{"wrong-password", `{"username":"alice","password":"password124"}`},
		{"unknown-user", `{"username":"nobody","password":"password123"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, ltRequest(http.MethodPost, "application/json", bc.body))
				if rec.Code != http.StatusOK && rec.Code != http.StatusUnauthorized {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// ltPayload decodes a token's payload without verifying it.
func ltPayload(t testing.TB, tok string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ltDecodeSegment(t, tok), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func ltDecodeSegment(t testing.TB, tok string) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d segments", tok, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ltVerify runs tok through a.Verify and returns the claims it saw.
func ltVerify(a *jwtguard.Auth, tok string) (*jwtguard.Claims, bool) {
	var got *jwtguard.Claims
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = jwtguard.FromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(httptest.NewRecorder(), req)
	return got, got != nil
}

// A login whose client goes away while it waits for a slot stops waiting at
// once and is not counted as a server error.
func TestLoginCancelledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		a := ltAuth(t, ltConcurrency(1), ltWait(time.Minute),
			jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		release, calls := ltHoldFirstCompare(a)
		h := a.LoginHandler(ltStore(t))
		done := make(chan struct{})
		go func() { ltLogin(h, `{"username":"alice","password":"password123"}`); close(done) }()
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Second) // virtual time: the client hangs up after 1 s
			cancel()
		}()
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, ltRequest(http.MethodPost, "application/json", `{"username":"admin","password":"password123"}`).WithContext(ctx))
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("waited %v after the client left, want 1s", waited)
		}
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", rec.Code)
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("a client hanging up was logged as an error:\n%s", logs.String())
		}
		if calls.Load() != 1 {
			t.Errorf("%d comparisons, want 1: the cancelled login must not compare", calls.Load())
		}
		close(release)
		<-done
	})
}

// ltHoldFirstCompare makes a's first password comparison wait until release
// is closed, and counts comparisons in calls.
func ltHoldFirstCompare(a *jwtguard.Auth) (release chan struct{}, calls *atomic.Int32) {
	release, calls = make(chan struct{}), new(atomic.Int32)
	jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
		if calls.Add(1) == 1 {
			<-release
		}
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	return release, calls
}

// The dummy hash is made when the handler is, so the first login for an
// unknown user compares once, like every later one, instead of also hashing.
func TestLoginHandlerMakesTheDummyHashUpFront(t *testing.T) {
	a := ltAuth(t, ltDummyCost(5))
	if jwtguard.HasDummyHash(a, 5) {
		t.Fatal("dummy hash made before any handler")
	}
	a.LoginHandler(ltStore(t))
	if !jwtguard.HasDummyHash(a, 5) {
		t.Error("LoginHandler did not make the dummy hash at the configured cost")
	}
}

// Unknown users are compared at the highest cost seen in the store, not the
// last one, so that a client cannot lower it by logging in to a cheap
// account first.
func TestLoginDummyFollowsTheHighestCostSeen(t *testing.T) {
	h4, h5 := ltHash(t, "password123"), func() []byte {
		h, err := ltHashCost("password123", 5)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}()
	s, err := jwtguard.NewMemoryStore(
		jwtguard.User{ID: "4", Username: "cheap", PasswordHash: h4},
		jwtguard.User{ID: "5", Username: "dear", PasswordHash: h5},
	)
	if err != nil {
		t.Fatal(err)
	}
	a := ltAuth(t)
	var costs []string
	jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
		costs = append(costs, string(hash[4:6]))
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	h := a.LoginHandler(s)
	for _, body := range []string{
		`{"username":"dear","password":"x"}`,
		`{"username":"cheap","password":"x"}`,
		`{"username":"nobody","password":"x"}`,
	} {
		ltLogin(h, body)
	}
	if len(costs) != 3 || costs[2] != "05" {
		t.Errorf("costs compared = %q, want the unknown user at 05", costs)
	}
}

func TestLoginRefusesLongUsernames(t *testing.T) {
	h := ltAuth(t).LoginHandler(ltStore(t))
	name := strings.Repeat("u", 256)
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"`+name+`","password":"x"}`), 401, "the longest username")
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"`+name+`u","password":"x"}`), 400, "one byte longer")
}

// A client that hangs up once its password has been compared has made its
// guess: the throttle keeps the token.
func TestLoginCancelledAfterTheComparisonCountsAsAGuess(t *testing.T) {
	a := ltAuth(t, ltAccount(1, time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
		cancel()
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	h := a.LoginHandler(ltStore(t))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, ltRequest(http.MethodPost, "application/json", ltAliceWrong).WithContext(ctx))
	if rec.Code != 401 {
		t.Fatalf("cancelled guess: %d, want 401", rec.Code)
	}
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "the next guess")
}

// A UserStore that panics does not spend throttle tokens: the panic goes on
// to net/http, and the tokens come back.
func TestLoginStorePanicGivesTokensBack(t *testing.T) {
	a := ltAuth(t, ltAccount(1, time.Hour), ltAddress(1, time.Hour))
	panicking := a.LoginHandler(ltStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
		panic("store bug")
	}))
	for i := range 3 {
		func() {
			defer func() {
				if r := recover(); r != "store bug" {
					t.Errorf("login %d: recovered %v, want the store's panic to reach net/http", i, r)
				}
			}()
			ltLoginFrom(panicking, "192.0.2.1:1", ltAliceWrong)
		}()
	}
	h := a.LoginHandler(ltStore(t))
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "the first real guess")
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "the second")
}

// A client that hangs up during the store lookup is not a server error:
// 503 like a client gone while waiting, logged below Error, tokens back.
func TestLoginCancelledDuringLookup(t *testing.T) {
	tests := []struct {
		name string
		err  func(ctx context.Context) error
	}{
		{"store returns the context's error", func(ctx context.Context) error { return fmt.Errorf("query: %w", ctx.Err()) }},
		{"store returns its own error", func(ctx context.Context) error { return errors.New("driver: bad connection") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := ltAuth(t, ltAccount(1, time.Hour),
				jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := a.LoginHandler(ltStoreFunc(func(c context.Context, username string) (jwtguard.User, error) {
				cancel() // the client hangs up while the store works
				return jwtguard.User{}, tc.err(c)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, ltRequest(http.MethodPost, "application/json", ltAliceWrong).WithContext(ctx))
			if rec.Code != http.StatusServiceUnavailable || ltErrorBody(t, rec) != "temporarily_unavailable" {
				t.Errorf("status %d %s, want 503", rec.Code, rec.Body)
			}
			if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "cancelled during the user lookup") {
				t.Errorf("want the cancellation logged below Error:\n%s", logs.String())
			}
			h = a.LoginHandler(ltStore(t))
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 401, "the first real guess")
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", ltAliceWrong), 429, "the second")
		})
	}
}

// A store built on database/sql that returns sql.ErrNoRows for a missing
// user is answered exactly as ErrUserNotFound: 401 after a dummy
// comparison, a guess for the throttle, no server error.
func TestLoginStoreSQLErrNoRowsIsAnUnknownUser(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"ErrUserNotFound", jwtguard.ErrUserNotFound},
		{"sql.ErrNoRows", sql.ErrNoRows},
		{"wrapped sql.ErrNoRows", fmt.Errorf("select user %q: %w", "nobody", sql.ErrNoRows)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := ltAuth(t, ltAccount(1, time.Hour), jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			var compared int
			jwtguard.SetPasswordCompare(a, func(hash, pw []byte) error {
				compared++
				return bcrypt.CompareHashAndPassword(hash, pw)
			})
			h := a.LoginHandler(ltStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
				return jwtguard.User{ID: "partial-row", PasswordHash: ltHash(t, "password123")}, tc.err
			}))
			rec := ltLoginFrom(h, "192.0.2.1:1", `{"username":"nobody","password":"password123"}`)
			if rec.Code != 401 || ltErrorBody(t, rec) != "invalid_credentials" {
				t.Fatalf("status %d %s, want 401 invalid_credentials", rec.Code, rec.Body)
			}
			if compared != 1 {
				t.Errorf("%d comparisons, want 1 (against the dummy hash)", compared)
			}
			if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "unknown user") || strings.Contains(logs.String(), "partial-row") {
				t.Errorf("want an unknown user in the log, not an error nor the row the store returned:\n%s", logs.String())
			}
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"nobody","password":"password123"}`), 429, "the next guess")
		})
	}
}

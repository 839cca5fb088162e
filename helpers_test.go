package jwtguard_test

// Helpers of the token-checking tests (middleware_test.go, authorize_test.go,
// claims_test.go). Every name starts with vt.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

var (
	// vtSecret is the HMAC secret of the Auth under test.
	vtSecret = []byte("verify-tests-secret-0123456789abcdef")
	// vtAttackerSecret signs tokens that must be refused.
	vtAttackerSecret = []byte("an-attackers-own-secret-0123456789ab")
	// vtNow is the injected clock's fixed time: 2027-01-15, well before the
	// 1900000000 used for "exp as a string".
	vtNow = time.Unix(1_800_000_000, 0)
)

func vtClock() time.Time { return vtNow }

// The defaults that New documents, as the tests rely on them.
const (
	vtLifetime     = 15 * time.Minute
	vtLeeway       = 10 * time.Second
	vtMaxTokenSize = 4096
)

// testKey is the HS256 key of secret.
func testKey(t testing.TB, secret []byte) jwtguard.Key {
	t.Helper()
	k, err := jwtguard.HMACKey("HS256", secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// vtAuth returns an Auth on vtSecret with the fixed clock and a discarding
// logger; opts come after those, so they can replace them.
func vtAuth(t testing.TB, opts ...jwtguard.Option) *jwtguard.Auth {
	t.Helper()
	opts = append([]jwtguard.Option{
		jwtguard.WithClock(vtClock),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	a, err := jwtguard.New(testKey(t, vtSecret), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// vtSeg is the unpadded base64url encoding of s.
func vtSeg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// vtMAC is the base64url HMAC of input.
func vtMAC(h func() hash.Hash, key []byte, input string) string {
	m := hmac.New(h, key)
	m.Write([]byte(input))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// vtCraft hand-assembles a compact JWT from raw JSON header and payload text,
// HMAC-SHA256-signed with key (the alg header says whatever header says).
func vtCraft(header, payload string, key []byte) string {
	in := vtSeg(header) + "." + vtSeg(payload)
	return in + "." + vtMAC(sha256.New, key, in)
}

const vtHS256 = `{"alg":"HS256","typ":"JWT"}`

// vtPayload returns the JSON of a valid payload (sub, iat, exp five minutes
// after vtNow) with extra merged over it; a nil value deletes a claim.
func vtPayload(extra map[string]any) string {
	p := map[string]any{
		"sub": "user-1",
		"iat": vtNow.Unix(),
		"exp": vtNow.Add(5 * time.Minute).Unix(),
	}
	for k, v := range maps.All(extra) {
		if v == nil {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// vtToken is a valid HS256 token on vtSecret with extra claims.
func vtToken(extra map[string]any) string { return vtCraft(vtHS256, vtPayload(extra), vtSecret) }

// vtProbe is the protected handler: it records that it ran and the claims it
// saw.
type vtProbe struct {
	called bool
	claims *jwtguard.Claims
	ok     bool
}

func (p *vtProbe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.called = true
	p.claims, p.ok = jwtguard.FromContext(r.Context())
	w.Write([]byte("protected content"))
}

// vtOutcome is how a request is answered.
type vtOutcome int

const (
	vtAccept vtOutcome = iota
	vtNoToken
	vtBadRequest
	vtInvalid
	vtExpired
	vtForbidden
)

// vtRefusal is the exact answer to one class of refusal.
type vtRefusal struct {
	status    int
	challenge string
	code      string
	reason    string
	message   string
	sentinel  error
}

var vtRefusals = map[vtOutcome]vtRefusal{
	vtNoToken:    {401, `Bearer realm="api"`, "unauthorized", "no_token", "authentication required", jwtguard.ErrNoToken},
	vtBadRequest: {400, `Bearer realm="api", error="invalid_request", error_description="the request is malformed"`, "invalid_request", "malformed_request", "the request is malformed", jwtguard.ErrInvalidRequest},
	vtInvalid:    {401, `Bearer realm="api", error="invalid_token", error_description="the access token is invalid"`, "invalid_token", "token_invalid", "the access token is invalid", jwtguard.ErrInvalidToken},
	vtExpired:    {401, `Bearer realm="api", error="invalid_token", error_description="the access token expired"`, "invalid_token", "token_expired", "the access token expired", jwtguard.ErrTokenExpired},
	vtForbidden:  {403, `Bearer realm="api", error="insufficient_scope", error_description="the access token does not grant access to this resource"`, "insufficient_scope", "insufficient_scope", "the access token does not grant access to this resource", jwtguard.ErrForbidden},
}

var vtSentinels = []error{
	jwtguard.ErrNoToken, jwtguard.ErrInvalidRequest, jwtguard.ErrInvalidToken,
	jwtguard.ErrTokenExpired, jwtguard.ErrForbidden, jwtguard.ErrInternal,
}

// vtLeakWords may not appear as words in a refusal body: they would mean
// parser or claim detail reached the client.
var vtLeakWords = []string{
	"signature", "signed", "segment", "segments", "base64", "json", "illegal", "character",
	"alg", "none", "hs256", "hs384", "hs512", "rs256", "kid", "crit", "jku", "x5u", "jwk",
	"exp", "nbf", "iat", "iss", "aud", "sub", "jti", "roles", "role", "scope", "audience", "issuer",
	"header", "cookie", "query", "bearer", "leeway", "claim", "claims", "number", "string",
}

// vtCheckRefused asserts that rec is exactly the answer of class want, that
// next did not run, and that no secret appears in the body.
func vtCheckRefused(t *testing.T, rec *httptest.ResponseRecorder, p *vtProbe, want vtOutcome, secrets ...string) {
	t.Helper()
	ref, ok := vtRefusals[want]
	if !ok {
		t.Fatalf("vtCheckRefused: outcome %d is not a refusal", want)
	}
	if p != nil && p.called {
		t.Errorf("next handler was called")
	}
	if rec.Code != ref.status {
		t.Errorf("status = %d, want %d", rec.Code, ref.status)
	}
	if got := rec.Header().Values("WWW-Authenticate"); len(got) != 1 || got[0] != ref.challenge {
		t.Errorf("WWW-Authenticate = %q, want exactly [%q]", got, ref.challenge)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	body := rec.Body.String()
	var got map[string]string
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("body %q is not a JSON object of strings: %v", body, err)
	}
	if want := map[string]string{"error": ref.code, "reason": ref.reason, "message": ref.message}; !maps.Equal(got, want) {
		t.Errorf("body = %v, want %v", got, want)
	}
	if strings.Contains(body, "protected content") {
		t.Errorf("body carries the protected handler's output: %q", body)
	}
	vtCheckNoLeak(t, "body", body, secrets...)
}

// vtCheckNoLeak asserts that text contains none of secrets (those of 16 bytes
// or more: shorter strings occur by chance) and none of vtLeakWords as words.
func vtCheckNoLeak(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(text, s) {
			t.Errorf("%s contains the token %.24q…", what, s)
		}
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_')
	})
	for _, w := range words {
		for _, bad := range vtLeakWords {
			if w == bad {
				t.Errorf("%s contains the word %q: %q", what, bad, text)
			}
		}
	}
}

// vtCheckSentinel asserts that err wraps want and no other refusal sentinel.
func vtCheckSentinel(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("error handler got nil error, want %v", want)
	}
	for _, s := range vtSentinels {
		if is := errors.Is(err, s); is != (s == want) {
			t.Errorf("errors.Is(%q, %v) = %v", err, s, is)
		}
	}
}

// vtRecorder is an ErrorHandler that records the error it got and delegates
// the answer to the Auth's WriteError.
type vtRecorder struct {
	auth *jwtguard.Auth
	errs []error
}

func (r *vtRecorder) handle(w http.ResponseWriter, req *http.Request, err error) {
	r.errs = append(r.errs, err)
	jwtguard.WriteError(w, req, err)
}

// vtLogged returns an option that logs at Debug level, as JSON, into buf.
func vtLogged(buf *bytes.Buffer) jwtguard.Option {
	return jwtguard.WithLogger(slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// vtGet is a GET of target with each value of authz as one Authorization
// header.
func vtGet(target string, authz ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, v := range authz {
		r.Header.Add("Authorization", v)
	}
	return r
}

// vtServe runs r through h and returns the response.
func vtServe(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// vtCheckPanics runs each case as a subtest and asserts that it panics
// with a message containing want.
func vtCheckPanics(t *testing.T, cases map[string]func(), want string) {
	t.Helper()
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, want) {
					t.Errorf("recovered %q, want a panic saying %q", msg, want)
				}
			}()
			run()
		})
	}
}

package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwks"
)

// rsaKeys are RSA keys made once for the package's tests (2048 bits each
// take a while to make).
var rsaKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// signingKey is a jwtguard key of alg: for RS256 and PS256 one of rsaKeys
// (n picks which), else a new one.
func signingKey(t testing.TB, alg string, n int) jwtguard.Key {
	t.Helper()
	var (
		k   jwtguard.Key
		err error
	)
	if strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS") {
		k, err = jwtguard.PrivateKey(alg, rsaKeys()[n])
	} else {
		k, err = jwtguard.GenerateKey(alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issuer is a jwtguard issuer (a KeySet and the Auth that signs with it)
// whose JWKS handler counts its requests and can be made to answer
// otherwise (down, slow, garbage) with serve.
type issuer struct {
	t     testing.TB
	keys  *jwtguard.KeySet
	auth  *jwtguard.Auth
	jwks  http.Handler
	serve atomic.Pointer[http.HandlerFunc] // nil: the JWKS
	hits  atomic.Int64
	url   string // set by listen, or the loopback URL of the in-memory client
}

var quiet = slog.New(slog.DiscardHandler)

// newIssuer returns an issuer whose set holds keys, the first active.
func newIssuer(t testing.TB, opts []jwtguard.Option, keys ...jwtguard.Key) *issuer {
	t.Helper()
	ks, err := jwtguard.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	// Tokens last long: the tests on synctest's clock pass hours.
	a, err := jwtguard.New(ks, append([]jwtguard.Option{jwtguard.WithLogger(quiet), jwtguard.WithTokenLifetime(30 * 24 * time.Hour)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &issuer{t: t, keys: ks, auth: a, jwks: a.JWKSHandler(), url: "http://127.0.0.1/.well-known/jwks.json"}
}

func (is *issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	is.hits.Add(1)
	if h := is.serve.Load(); h != nil {
		(*h)(w, r)
		return
	}
	is.jwks.ServeHTTP(w, r)
}

// answer makes the endpoint answer with h (nil: the JWKS again).
func (is *issuer) answer(h http.HandlerFunc) {
	if h == nil {
		is.serve.Store(nil)
		return
	}
	is.serve.Store(&h)
}

// listen serves the issuer on an httptest server on 127.0.0.1.
func (is *issuer) listen() *issuer {
	srv := httptest.NewServer(is)
	is.t.Cleanup(srv.Close)
	is.url = srv.URL + "/.well-known/jwks.json"
	return is
}

// token issues a token for a user with roles.
func (is *issuer) token(roles ...string) string {
	is.t.Helper()
	return issue(is.t, is.auth, roles...)
}

func issue(t testing.TB, a *jwtguard.Auth, roles ...string) string {
	t.Helper()
	tr, err := a.Issue(context.Background(), jwtguard.User{ID: "42", Username: "alice", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return tr.AccessToken
}

// handlerTransport answers requests with a handler, in memory: the client
// of the tests that run in a synctest bubble, where net/http's connection
// goroutines would block on the network, which the bubble's clock does
// not wait for.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// inMemory is the option that fetches from is without a network.
func (is *issuer) inMemory() jwks.Option {
	return jwks.WithHTTPClient(&http.Client{Transport: handlerTransport{is}})
}

// fetches counts a set's fetches and lets a test wait for them.
type fetches struct {
	mu   sync.Mutex
	errs []error
	ch   chan error
}

func newFetches() *fetches { return &fetches{ch: make(chan error, 1000)} }

func (f *fetches) hook() jwks.Option {
	return jwks.WithFetchHook(func(err error) {
		f.mu.Lock()
		f.errs = append(f.errs, err)
		f.mu.Unlock()
		f.ch <- err
	})
}

// next waits for the next fetch and returns its error.
func (f *fetches) next(t testing.TB) error {
	t.Helper()
	select {
	case err := <-f.ch:
		return err
	case <-time.After(time.Minute):
		t.Fatal("no fetch within a minute")
		return nil
	}
}

// newSet is jwks.New for a test, closed at its end.
func newSet(t testing.TB, url string, opts ...jwks.Option) *jwks.Set {
	t.Helper()
	s, err := jwks.New(context.Background(), url, append([]jwks.Option{jwks.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// verifier is the Auth of a resource server that verifies with src.
func verifier(t testing.TB, src jwtguard.KeySource, opts ...jwtguard.Option) *jwtguard.Auth {
	t.Helper()
	a, err := jwtguard.New(src, append([]jwtguard.Option{jwtguard.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// status is the status Verify answers a request with tok.
func status(a *jwtguard.Auth, tok string) int {
	h := a.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/api/user/profile", nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// wantStatus checks the status Verify answers tok with.
func wantStatus(t testing.TB, a *jwtguard.Auth, tok string, want int, what string) {
	t.Helper()
	if got := status(a, tok); got != want {
		_, err := a.Authenticate(bearer(tok))
		t.Errorf("%s: status %d, want %d (Authenticate: %v)", what, got, want, err)
	}
}

func bearer(tok string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}

// publicJWK is k's public JWK as a map, to be changed by a test.
func publicJWK(t testing.TB, k jwtguard.Key) map[string]any {
	t.Helper()
	b, err := k.Public().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var b64 = base64.RawURLEncoding

func b64int(i *big.Int) string { return b64.EncodeToString(i.Bytes()) }

// privateRSAJWK is the JWK of priv with its private members: all of them,
// or d alone.
func privateRSAJWK(priv *rsa.PrivateKey, kid string, all bool) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "alg": "RS256", "n": b64int(priv.N), "e": "AQAB", "d": b64int(priv.D)}
	if all {
		priv.Precompute()
		m["p"], m["q"] = b64int(priv.Primes[0]), b64int(priv.Primes[1])
		m["dp"], m["dq"], m["qi"] = b64int(priv.Precomputed.Dp), b64int(priv.Precomputed.Dq), b64int(priv.Precomputed.Qinv)
	}
	return m
}

// privateECJWK is the JWK of a new P-256 key with d.
func privateECJWK(t testing.TB, kid string) (map[string]any, *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwtguard.PrivateKey("ES256", priv)
	if err != nil {
		t.Fatal(err)
	}
	m := publicJWK(t, k)
	m["kid"] = kid
	d, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	m["d"] = b64.EncodeToString(d)
	return m, priv
}

// document is a JWKS of the JWKs.
func document(t testing.TB, jwks ...map[string]any) []byte {
	t.Helper()
	if jwks == nil {
		jwks = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": jwks})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveDoc is a handler answering doc as a JWKS.
func serveDoc(doc []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(doc)
	}
}

// logs records a logger's records.
type logs struct {
	mu   sync.Mutex
	recs []string // level, message and attributes as text
}

func (l *logs) logger() *slog.Logger { return slog.New(&logHandler{l: l}) }

func (l *logs) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.recs, "\n")
}

type logHandler struct {
	l     *logs
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.l.mu.Lock()
	h.l.recs = append(h.l.recs, b.String())
	h.l.mu.Unlock()
	return nil
}
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{h.l, append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *logHandler) WithGroup(string) slog.Handler { return h }

// isUnavailable reports whether err is the refusal of a token whose keys
// could not be had (503).
func isUnavailable(err error) bool { return errors.Is(err, jwtguard.ErrOverloaded) }

// withHeader is tok with the JOSE header header (its signature then no
// longer matches, which a token refused for its kid never gets to show).
func withHeader(tok, header string) string {
	return b64.EncodeToString([]byte(header)) + tok[strings.IndexByte(tok, '.'):]
}

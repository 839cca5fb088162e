package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard"
)

var quiet = slog.New(slog.DiscardHandler)

// issuer is the first service: a jwtguard Auth on a KeySet, which signs
// tokens and publishes its keys with JWKSHandler. down makes its JWKS
// endpoint answer 503.
type issuer struct {
	keys *jwtguard.KeySet
	auth *jwtguard.Auth
	jwks http.Handler
	down atomic.Bool
}

const (
	issuerName = "https://login.example"
	audience   = "https://api.example"
)

func newIssuer(t testing.TB, alg string, opts ...jwtguard.Option) *issuer {
	t.Helper()
	k, err := jwtguard.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := jwtguard.NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]jwtguard.Option{jwtguard.WithLogger(quiet), jwtguard.WithIssuer(issuerName), jwtguard.WithAudience(audience), jwtguard.WithTokenLifetime(24 * time.Hour)}, opts...)
	a, err := jwtguard.New(ks, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &issuer{keys: ks, auth: a, jwks: a.JWKSHandler()}
}

func (is *issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if is.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", is.jwks)
	mux.ServeHTTP(w, r)
}

func (is *issuer) token(t testing.TB, roles ...string) string {
	t.Helper()
	tr, err := is.auth.Issue(context.Background(), jwtguard.User{ID: "7", Username: "alice", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return tr.AccessToken
}

// get is the status and body of GET path on h with tok.
func get(h http.Handler, path, tok string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func wantGet(t testing.TB, h http.Handler, path, tok string, want int, what string) string {
	t.Helper()
	code, body := get(h, path, tok)
	if code != want {
		t.Errorf("%s: GET %s: %d %s, want %d", what, path, code, body, want)
	}
	return body
}

// TestResourceServer: the resource server, which has no secret, verifies
// the issuer's tokens through its JWKS served over a loopback server:
// claims, roles, issuer and audience.
func TestResourceServer(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			is := newIssuer(t, alg)
			srv := httptest.NewServer(is)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h, keys, err := newServer(ctx, config{jwksURL: srv.URL + "/.well-known/jwks.json", issuer: issuerName, audience: audience}, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer keys.Close()

			wantGet(t, h, "/healthz", "", http.StatusOK, "health")
			wantGet(t, h, "/readyz", "", http.StatusOK, "ready")
			wantGet(t, h, "/api/user/profile", "", http.StatusUnauthorized, "no token")
			userTok, adminTok := is.token(t, "user"), is.token(t, "admin")
			var u user
			if err := json.Unmarshal([]byte(wantGet(t, h, "/api/user/profile", userTok, http.StatusOK, "a user")), &u); err != nil {
				t.Fatal(err)
			}
			if u.Subject != "7" || u.Username != "alice" || len(u.Roles) != 1 || u.Roles[0] != "user" || u.Issuer != issuerName || len(u.Audience) != 1 || u.Audience[0] != audience {
				t.Errorf("profile %+v", u)
			}
			wantGet(t, h, "/api/admin-data", userTok, http.StatusForbidden, "a user on the admin route")
			if body := wantGet(t, h, "/api/admin-data", adminTok, http.StatusOK, "an admin"); !strings.Contains(body, "Admin-only route") {
				t.Errorf("admin data: %s", body)
			}

			other := newIssuer(t, alg) // another issuer's keys: unknown here
			wantGet(t, h, "/api/user/profile", other.token(t, "admin"), http.StatusUnauthorized, "another issuer's token")
			for _, opt := range []jwtguard.Option{jwtguard.WithIssuer("https://evil.example"), jwtguard.WithAudience("https://billing.example")} {
				wrong, err := jwtguard.New(is.keys, jwtguard.WithLogger(quiet), jwtguard.WithIssuer(issuerName), jwtguard.WithAudience(audience), opt)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := wrong.Issue(context.Background(), jwtguard.User{ID: "7", Roles: []string{"admin"}})
				if err != nil {
					t.Fatal(err)
				}
				wantGet(t, h, "/api/admin-data", tr.AccessToken, http.StatusUnauthorized, "a token of the issuer's key with another iss or aud")
			}
		})
	}
}

// inMemory is a client that fetches from h without a network, for the
// tests on synctest's clock.
func inMemory(h http.Handler) *http.Client {
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRotation: the issuer rotates its key as jwtguard.KeySet documents
// (add the next key, wait the JWKS's max-age, activate it, remove the old
// one once its tokens have expired), and the resource server follows
// without refusing a good token: the new key's tokens verify as soon as
// it signs, the old key's until it is removed and the JWKS refreshed.
func TestRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, "ES256")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h, keys, err := newServer(ctx, config{jwksURL: "http://127.0.0.1/.well-known/jwks.json", issuer: issuerName, audience: audience, client: inMemory(is)}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		defer keys.Close()
		old, _ := is.keys.Active()
		oldTok := is.token(t, "admin")
		wantGet(t, h, "/api/admin-data", oldTok, http.StatusOK, "the old key's token")

		next, err := jwtguard.GenerateKey("ES256")
		if err != nil {
			t.Fatal(err)
		}
		if err := is.keys.Add(next); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5*time.Minute + time.Second) // the JWKS's max-age
		synctest.Wait()
		if err := is.keys.Activate(next.ID()); err != nil {
			t.Fatal(err)
		}
		newTok := is.token(t, "admin")
		wantGet(t, h, "/api/admin-data", newTok, http.StatusOK, "the new key's token, as soon as it signs")
		wantGet(t, h, "/api/admin-data", oldTok, http.StatusOK, "the old key's token, still published")

		if err := is.keys.Remove(old.ID()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		wantGet(t, h, "/api/admin-data", oldTok, http.StatusUnauthorized, "the removed key's token")
		wantGet(t, h, "/api/admin-data", newTok, http.StatusOK, "the new key's token")
		if ks := keys.Keys(); len(ks) != 1 || ks[0].ID() != next.ID() {
			t.Errorf("the resource server's keys: %v, want the new key alone", ks)
		}
	})
}

// TestIssuerDownAtStart: the resource server starts before its issuer is
// up; tokens are answered 503 and /readyz 503 until the JWKS is fetched,
// which the server retries on its own.
func TestIssuerDownAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newIssuer(t, "ES256")
		is.down.Store(true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h, keys, err := newServer(ctx, config{jwksURL: "http://127.0.0.1/.well-known/jwks.json", issuer: issuerName, audience: audience, client: inMemory(is)}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		defer keys.Close()
		tok := is.token(t, "user")
		wantGet(t, h, "/readyz", "", http.StatusServiceUnavailable, "ready before the JWKS")
		wantGet(t, h, "/api/user/profile", tok, http.StatusServiceUnavailable, "a token before the JWKS")
		wantGet(t, h, "/healthz", "", http.StatusOK, "health before the JWKS")

		time.Sleep(10 * time.Second)
		is.down.Store(false)
		time.Sleep(10 * time.Second) // retries after 1, 2, 4, 8 … seconds
		synctest.Wait()
		wantGet(t, h, "/readyz", "", http.StatusOK, "ready once the issuer is up")
		wantGet(t, h, "/api/user/profile", tok, http.StatusOK, "the token once the issuer is up")
	})
}

// TestConfig: the JWKS URL comes from -jwks-url, else JWKS_URL, and is
// required; JWT_ISSUER and JWT_AUDIENCE are read; a URL jwks refuses
// stops the server with an error naming the setting.
func TestConfig(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	cfg, err := parseConfig(nil, env(map[string]string{"JWKS_URL": "https://login.example/jwks", "JWT_ISSUER": "iss", "JWT_AUDIENCE": "aud"}), io.Discard)
	if err != nil || cfg.jwksURL != "https://login.example/jwks" || cfg.issuer != "iss" || cfg.audience != "aud" || cfg.addr != "127.0.0.1:8082" {
		t.Errorf("from the environment: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"-jwks-url", "https://other.example/jwks", "-addr", ":9"}, env(map[string]string{"JWKS_URL": "https://login.example/jwks"}), io.Discard)
	if err != nil || cfg.jwksURL != "https://other.example/jwks" || cfg.addr != ":9" {
		t.Errorf("the flag over the variable: %+v, %v", cfg, err)
	}
	if _, err := parseConfig(nil, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "JWKS_URL") {
		t.Errorf("no URL: %v", err)
	}
	if _, err := parseConfig([]string{"extra"}, env(map[string]string{"JWKS_URL": "https://login.example/jwks"}), io.Discard); err == nil {
		t.Error("an extra argument is accepted")
	}
	_, _, err = newServer(context.Background(), config{jwksURL: "http://login.example/jwks"}, quiet)
	if err == nil || !strings.Contains(err.Error(), "JWKS_URL") || !strings.Contains(err.Error(), "not https") {
		t.Errorf("a plain http URL: %v", err)
	}
}

// TestWarnings: a server without JWT_ISSUER or JWT_AUDIENCE says at start
// that it does not check them.
func TestWarnings(t *testing.T) {
	is := newIssuer(t, "ES256")
	srv := httptest.NewServer(is)
	defer srv.Close()
	var b strings.Builder
	logger := slog.New(slog.NewTextHandler(&b, nil))
	_, keys, err := newServer(context.Background(), config{jwksURL: srv.URL + "/.well-known/jwks.json"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	keys.Close()
	for _, want := range []string{"JWT_ISSUER is not set", "JWT_AUDIENCE is not set"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, b.String())
		}
	}
}

// TestServe: the server answers over the network and stops when its
// context ends.
func TestServe(t *testing.T) {
	is := newIssuer(t, "ES256")
	srv := httptest.NewServer(is)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	h, keys, err := newServer(ctx, config{jwksURL: srv.URL + "/.well-known/jwks.json", issuer: issuerName, audience: audience}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h) }()
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/api/user/profile", nil)
	req.Header.Set("Authorization", "Bearer "+is.token(t, "user"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/user/profile over the network: %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

package jwtguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// countingSource counts the keys asked of a KeySource.
type countingSource struct {
	src   jwtguard.KeySource
	calls atomic.Int64
}

func (c *countingSource) VerificationKey(ctx context.Context, kid, alg string) (jwtguard.Key, error) {
	c.calls.Add(1)
	return c.src.VerificationKey(ctx, kid, alg)
}

// isMinter is an Auth that mints the tokens of a foreign issuer.
func isMinter(t *testing.T, key jwtguard.Key, iss, aud string, claims map[string]any) *jwtguard.Auth {
	t.Helper()
	opts := []jwtguard.Option{jwtguard.WithIssuer(iss), jwtguard.WithClock(vtClock), jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithClaims(func(context.Context, jwtguard.User) (map[string]any, error) { return claims, nil })}
	if aud != "" {
		opts = append(opts, jwtguard.WithAudience(aud))
	}
	a, err := jwtguard.New(key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSeveralIssuers: one Auth trusts its own tokens, Keycloak's (roles in
// realm_access.roles, aud "account") and Cognito's (no aud, client_id,
// roles in cognito:groups), each with its own keys; the token's iss picks
// the issuer before any key is tried, an iss that is no issuer's is
// refused without asking any key source, and a token is never checked
// with another issuer's keys or rules.
func TestSeveralIssuers(t *testing.T) {
	const (
		own      = "https://login.example.com"
		keycloak = "https://keycloak.example.com/realms/acme"
		cognito  = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
	)
	kcKey, cgKey := kyKey(t, "ES256"), kyKey(t, "RS256")
	kcSet, _ := jwtguard.NewKeySet(kcKey.Public())
	cgSet, _ := jwtguard.NewKeySet(cgKey.Public())
	kcSource, cgSource := &countingSource{src: kcSet}, &countingSource{src: cgSet}
	ownKey := kyKey(t, "EdDSA")
	ownSource := &countingSource{src: ownKey}
	a, err := jwtguard.New(ownSource,
		jwtguard.WithIssuer(own), jwtguard.WithClock(vtClock), jwtguard.WithLogger(slog.New(slog.DiscardHandler)),
		jwtguard.WithIssuers(
			jwtguard.Issuer{Issuer: keycloak, Keys: kcSource, Audience: "account", RolesClaim: []string{"realm_access", "roles"}},
			jwtguard.Issuer{Issuer: cognito, Keys: cgSource, ClientID: "app-client-1", RolesClaim: []string{"cognito:groups"}},
		))
	if err != nil {
		t.Fatal(err)
	}
	ownTok := kyIssue(t, isMinter(t, ownKey, own, "", nil))
	kcTok := kyIssue(t, isMinter(t, kcKey, keycloak, "account", map[string]any{"realm_access": map[string]any{"roles": []string{"admin", "offline_access"}}}))
	cgTok := kyIssue(t, isMinter(t, cgKey, cognito, "", map[string]any{"client_id": "app-client-1", "cognito:groups": []string{"admin"}}))
	for _, tc := range []struct {
		name, tok, iss string
		roles          []string
	}{
		{"own", ownTok, own, []string{"admin"}},
		{"Keycloak", kcTok, keycloak, []string{"admin", "offline_access"}},
		{"Cognito", cgTok, cognito, []string{"admin"}},
	} {
		c, err := kyAuthenticate(a, tc.tok)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.Issuer != tc.iss || !slices.Equal(c.Roles, tc.roles) {
			t.Errorf("%s: issuer %q roles %q", tc.name, c.Issuer, c.Roles)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tc.tok)
		rec := vtServe(a.Verify(a.Authorize("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))), r)
		if rec.Code != 200 {
			t.Errorf("%s: Authorize(admin) = %d", tc.name, rec.Code)
		}
	}
	refused := map[string]string{
		// Keycloak's iss, signed with Cognito's key (and its kid).
		"Keycloak iss, Cognito's key": kyIssue(t, isMinter(t, cgKey, keycloak, "account", nil)),
		// Keycloak's key under our own iss.
		"own iss, Keycloak's key":         kyIssue(t, isMinter(t, kcKey, own, "", nil)),
		"Keycloak, wrong audience":        kyIssue(t, isMinter(t, kcKey, keycloak, "other", nil)),
		"Keycloak, no audience":           kyIssue(t, isMinter(t, kcKey, keycloak, "", nil)),
		"Cognito, other client":           kyIssue(t, isMinter(t, cgKey, cognito, "", map[string]any{"client_id": "app-client-2"})),
		"Cognito, no client_id":           kyIssue(t, isMinter(t, cgKey, cognito, "", nil)),
		"Cognito, client_id not a string": kyIssue(t, isMinter(t, cgKey, cognito, "", map[string]any{"client_id": 1})),
		"Cognito, with an aud":            kyIssue(t, isMinter(t, cgKey, cognito, "app-client-1", map[string]any{"client_id": "app-client-1"})),
		// Keycloak's roles layout does not apply to Cognito's tokens.
		"Cognito, roles as Keycloak's": kyIssue(t, isMinter(t, cgKey, cognito, "", map[string]any{"client_id": "app-client-1", "realm_access": []string{"x"}, "cognito:groups": 7})),
	}
	for name, tok := range refused {
		if _, err := kyAuthenticate(a, tok); !errors.Is(err, jwtguard.ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An iss that is no issuer's: refused before any key source is asked.
	before := kcSource.calls.Load() + cgSource.calls.Load() + ownSource.calls.Load()
	stranger := kyIssue(t, isMinter(t, kyKey(t, "ES256"), "https://evil.example", "", nil))
	_, err = kyAuthenticate(a, stranger)
	if !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Errorf("a stranger's iss: %v", err)
	}
	if after := kcSource.calls.Load() + cgSource.calls.Load() + ownSource.calls.Load(); after != before {
		t.Errorf("a stranger's token asked the key sources %d times", after-before)
	}
	if got := a.Stats().Refusals["wrong_issuer"]; got == 0 {
		t.Errorf("the stranger's refusal is not counted as an issuer refusal: %v", a.Stats().Refusals)
	}
	// A token without iss goes to the Auth's own keys and rules, which
	// require iss.
	noIss := kyIssue(t, isMinter(t, ownKey, "", "", nil))
	if _, err := kyAuthenticate(a, noIss); !errors.Is(err, jwtguard.ErrInvalidToken) {
		t.Errorf("no iss: %v", err)
	}
}

// TestWithIssuersRefusesBadConfiguration: an issuer without iss or keys,
// two with one iss, the Auth's own iss, or an empty roles path.
func TestWithIssuersRefusesBadConfiguration(t *testing.T) {
	keys := kyKey(t, "ES256").Public()
	for name, is := range map[string][]jwtguard.Issuer{
		"no iss":          {{Keys: keys}},
		"no keys":         {{Issuer: "https://a"}},
		"zero Key":        {{Issuer: "https://a", Keys: jwtguard.Key{}}},
		"twice":           {{Issuer: "https://a", Keys: keys}, {Issuer: "https://a", Keys: keys}},
		"own iss":         {{Issuer: "https://own", Keys: keys}},
		"empty roles":     {{Issuer: "https://a", Keys: keys, RolesClaim: []string{}}},
		"empty role name": {{Issuer: "https://a", Keys: keys, RolesClaim: []string{"realm_access", ""}}},
	} {
		if _, err := jwtguard.New(kyKey(t, "EdDSA"), jwtguard.WithIssuer("https://own"), jwtguard.WithIssuers(is...)); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestForeignTokensAndSessions: with a session store, a token of another
// issuer (Keycloak's, with its own sid) is verified without asking the
// store, which knows none of its sessions, and cannot end this service's
// sessions: the logout handlers refuse it, and the local user whose ID is
// its sub stays signed in.
func TestForeignTokensAndSessions(t *testing.T) {
	const partner = "https://partner.example.com"
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pKey, err := jwtguard.PrivateKey("ES384", ecKey)
	if err != nil {
		t.Fatal(err)
	}
	sessions := jwtguard.NewMemorySessionStore()
	hash, err := jwtguard.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	users, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "alice", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	a, err := jwtguard.New(kyKey(t, "EdDSA"), jwtguard.WithIssuer("https://own.example.com"), jwtguard.WithSessions(sessions),
		jwtguard.WithLogger(slog.New(slog.DiscardHandler)), jwtguard.WithIssuers(jwtguard.Issuer{Issuer: partner, Keys: pKey.Public()}))
	if err != nil {
		t.Fatal(err)
	}
	login := httptest.NewRequest("POST", "/login", strings.NewReader(`{"username":"alice","password":"correct horse battery"}`))
	login.Header.Set("Content-Type", "application/json")
	rec := vtServe(a.LoginHandler(users), login)
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var local jwtguard.TokenResponse
	json.Unmarshal(rec.Body.Bytes(), &local)
	// Its sub is the local user's ID, and it has a sid of the partner's,
	// as Keycloak's tokens have.
	exp := fmt.Sprint(time.Now().Add(time.Minute).Unix())
	in := vtSeg(`{"alg":"ES384","kid":"`+pKey.ID()+`"}`) + "." + vtSeg(`{"iss":"`+partner+`","sub":"1","sid":"kc-session-1","exp":`+exp+`}`)
	sum := sha512.Sum384([]byte(in))
	r, sgn, err := ecdsa.Sign(rand.Reader, ecKey, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	foreign := in + "." + base64.RawURLEncoding.EncodeToString(append(r.FillBytes(make([]byte, 48)), sgn.FillBytes(make([]byte, 48))...))
	if _, err := kyAuthenticate(a, foreign); err != nil {
		t.Errorf("a partner token with a sid of its own: %v", err)
	}
	for name, h := range map[string]http.Handler{"LogoutHandler": a.LogoutHandler(), "LogoutEverywhereHandler": a.LogoutEverywhereHandler()} {
		r := httptest.NewRequest("POST", "/logout", nil)
		r.Header.Set("Authorization", "Bearer "+foreign)
		if rec := vtServe(h, r); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s with a partner token: %d %s", name, rec.Code, rec.Body)
		}
	}
	if _, err := kyAuthenticate(a, local.AccessToken); err != nil {
		t.Errorf("the local user after the partner's logouts: %v", err)
	}
}

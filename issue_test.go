package jwtguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// TestWithClaims: the hook's claims go into issued tokens, from Issue and
// from LoginHandler; the names Verify decides on are refused, except id
// and role mirroring the user's own ID and first role.
func TestWithClaims(t *testing.T) {
	alice := jwtguard.User{ID: "u-7", Username: "alice", Roles: []string{"editor", "user"}}
	issue := func(t *testing.T, claims map[string]any, opts ...jwtguard.Option) (map[string]any, error) {
		t.Helper()
		opts = append(opts, jwtguard.WithClaims(func(ctx context.Context, u jwtguard.User) (map[string]any, error) {
			if u.ID != alice.ID {
				t.Errorf("hook got user %q", u.ID)
			}
			return claims, nil
		}))
		tr, err := vtAuth(t, opts...).Issue(context.Background(), alice)
		if err != nil {
			return nil, err
		}
		var got map[string]any
		if err := json.Unmarshal(vtDecodePayload(t, tr.AccessToken), &got); err != nil {
			t.Fatal(err)
		}
		return got, nil
	}
	t.Run("added", func(t *testing.T) {
		got, err := issue(t, map[string]any{"tenant": "acme", "plan": map[string]any{"seats": 3}})
		if err != nil {
			t.Fatal(err)
		}
		if got["tenant"] != "acme" || got["plan"].(map[string]any)["seats"] != 3.0 || got["sub"] != "u-7" || got["username"] != "alice" {
			t.Errorf("payload %v", got)
		}
	})
	t.Run("tutorial mirror of a numeric id", func(t *testing.T) {
		numeric := jwtguard.User{ID: "7", Roles: []string{"user"}}
		a := vtAuth(t, jwtguard.WithClaims(func(context.Context, jwtguard.User) (map[string]any, error) {
			return map[string]any{"id": 7}, nil
		}))
		tr, err := a.Issue(context.Background(), numeric)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.Unmarshal(vtDecodePayload(t, tr.AccessToken), &got)
		if got["id"] != 7.0 {
			t.Errorf("payload %v", got)
		}
		if _, err := a.Issue(context.Background(), jwtguard.User{ID: "8"}); !errors.Is(err, jwtguard.ErrInternal) {
			t.Errorf("id 7 for user 8: %v, want ErrInternal", err)
		}
	})
	t.Run("tutorial mirror of id and first role", func(t *testing.T) {
		got, err := issue(t, map[string]any{"id": alice.ID, "role": alice.Roles[0]})
		if err != nil {
			t.Fatal(err)
		}
		if got["id"] != "u-7" || got["role"] != "editor" {
			t.Errorf("payload %v", got)
		}
	})
	for _, tc := range []struct {
		name   string
		claims map[string]any
		opts   []jwtguard.Option
	}{
		{"sub", map[string]any{"sub": "root"}, nil},
		{"exp", map[string]any{"exp": 9999999999}, nil},
		{"iss", map[string]any{"iss": "https://evil"}, nil},
		{"aud", map[string]any{"aud": "other"}, nil},
		{"nbf", map[string]any{"nbf": 0}, nil},
		{"iat", map[string]any{"iat": 0}, nil},
		{"jti", map[string]any{"jti": "x"}, nil},
		{"username", map[string]any{"username": "admin"}, nil},
		{"roles", map[string]any{"roles": []string{"admin"}}, nil},
		{"scope", map[string]any{"scope": "admin"}, nil},
		{"sid", map[string]any{"sid": "s"}, nil},
		{"cnf", map[string]any{"cnf": map[string]any{}}, nil},
		{"id of another user", map[string]any{"id": "u-1"}, nil},
		{"id as another number", map[string]any{"id": 7}, nil},
		{"id as a float", map[string]any{"id": 7.0}, nil},
		{"role not the first", map[string]any{"role": "user"}, nil},
		{"role admin", map[string]any{"role": "admin"}, nil},
		{"roles claim path", map[string]any{"realm_access": map[string]any{"roles": []string{"admin"}}}, []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "roles")}},
		{"value JSON cannot encode", map[string]any{"f": func() {}}, nil},
		{"EXP", map[string]any{"EXP": 253402300799}, nil},
		{"Sub", map[string]any{"Sub": "admin"}, nil},
		{"Roles", map[string]any{"Roles": []string{"admin"}}, nil},
		{"long s in scope", map[string]any{"\u017fcope": "admin:all"}, nil},
		{"long s in iss", map[string]any{"i\u017fs": "https://evil"}, nil},
		{"ID", map[string]any{"ID": "u-7"}, nil},
		{"Role mirroring", map[string]any{"Role": "editor"}, nil},
		{"roles claim path in another case", map[string]any{"Realm_access": map[string]any{"roles": []string{"admin"}}}, []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "roles")}},
		{"two names equal under folding", map[string]any{"tenant": "a", "TENANT": "b"}, nil},
	} {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			if got, err := issue(t, tc.claims, tc.opts...); !errors.Is(err, jwtguard.ErrInternal) {
				t.Errorf("Issue = %v, %v; want ErrInternal", got, err)
			}
		})
	}
	t.Run("hook error", func(t *testing.T) {
		a := vtAuth(t, jwtguard.WithClaims(func(context.Context, jwtguard.User) (map[string]any, error) {
			return nil, errors.New("tenant lookup failed")
		}))
		if _, err := a.Issue(context.Background(), alice); !errors.Is(err, jwtguard.ErrInternal) || !strings.Contains(err.Error(), "tenant lookup failed") {
			t.Errorf("Issue: %v; want ErrInternal wrapping the hook's error", err)
		}
	})
	t.Run("through login", func(t *testing.T) {
		a := ltAuth(t, jwtguard.WithClaims(func(ctx context.Context, u jwtguard.User) (map[string]any, error) {
			return map[string]any{"tenant": "acme", "id": u.ID}, nil
		}))
		rec := ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`)
		if rec.Code != http.StatusOK {
			t.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		var tr jwtguard.TokenResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
			t.Fatal(err)
		}
		if got := ltPayload(t, tr.AccessToken); got["tenant"] != "acme" || got["id"] != "u-alice" {
			t.Errorf("payload %v", got)
		}
		c, err := a.Authenticate(vtGet("/r", "Bearer "+tr.AccessToken))
		var extra struct {
			Tenant string `json:"tenant"`
		}
		if err != nil || c.Subject != "u-alice" || c.Decode(&extra) != nil || extra.Tenant != "acme" {
			t.Errorf("Authenticate: %+v, %v; tenant %q", c, err, extra.Tenant)
		}
	})
}

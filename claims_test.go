package jwtguard_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// vtRoles is a check that the claims hold exactly roles, in order.
func vtRoles(roles ...string) func(t *testing.T, c *jwtguard.Claims) {
	return func(t *testing.T, c *jwtguard.Claims) {
		t.Helper()
		if !slices.Equal(c.Roles, roles) {
			t.Errorf("Roles = %q, want %q", c.Roles, roles)
		}
	}
}

// TestClaimsRoles reads roles from each supported layout through Verify.
func TestClaimsRoles(t *testing.T) {
	keycloak := []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "roles")}
	namespaced := []jwtguard.Option{jwtguard.WithRolesClaim("https://example.com/roles")}
	bearer := func(extra map[string]any) *http.Request { return vtGet("/r", "Bearer "+vtToken(extra)) }
	raw := func(payload string) *http.Request { return vtGet("/r", "Bearer "+vtCraft(vtHS256, payload, vtSecret)) }

	cases := []vtVerifyCase{
		{name: "roles array", req: bearer(map[string]any{"roles": []string{"user", "admin"}}), want: vtAccept, check: vtRoles("user", "admin")},
		{name: "no roles", req: bearer(nil), want: vtAccept, check: vtRoles()},
		{name: "role string", req: bearer(map[string]any{"role": "admin"}), want: vtAccept, check: vtRoles("admin")},
		{name: "roles and role together", req: bearer(map[string]any{"roles": []string{"user"}, "role": "admin"}), want: vtAccept, check: vtRoles("user", "admin")},
		{name: "role repeated in roles is not doubled", req: bearer(map[string]any{"roles": []string{"admin"}, "role": "admin"}), want: vtAccept, check: vtRoles("admin")},
		{name: "tutorial token {id: 7, username, role}", req: raw(`{"id":7,"username":"root","role":"admin","iat":1800000000,"exp":1800000300}`), want: vtAccept, check: func(t *testing.T, c *jwtguard.Claims) {
			if c.Subject != "7" || c.Username != "root" || !slices.Equal(c.Roles, []string{"admin"}) {
				t.Errorf("claims = %+v, want subject 7, username root, roles [admin]", c)
			}
		}},
		{name: "string id", req: raw(`{"id":"u-7","exp":1800000300}`), want: vtAccept, check: func(t *testing.T, c *jwtguard.Claims) {
			if c.Subject != "u-7" {
				t.Errorf("Subject = %q, want u-7", c.Subject)
			}
		}},
		{name: "sub wins over id", req: raw(`{"sub":"s-1","id":7,"exp":1800000300}`), want: vtAccept, check: func(t *testing.T, c *jwtguard.Claims) {
			if c.Subject != "s-1" {
				t.Errorf("Subject = %q, want s-1", c.Subject)
			}
		}},
		{name: "roles as string is refused", req: bearer(map[string]any{"roles": "admin"}), want: vtInvalid, log: `claim "roles": not a JSON array`},
		{name: "roles of numbers is refused", req: bearer(map[string]any{"roles": []int{1}}), want: vtInvalid, log: `claim "roles": array element is not a string`},
		{name: "roles as object is refused", req: bearer(map[string]any{"roles": map[string]bool{"admin": true}}), want: vtInvalid, log: `claim "roles": not a JSON array`},
		{name: "role as array is refused", req: bearer(map[string]any{"role": []string{"admin"}}), want: vtInvalid, log: `claim "role": not a JSON string`},
		{name: "role as boolean is refused", req: bearer(map[string]any{"role": true}), want: vtInvalid, log: `claim "role": not a JSON string`},
		{name: "scope as array is refused", req: bearer(map[string]any{"scope": []string{"read"}}), want: vtInvalid, log: `claim "scope": not a JSON string`},

		{name: "keycloak/realm_access.roles", opts: keycloak, req: bearer(map[string]any{"realm_access": map[string]any{"roles": []string{"admin", "offline_access"}}}), want: vtAccept, check: vtRoles("admin", "offline_access")},
		{name: "keycloak/single string", opts: keycloak, req: bearer(map[string]any{"realm_access": map[string]any{"roles": "admin"}}), want: vtAccept, check: vtRoles("admin")},
		{name: "keycloak/top-level roles are not read", opts: keycloak, req: bearer(map[string]any{"roles": []string{"admin"}, "role": "admin"}), want: vtAccept, check: vtRoles()},
		{name: "keycloak/missing", opts: keycloak, req: bearer(map[string]any{"realm_access": map[string]any{}}), want: vtAccept, check: vtRoles()},
		{name: "keycloak/key case matters", opts: keycloak, req: bearer(map[string]any{"Realm_Access": map[string]any{"roles": []string{"admin"}}}), want: vtAccept, check: vtRoles()},
		{name: "keycloak/realm_access not an object", opts: keycloak, req: bearer(map[string]any{"realm_access": "admin"}), want: vtInvalid, log: "roles claim"},
		{name: "keycloak/roles of wrong type", opts: keycloak, req: bearer(map[string]any{"realm_access": map[string]any{"roles": 1}}), want: vtInvalid, log: "roles claim"},
		{name: "keycloak/roles array of objects", opts: keycloak, req: bearer(map[string]any{"realm_access": map[string]any{"roles": []any{map[string]any{}}}}), want: vtInvalid, log: "roles claim"},
		{name: "namespaced/array", opts: namespaced, req: bearer(map[string]any{"https://example.com/roles": []string{"admin"}}), want: vtAccept, check: vtRoles("admin")},
		{name: "namespaced/dots are not a path", opts: namespaced, req: bearer(map[string]any{"https://example": map[string]any{"com/roles": []string{"admin"}}}), want: vtAccept, check: vtRoles()},
		{name: "namespaced/wrong type", opts: namespaced, req: bearer(map[string]any{"https://example.com/roles": false}), want: vtInvalid, log: "roles claim"},
	}
	vtRunVerifyCases(t, cases, false)
}

// TestClaimsRolesPathIsStrict: the roles path is read with the strict
// decoder, so a name of the path that appears twice, which encoding/json
// would settle by taking the last, makes the token invalid.
func TestClaimsRolesPathIsStrict(t *testing.T) {
	keycloak := []jwtguard.Option{jwtguard.WithRolesClaim("realm_access", "roles")}
	namespaced := []jwtguard.Option{jwtguard.WithRolesClaim("https://example.com/roles")}
	raw := func(claims string) *http.Request {
		return vtGet("/r", "Bearer "+vtCraft(vtHS256, `{"sub":"user-1","exp":1800000300,`+claims+`}`, vtSecret))
	}
	cases := []vtVerifyCase{
		{name: "outer name twice", opts: keycloak, req: raw(`"realm_access":{"roles":["user"]},"realm_access":{"roles":["admin"]}`), want: vtInvalid, log: `roles claim: member "realm_access" appears twice`},
		{name: "inner name twice", opts: keycloak, req: raw(`"realm_access":{"roles":["user"],"roles":["admin"]}`), want: vtInvalid, log: `roles claim: member "roles" appears twice`},
		{name: "outer name twice, once escaped", opts: keycloak, req: raw(`"realm_access":{"roles":["user"]},"realm\u005faccess":{"roles":["admin"]}`), want: vtInvalid, log: "appears twice"},
		{name: "single name twice", opts: namespaced, req: raw(`"https://example.com/roles":["user"],"https://example.com/roles":"admin"`), want: vtInvalid, log: "appears twice"},
		{name: "escaped name is the name", opts: keycloak, req: raw(`"realm\u005faccess":{"r\u006fles":["admin"]}`), want: vtAccept, check: vtRoles("admin")},
		{name: "case variant is another name", opts: keycloak, req: raw(`"realm_access":{"roles":["user"]},"REALM_ACCESS":{"roles":["admin"]}`), want: vtAccept, check: vtRoles("user")},
		{name: "null on the path", opts: keycloak, req: raw(`"realm_access":null`), want: vtAccept, check: vtRoles()},
		{name: "null roles", opts: keycloak, req: raw(`"realm_access":{"roles":null}`), want: vtAccept, check: vtRoles()},
		{name: "null element", opts: keycloak, req: raw(`"realm_access":{"roles":["admin",null]}`), want: vtInvalid, log: "array element is not a string"},
		{name: "escaped role", opts: keycloak, req: raw(`"realm_access":{"roles":"\u0061dmin"}`), want: vtAccept, check: vtRoles("admin")},
	}
	vtRunVerifyCases(t, cases, false)
}

// TestClaimsDecode reads claims that Claims has no field for.
func TestClaimsDecode(t *testing.T) {
	tok := vtToken(map[string]any{"tenant_id": "t-9", "plan": map[string]any{"tier": "gold", "seats": 5}})
	p := &vtProbe{}
	if rec := vtServe(vtAuth(t).Verify(p), vtGet("/r", "Bearer "+tok)); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var extra struct {
		TenantID string `json:"tenant_id"`
		Plan     struct {
			Tier  string `json:"tier"`
			Seats int    `json:"seats"`
		} `json:"plan"`
		Sub string `json:"sub"`
	}
	if err := p.claims.Decode(&extra); err != nil {
		t.Fatal(err)
	}
	if extra.TenantID != "t-9" || extra.Plan.Tier != "gold" || extra.Plan.Seats != 5 || extra.Sub != "user-1" {
		t.Errorf("Decode = %+v", extra)
	}
	var wrong struct {
		TenantID int `json:"tenant_id"`
	}
	if err := p.claims.Decode(&wrong); err == nil {
		t.Error("Decode into a mistyped field succeeded")
	}

	// Hand-built claims have no payload: an error, and v as it was.
	extra.TenantID = "unchanged"
	err := (&jwtguard.Claims{Subject: "1"}).Decode(&extra)
	if err == nil || !strings.Contains(err.Error(), "claims built by hand have no token payload") || extra.TenantID != "unchanged" {
		t.Errorf("Decode on hand-built claims = %v, %q; want an error and v untouched", err, extra.TenantID)
	}
}

// TestClaimsDecodeIsStrict: Decode gives v what every JSON parser reads in
// the payload. Repeated names and case variants, which encoding/json
// settles by taking the last or by ignoring case, are refused.
func TestClaimsDecodeIsStrict(t *testing.T) {
	type tenant struct {
		TenantID string `json:"tenant_id"`
		Plan     struct {
			Tier string `json:"tier"`
		} `json:"plan"`
	}
	for _, tc := range []struct {
		name   string
		claims string
		err    string // "" when accepted
		want   tenant
	}{
		{"exact", `"tenant_id":"t-1","plan":{"tier":"gold"}`, "", tenant{TenantID: "t-1", Plan: struct {
			Tier string `json:"tier"`
		}{"gold"}}},
		{"escaped name is the name", `"tenant\u005fid":"t-1"`, "", tenant{TenantID: "t-1"}},
		{"repeated member", `"tenant_id":"t-1","tenant_id":"t-2"`, `"tenant_id" appears twice`, tenant{}},
		{"repeated member, once escaped", `"tenant_id":"t-1","tenant\u005fid":"t-2"`, "appears twice", tenant{}},
		{"repeated nested member", `"plan":{"tier":"free","tier":"gold"}`, `"tier" appears twice`, tenant{}},
		{"repeated member deep in an unknown claim", `"x":[{"y":1,"y":2}]`, `"y" appears twice`, tenant{}},
		{"case variants of an unknown claim", `"extra":1,"EXTRA":2`, "differ only in letter case", tenant{}},
		{"case variant beside the exact name", `"tenant_id":"t-1","TENANT_ID":"t-2"`, "differ only in letter case", tenant{}},
		{"case variant alone", `"TENANT_ID":"t-2"`, `matches field "tenant_id" only in another letter case`, tenant{}},
		{"nested case variant alone", `"plan":{"Tier":"gold"}`, `matches field "tier"`, tenant{}},
		{"Kelvin sign is a case variant of k", `"k":1,"\u212a":2`, "differ only in letter case", tenant{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &vtProbe{}
			tok := vtCraft(vtHS256, `{"sub":"user-1","exp":1800000300,`+tc.claims+`}`, vtSecret)
			if rec := vtServe(vtAuth(t).Verify(p), vtGet("/r", "Bearer "+tok)); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			var got tenant
			err := p.claims.Decode(&got)
			if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || got != tenant{}) {
				t.Errorf("Decode = %+v, %v; want %+v, error about %q", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestClaimsDecodeFollowsInterfaces: encoding/json decodes into the
// struct behind a non-nil pointer held in an interface field, matching
// names by case there; Decode matches them exactly.
func TestClaimsDecodeFollowsInterfaces(t *testing.T) {
	type tenant struct {
		TenantID string `json:"tenant_id"`
	}
	for _, tc := range []struct {
		name, claims, err, want string
	}{
		{"exact name", `"ext":{"tenant_id":"t-1"}`, "", "t-1"},
		{"case variant", `"ext":{"TENANT_ID":"evil"}`, `matches field "tenant_id" only in another letter case`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &vtProbe{}
			tok := vtCraft(vtHS256, `{"sub":"user-1","exp":1800000300,`+tc.claims+`}`, vtSecret)
			if rec := vtServe(vtAuth(t).Verify(p), vtGet("/r", "Bearer "+tok)); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			var v struct {
				Ext any `json:"ext"`
			}
			ten := &tenant{}
			v.Ext = ten
			err := p.claims.Decode(&v)
			if tc.err == "" && (err != nil || ten.TenantID != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || ten.TenantID != "") {
				t.Errorf("Decode = %v, tenant_id %q; want %q, error about %q", err, ten.TenantID, tc.want, tc.err)
			}
		})
	}
}

// TestContext: claims travel only under jwtguard's own key.
func TestContext(t *testing.T) {
	type stringKey string
	claims := &jwtguard.Claims{Subject: "42", Roles: []string{"admin"}}
	cases := []struct {
		name string
		ctx  context.Context
		want *jwtguard.Claims
	}{
		{"empty context", context.Background(), nil},
		{"round trip", jwtguard.NewContext(context.Background(), claims), claims},
		{"nil claims", jwtguard.NewContext(context.Background(), nil), nil},
		{"inner value wins", jwtguard.NewContext(jwtguard.NewContext(context.Background(), &jwtguard.Claims{Subject: "outer"}), claims), claims},
		//lint:ignore SA1029 the point is a key that looks like ours
		{"look-alike string key", context.WithValue(context.Background(), "claims", claims), nil},
		{"look-alike typed key", context.WithValue(context.Background(), stringKey("jwtguard"), claims), nil},
		//lint:ignore SA1029 the point is a key that looks like ours
		{"look-alike empty struct key", context.WithValue(context.Background(), struct{}{}, claims), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := jwtguard.FromContext(tc.ctx)
			if got != tc.want || ok != (tc.want != nil) {
				t.Errorf("FromContext = %p, %v; want %p, %v", got, ok, tc.want, tc.want != nil)
			}
		})
	}
}

// TestVerifyGivesEachRequestItsOwnClaims: claims are not shared between
// requests.
func TestVerifyGivesEachRequestItsOwnClaims(t *testing.T) {
	a := vtAuth(t)
	p1, p2 := &vtProbe{}, &vtProbe{}
	vtServe(a.Verify(p1), vtGet("/r", "Bearer "+vtToken(map[string]any{"roles": []string{"user"}})))
	vtServe(a.Verify(p2), vtGet("/r", "Bearer "+vtToken(map[string]any{"sub": "user-2", "roles": []string{"admin"}})))
	if !p1.ok || !p2.ok || p1.claims == p2.claims {
		t.Fatalf("claims %p and %p", p1.claims, p2.claims)
	}
	if p1.claims.Subject != "user-1" || slices.Contains(p1.claims.Roles, "admin") {
		t.Errorf("first request's claims changed: %+v", p1.claims)
	}
}

// TestZeroAuthSaysItIsUnusable: an Auth not made by New panics with a
// message that names the mistake, rather than with a nil dereference on the
// first request; Issue returns an error.
func TestZeroAuthSaysItIsUnusable(t *testing.T) {
	var zero jwtguard.Auth
	h := http.NotFoundHandler()
	cases := map[string]func(){
		"Verify":         func() { zero.Verify(h) },
		"VerifyOptional": func() { zero.VerifyOptional(h) },
		"Authorize":      func() { zero.Authorize("admin") },
		"Require":        func() { zero.Require(jwtguard.AnyRole("admin")) },
		"LoginHandler":   func() { zero.LoginHandler(ltStoreFunc(nil)) },
		"Stats":          func() { zero.Stats() },
		"nil Verify":     func() { (*jwtguard.Auth)(nil).Verify(h) },
	}
	vtCheckPanics(t, cases, "not made by New")
	if _, err := zero.Issue(context.Background(), jwtguard.User{ID: "1"}); !errors.Is(err, jwtguard.ErrInternal) {
		t.Errorf("Issue on a zero Auth: %v, want ErrInternal", err)
	}
}

package jwtguard

import (
	"fmt"
	"net/http"
	"slices"
)

// A Rule decides whether verified claims may reach a route. Rules are plain
// predicates; combine them with [AnyOf] and [AllOf] or write your own.
type Rule func(*Claims) bool

// AnyRole is the [Rule] "holds at least one of roles". With no roles it holds
// for nobody. An empty role name panics when the rule is built: it is
// almost always configuration that was not set (AnyRole(os.Getenv("ROLE"))),
// and a route must not be opened to tokens that carry an empty role.
func AnyRole(roles ...string) Rule {
	roles = ruleNames("AnyRole", "role", roles)
	return func(c *Claims) bool {
		for _, r := range roles {
			if slices.Contains(c.Roles, r) {
				return true
			}
		}
		return false
	}
}

// Scopes is the [Rule] "the scope claim grants every one of scopes" (OAuth 2.0
// scope, RFC 6749 §3.3). With no scopes it holds for nobody; an empty scope
// name panics when the rule is built, as in [AnyRole].
func Scopes(scopes ...string) Rule {
	scopes = ruleNames("Scopes", "scope", scopes)
	return func(c *Claims) bool {
		for _, s := range scopes {
			if !slices.Contains(c.Scopes, s) {
				return false
			}
		}
		return len(scopes) > 0
	}
}

// ruleNames returns a copy of names, which a rule keeps, and panics if one
// of them is empty.
func ruleNames(rule, kind string, names []string) []string {
	if slices.Contains(names, "") {
		panic(fmt.Sprintf("jwtguard: %s with an empty %s name (is a configuration variable unset?)", rule, kind))
	}
	return slices.Clone(names)
}

// AnyOf is the [Rule] "at least one of rules holds". With no rules it holds for
// nobody.
func AnyOf(rules ...Rule) Rule {
	rules = slices.Clone(rules)
	return func(c *Claims) bool {
		for _, r := range rules {
			if r != nil && r(c) {
				return true
			}
		}
		return false
	}
}

// AllOf is the [Rule] "every one of rules holds". With no rules, or a nil rule
// among them, it holds for nobody.
func AllOf(rules ...Rule) Rule {
	rules = slices.Clone(rules)
	return func(c *Claims) bool {
		for _, r := range rules {
			if r == nil || !r(c) {
				return false
			}
		}
		return len(rules) > 0
	}
}

// Authorize returns middleware that lets a request through when its verified
// claims hold at least one of roles. It is Require(AnyRole(roles...)); place
// it behind [Auth.Verify]:
//
//	mux.Handle("GET /api/admin-data", auth.Verify(auth.Authorize("admin")(h)))
//
// A request whose claims lack every role is refused with [ErrForbidden] (403
// insufficient_scope). [Auth.Authorize] fails closed: a request that reaches it
// without verified claims ([Auth.Verify] missing, or [Auth.VerifyOptional] with no token)
// is refused with [ErrNoToken] (401), and Authorize() with no roles lets
// nobody through. An empty role name panics when the route is built, since
// Authorize(os.Getenv("ADMIN_ROLE")) with the variable unset must not open
// the route to tokens that carry an empty role.
func (a *Auth) Authorize(roles ...string) func(http.Handler) http.Handler {
	return a.Require(AnyRole(roles...))
}

// Require returns middleware that lets a request through when rule holds for
// its verified claims, and otherwise refuses it with [ErrForbidden] (403
// insufficient_scope). Without verified claims in the context it refuses with
// [ErrNoToken] (401); a nil rule lets nobody through.
func (a *Auth) Require(rule Rule) func(http.Handler) http.Handler {
	a.mustBeNew("Require")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := FromContext(r.Context())
			if !ok {
				if r.Context().Value(claimsKey{}) == nil {
					// Not even VerifyOptional ran: a wiring mistake.
					a.warn(r, &a.warnings.noVerify, "jwtguard: Authorize or Require reached without verified claims; is Verify or VerifyOptional in front of this route?")
				}
				a.refuseBearer(w, r, fmt.Errorf("%w: no verified claims in the context; is Verify in front of this route?", ErrNoToken))
				return
			}
			if rule == nil || !rule(c) {
				var err error = fmt.Errorf("%w: subject %q with roles %q does not satisfy the route's rule", ErrForbidden, c.Subject, c.Roles)
				if c.KeyThumbprint != "" {
					// A DPoP-bound token's request is answered with DPoP's
					// challenge (RFC 9449 §7.1).
					err = &dpopScheme{err}
				}
				a.refuseBearer(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

package jwtguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/internal/token"
)

// Claims are the verified claims of a request's token. Verify puts them in the
// request context; read them with FromContext. Treat them as read-only: the
// same value is seen by every handler of the request.
type Claims struct {
	// Subject identifies the user: the sub claim, or, in tokens without sub,
	// the "id" claim of the tutorial payload style {id, username, role}
	// (a string or an integer, as text). Verify refuses a token that has
	// neither, so it is never empty behind Verify.
	Subject string
	// Username is the username claim, if any.
	Username string
	// Roles are the user's roles: the "roles" array and the "role" string
	// claims together, or the claim named by WithRolesClaim.
	Roles []string
	// Scopes are the space-delimited words of the OAuth "scope" claim
	// (RFC 8693 §4.2).
	Scopes []string
	// Issuer and Audience are the iss and aud claims.
	Issuer   string
	Audience []string
	// TokenID is the jti claim, unique per issued token.
	TokenID string
	// IssuedAt, NotBefore and ExpiresAt are iat, nbf and exp; zero when the
	// claim is absent (exp never is).
	IssuedAt, NotBefore, ExpiresAt time.Time

	payload *token.Payload // nil for Claims built by hand
}

// Decode unmarshals the token's whole JSON payload into v, for claims that
// Claims has no field for:
//
//	var extra struct{ TenantID string `json:"tenant_id"` }
//	err := claims.Decode(&extra)
//
// The payload was verified; Decode only reads it again. Claims built by hand
// (for handler tests) have no payload, and Decode leaves v untouched.
func (c *Claims) Decode(v any) error {
	if c.payload == nil {
		return nil
	}
	raw, err := c.payload.RawJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// claimsFromPayload builds the exported Claims of a verified payload.
func (a *Auth) claimsFromPayload(p *token.Payload) (*Claims, error) {
	c := &Claims{
		Subject:   p.Subject,
		Username:  p.Username,
		Issuer:    p.Issuer,
		Audience:  p.Audience,
		TokenID:   p.ID,
		IssuedAt:  p.IssuedAt.Time,
		NotBefore: p.NotBefore.Time,
		ExpiresAt: p.ExpiresAt.Time,
		payload:   p,
	}
	if c.Subject == "" {
		c.Subject = string(p.LegacyID)
	}
	if c.Subject == "" {
		return nil, errors.New("no subject: neither sub nor id names the user")
	}
	if p.Scope != "" {
		c.Scopes = strings.Fields(p.Scope)
	}
	if a.cfg.rolesClaim != nil {
		raw, err := p.RawJSON()
		if err != nil {
			return nil, err
		}
		roles, err := rolesAt(raw, a.cfg.rolesClaim)
		if err != nil {
			return nil, fmt.Errorf("roles claim: %w", err)
		}
		c.Roles = roles
		return c, nil
	}
	c.Roles = p.Roles
	if p.Role != "" && !slices.Contains(c.Roles, p.Role) {
		c.Roles = append(slices.Clip(c.Roles), p.Role)
	}
	return c, nil
}

// rolesAt reads the string or string array at path in the JSON object raw.
// A missing claim means no roles; a claim of another type is an error.
func rolesAt(raw []byte, path []string) ([]string, error) {
	for _, key := range path {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
		v, ok := obj[key]
		if !ok {
			return nil, nil
		}
		raw = v
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return []string{s}, err
	}
	var roles []string
	err := json.Unmarshal(raw, &roles)
	return roles, err
}

type claimsKey struct{}

// NewContext returns a copy of ctx that carries c. Verify uses it; handler
// tests can use it to call a handler behind Verify directly.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the claims that Verify (or NewContext) put in ctx, and
// whether there were any. A handler behind VerifyOptional gets false for an
// anonymous request.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/internal/strictjson"
	"github.com/jwtguard/jwtguard/internal/token"
)

// Claims are the verified claims of a request's token. Verify puts them in the
// request context; read them with FromContext. Treat them as read-only: the
// same value is seen by every handler of the request.
type Claims struct {
	// Subject identifies the user: the sub claim, or, in tokens without sub,
	// the "id" claim of the tutorial payload style {id, username, role}
	// (a string, or an integer of absolute value at most 2^53-1 as its
	// decimal text: a larger one, which JavaScript would round, or -0 makes
	// the token invalid). Verify refuses a token that has neither, so it is
	// never empty behind Verify.
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
// The payload was verified; Decode only reads it again, more strictly than
// encoding/json alone, so that what v receives is what every other JSON
// parser reads in the token. It returns an error, and leaves v untouched,
// when an object anywhere in the payload has a member name twice or two
// names equal under case folding (strings.EqualFold), or when a member name
// matches a field of v only in another letter case ("TENANT_ID" for
// tenant_id; encoding/json would fill the field). Field names are matched
// exactly at every depth that encoding/json decodes through structs, maps,
// slices, arrays and pointers, and through an interface field that holds
// a non-nil pointer (encoding/json decodes into the value it points to);
// a type with its own UnmarshalJSON decodes its part of the payload as it
// likes. Otherwise it decodes as json.Unmarshal does, with its errors for
// mistyped fields.
//
// Claims built by hand (for handler tests) have no token payload, and
// Decode returns an error for them.
func (c *Claims) Decode(v any) error {
	if c.payload == nil {
		return errors.New("jwtguard: claims built by hand have no token payload to decode")
	}
	raw, err := c.payload.RawJSON()
	if err != nil {
		return err
	}
	return strictjson.Unmarshal(raw, v)
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

// rolesAt reads the string or string array at path in the JSON object raw,
// with internal/strictjson: names match exactly, a name of the path that
// appears twice in its object is an error (rather than the last one
// winning), and the roles are decoded strictly. A missing claim, or null on
// the way, means no roles; a claim of another type is an error.
func rolesAt(raw []byte, path []string) ([]string, error) {
	for _, key := range path {
		if string(raw) == "null" {
			return nil, nil
		}
		v, found, err := strictjson.Lookup(raw, key)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, nil
		}
		raw = v
	}
	switch {
	case string(raw) == "null":
		return nil, nil
	case len(raw) > 0 && raw[0] == '"':
		s, err := strictjson.String(raw)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	default:
		return strictjson.Strings(raw)
	}
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

package jwtguard

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/jwtguard/jwtguard/internal/strictjson"
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
	// SessionID is the sid claim: the session (refresh-token family, see
	// [Session]) the token was issued in; empty for a token issued
	// without one. With [WithSessions], Verify refuses the token once its
	// session is revoked.
	SessionID string
	// IssuedAt, NotBefore and ExpiresAt are iat, nbf and exp; zero when the
	// claim is absent (exp never is).
	IssuedAt, NotBefore, ExpiresAt time.Time
	// KeyThumbprint is the RFC 7638 thumbprint of the DPoP key the token
	// is bound to (its cnf.jkt), whose proof the request carried and
	// Verify checked; "" for a bearer token.
	KeyThumbprint string

	json []byte // the token's payload; nil for Claims built by hand
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
// Claims built by hand (for handler tests, with [NewContext]) have no token
// payload, and Decode returns an error for them; to test a handler that
// decodes claims, make a real token with [Auth.Issue] and [WithClaims] and
// get its claims from [Auth.Authenticate].
func (c *Claims) Decode(v any) error {
	if c.json == nil {
		return errors.New("jwtguard: claims built by hand have no token payload to decode")
	}
	// A copy: the string claims are views of c.json, and an UnmarshalJSON
	// or UnmarshalText of v's may write to the bytes it is handed.
	return strictjson.Unmarshal(bytes.Clone(c.json), v)
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

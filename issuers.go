package jwtguard

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jwtguard/jwtguard/internal/strictjson"
	"github.com/jwtguard/jwtguard/internal/token"
)

// Issuer is one more issuer whose tokens an [Auth] accepts, beside those of
// its own keys ([WithIssuers]): another jwtguard service, Auth0, Keycloak,
// Cognito. A token's iss selects its Issuer before any key is tried, and
// the token is then checked only with that issuer's keys and rules.
type Issuer struct {
	// Issuer is the iss claim of its tokens, compared exactly. Required.
	Issuer string
	// Keys are its keys: a [KeySet] of its public keys, or its remote
	// JWKS (the jwks module). Required.
	Keys KeySource
	// Audience, when set, must be named by the token's aud. When empty,
	// a token that carries an aud is refused (RFC 7519 §4.1.3), as with
	// [WithAudience]: Cognito's access tokens carry none (see ClientID),
	// Keycloak's carry "account" unless configured otherwise.
	Audience string
	// ClientID, when set, must equal the token's client_id claim (a
	// string): Cognito access tokens name their app client there.
	ClientID string
	// RolesClaim is where its tokens keep their roles, as for
	// [WithRolesClaim]: {"realm_access", "roles"} for Keycloak,
	// {"cognito:groups"} for Cognito. nil: the "roles" and "role"
	// claims, whatever the Auth's own WithRolesClaim says.
	RolesClaim []string
}

// WithIssuers makes the [Auth] accept the tokens of each of issuers beside
// those of its own keys. The token's iss picks its issuer, before any key
// is tried or fetched: iss equal to one of issuers is checked with that
// issuer's keys, audience, client ID and roles claim; any other iss goes
// to the Auth's own keys and rules, and when the Auth has an issuer of its
// own ([WithIssuer]) a token whose iss is neither is refused at once
// (counted as an issuer refusal). [Claims.Issuer] then tells which issuer
// verified the token; its Subject is that issuer's name for the user, not
// one of this service's user IDs. The session store ([WithSessions]) is
// never asked about such a token (its sid and jti are the other issuer's),
// and the logout handlers refuse it (401): it cannot end this service's
// sessions. The Auth signs only with its own keys. [New] refuses
// an issuer without iss or keys, two with the same iss, or one with the
// Auth's own iss.
func WithIssuers(issuers ...Issuer) Option {
	list := append([]Issuer(nil), issuers...)
	return func(c *config) { c.issuers = append(c.issuers, list...) }
}

// issuerRules are the checks of one issuer beyond its verifier: the roles
// claim, and the client_id claim.
type issuerRules struct {
	verifier   *token.Verifier
	keysDown   warner // spaces out the Error logs of its key source's failures
	rolesClaim []string
	clientID   string
}

// newIssuers makes the verifier and rules of each issuer of cfg, with
// cache (nil: none).
func newIssuers(cfg *config, cache *token.Cache) (map[string]*issuerRules, error) {
	if len(cfg.issuers) == 0 {
		return nil, nil
	}
	m := make(map[string]*issuerRules, len(cfg.issuers))
	for _, is := range cfg.issuers {
		switch {
		case is.Issuer == "":
			return nil, errors.New("jwtguard: WithIssuers: an issuer without iss")
		case is.Issuer == cfg.issuer:
			return nil, fmt.Errorf("jwtguard: WithIssuers: %q is the Auth's own issuer (WithIssuer)", is.Issuer)
		case m[is.Issuer] != nil:
			return nil, fmt.Errorf("jwtguard: WithIssuers: two issuers %q", is.Issuer)
		case is.RolesClaim != nil && (len(is.RolesClaim) == 0 || contains(is.RolesClaim, "")):
			return nil, fmt.Errorf("jwtguard: WithIssuers: issuer %q: roles claim path must be non-empty names", is.Issuer)
		}
		resolver, _, err := resolverOf(is.Keys)
		if err != nil {
			return nil, fmt.Errorf("jwtguard: WithIssuers: issuer %q: %w", is.Issuer, err)
		}
		m[is.Issuer] = &issuerRules{
			verifier: token.NewVerifier(token.Config{
				Keys:     resolver,
				Issuer:   is.Issuer,
				Audience: is.Audience,
				Leeway:   cfg.leeway,
				Now:      cfg.now,
				Type:     cfg.tokenType,
				Cache:    cache,
			}),
			rolesClaim: append([]string(nil), is.RolesClaim...),
			clientID:   is.ClientID,
		}
		if is.RolesClaim == nil {
			m[is.Issuer].rolesClaim = nil
		}
		m[is.Issuer].keysDown.every, m[is.Issuer].keysDown.threshold = keysDownEvery, 1
	}
	return m, nil
}

// rulesFor returns the issuer rules for tok: nil for the Auth's own, or
// an error for an iss that is no issuer's. The payload is read, before its
// signature is checked, only for its iss, with the strict decoder; a
// payload that cannot be read goes to the Auth's own verifier, which
// refuses it.
func (a *Auth) rulesFor(tok string) (*issuerRules, error) {
	if a.issuers == nil {
		return nil, nil
	}
	first := strings.IndexByte(tok, '.')
	if first < 0 {
		return nil, nil
	}
	second := strings.IndexByte(tok[first+1:], '.')
	if second < 0 {
		return nil, nil
	}
	raw, err := b64url.DecodeString(tok[first+1 : first+1+second])
	if err != nil {
		return nil, nil
	}
	v, found, err := strictjson.Lookup(raw, "iss")
	if err != nil || !found {
		return nil, nil
	}
	iss, err := strictjson.String(v)
	if err != nil {
		return nil, nil
	}
	if r := a.issuers[iss]; r != nil {
		return r, nil
	}
	if a.cfg.issuer != "" && iss != a.cfg.issuer {
		return nil, token.ErrUntrustedIssuer
	}
	return nil, nil
}

// verifierOf is r's verifier, or the Auth's own for nil.
func (a *Auth) verifierOf(r *issuerRules) *token.Verifier {
	if r == nil {
		return a.verifier
	}
	return r.verifier
}

// keysDownOf is the warner of the Error logs of r's key source.
func (a *Auth) keysDownOf(r *issuerRules) *warner {
	if r == nil {
		return &a.warnings.keysDown
	}
	return &r.keysDown
}

// rolesClaimOf is the roles claim path of r's tokens.
func (a *Auth) rolesClaimOf(r *issuerRules) []string {
	if r == nil {
		return a.cfg.rolesClaim
	}
	return r.rolesClaim
}

// checkClientID checks the client_id claim of an issuer that requires one.
func checkClientID(r *issuerRules, raw []byte) error {
	if r == nil || r.clientID == "" {
		return nil
	}
	v, found, err := strictjson.Lookup(raw, "client_id")
	if err == nil && found {
		var id string
		if id, err = strictjson.String(v); err == nil && id == r.clientID {
			return nil
		}
	}
	return errors.New("client_id is not the issuer's configured client")
}

package token

import (
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

// Why a token was refused, as Reason tells it, for operators' counts.
const (
	ReasonMalformed = "malformed" // not a compact JWS, bad base64 or JSON, too long
	ReasonSignature = "signature" // bad signature, or signed with another algorithm
	ReasonExpired   = "expired"   // exp has passed and nothing else failed
	ReasonIssuer    = "issuer"    // iss is not the configured issuer
	ReasonAudience  = "audience"  // aud does not name this service
	ReasonClaims    = "claims"    // any other claim or header check
)

// Reason classifies an error from Verify.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ReasonSignature
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, errBadByte):
		return ReasonMalformed
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ReasonIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ReasonAudience
	}
	return ReasonClaims
}

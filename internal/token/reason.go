package token

import "errors"

// Why a token was refused, as Reason tells it, for operators' counts.
const (
	ReasonMalformed  = "malformed"   // not a compact JWS, bad base64 or JSON
	ReasonSignature  = "signature"   // bad signature, or signed with another algorithm
	ReasonUnknownKey = "unknown_key" // no key for its kid (ErrUnknownKey)
	ReasonExpired    = "expired"     // exp has passed and nothing else failed
	ReasonIssuer     = "issuer"      // iss is not the configured issuer
	ReasonAudience   = "audience"    // aud does not name this service
	ReasonClaims     = "claims"      // any other claim or header check
)

// Reason classifies an error from Verify. The signature is checked before
// the claims are decoded, so a forged token is a signature refusal whatever
// its claims say; a malformed header or signature encoding is malformed.
func Reason(err error) string {
	if r := fixedReason(err); r != "" {
		return r
	}
	return wrappedReason(err)
}

// wrappedReason is Reason found by the kinds err wraps.
func wrappedReason(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return ReasonExpired
	case errors.Is(err, ErrUnknownKey):
		return ReasonUnknownKey
	case errors.Is(err, errSignature):
		return ReasonSignature
	case errors.Is(err, errMalformed):
		return ReasonMalformed
	case errors.Is(err, errIssuer):
		return ReasonIssuer
	case errors.Is(err, errAudience):
		return ReasonAudience
	}
	return ReasonClaims
}

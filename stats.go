package jwtguard

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/internal/bearer"
	"github.com/jwtguard/jwtguard/internal/token"
)

// refusalReasons name the reasons Stats counts refusals by.
var refusalReasons = [...]string{
	"no_token",               // ErrNoToken
	"malformed_request",      // ErrInvalidRequest: a malformed header or login body
	"malformed_token",        // ErrInvalidToken: not a compact JWS, bad encoding, too long
	"bad_signature",          // ErrInvalidToken: wrong signature or another algorithm
	"expired",                // ErrTokenExpired
	"wrong_issuer",           // ErrInvalidToken: iss
	"wrong_audience",         // ErrInvalidToken: aud
	"invalid_claims",         // ErrInvalidToken: any other claim or header check
	"insufficient_scope",     // ErrForbidden
	"invalid_credentials",    // ErrInvalidCredentials
	"throttled",              // ErrTooManyRequests
	"overloaded",             // ErrOverloaded
	"method_not_allowed",     // errMethodNotAllowed
	"unsupported_media_type", // errUnsupportedMediaType
	"request_too_large",      // errRequestTooLarge
	"internal",               // ErrInternal
	"revoked",                // ErrInvalidToken: its session revoked or its jti denied (WithSessions)
	"invalid_grant",          // ErrInvalidGrant, but for a reuse
	"refresh_reused",         // ErrInvalidGrant: a spent refresh token, its session now revoked
	"unsupported_grant_type", // errUnsupportedGrantType
	"username_rejected",      // errUsernameRejected
	"password_rejected",      // ErrPasswordRejected
	"username_taken",         // ErrUserExists
	"cross_origin",           // errCrossOrigin: refused by the CSRF check (cookie mode)
	"unknown_key",            // ErrInvalidToken: no key for its kid (a key removed, or not yet published)
	"dpop_invalid_proof",     // ErrInvalidDPoPProof: missing, malformed, badly signed, another method or URI, too old, wrong ath
	"dpop_replayed",          // ErrInvalidDPoPProof: its jti seen before
	"dpop_nonce_required",    // ErrInvalidDPoPProof: no nonce of ours, or the replay cache full (use_dpop_nonce)
	"dpop_key_mismatch",      // ErrInvalidDPoPProof: a key other than the token's (or the session's) binding
	"dpop_binding",           // ErrInvalidToken: a bound token without its proof, an unbound one with the DPoP scheme, a bearer token where DPoP is required
}

// tokenReasonIndex returns the index in refusalReasons of a token the
// verifier refused with err.
func tokenReasonIndex(err error) int {
	switch token.Reason(err) {
	case token.ReasonMalformed:
		return 2
	case token.ReasonSignature:
		return 3
	case token.ReasonUnknownKey:
		return 24
	case token.ReasonIssuer:
		return 5
	case token.ReasonAudience:
		return 6
	}
	return 7
}

// reasonIndex returns the index in refusalReasons of why err was refused.
func reasonIndex(err error) int {
	// The usual refusals, made by refusalOf: told by their sentinel and
	// cause without errors.Is walking them for each reason.
	if w, ok := err.(*wrapped); ok {
		switch w.errs[0] {
		case ErrNoToken:
			return 0
		case ErrTokenExpired:
			return 4
		case ErrInvalidToken:
			switch w.errs[1] {
			case bearer.ErrTooLong, bearer.ErrMalformed:
				return 2
			case errRevoked:
				return 16
			}
			return tokenReasonIndex(w.errs[1])
		}
	}
	return walkedReasonIndex(err)
}

// walkedReasonIndex is reasonIndex found by the errors err wraps.
func walkedReasonIndex(err error) int {
	switch {
	case errors.Is(err, errProofReplayed):
		return 26
	case errors.Is(err, errUseDPoPNonce):
		return 27
	case errors.Is(err, errProofKey):
		return 28
	case errors.Is(err, ErrInvalidDPoPProof):
		return 25
	case errors.Is(err, errDPoPBinding):
		return 29
	case errors.Is(err, ErrNoToken):
		return 0
	case errors.Is(err, errMethodNotAllowed):
		return 12
	case errors.Is(err, errUnsupportedMediaType):
		return 13
	case errors.Is(err, errRequestTooLarge):
		return 14
	case errors.Is(err, errUnsupportedGrantType):
		return 19
	case errors.Is(err, errUsernameRejected):
		return 20
	case errors.Is(err, ErrInvalidRequest):
		return 1
	case errors.Is(err, ErrTokenExpired):
		return 4
	case errors.Is(err, ErrInvalidToken):
		switch {
		case errors.Is(err, bearer.ErrTooLong) || errors.Is(err, bearer.ErrMalformed):
			return 2
		case errors.Is(err, errRevoked):
			return 16
		}
		return tokenReasonIndex(err)
	case errors.Is(err, errCrossOrigin):
		return 23
	case errors.Is(err, ErrForbidden):
		return 8
	case errors.Is(err, ErrInvalidCredentials):
		return 9
	case errors.Is(err, ErrTooManyRequests):
		return 10
	case errors.Is(err, ErrOverloaded):
		return 11
	case errors.Is(err, ErrPasswordRejected):
		return 21
	case errors.Is(err, ErrUserExists):
		return 22
	case errors.Is(err, ErrInvalidGrant):
		if errors.Is(err, ErrRefreshTokenReused) {
			return 18
		}
		return 17
	}
	return 15
}

// Stats are an [Auth]'s counters since [New], for your metrics system (an
// Example publishes them through expvar); jwtguard has no metrics
// dependency.
type Stats struct {
	// Refusals counts refused requests by reason. Every reason is present,
	// zero or not: no_token, malformed_request, malformed_token,
	// bad_signature, expired, wrong_issuer, wrong_audience, invalid_claims
	// (any other claim or header check), insufficient_scope,
	// invalid_credentials, throttled, overloaded, method_not_allowed,
	// unsupported_media_type, request_too_large, internal, revoked (a
	// token of a revoked session, or one a logout denied: [WithSessions]),
	// unknown_key (a token whose kid names no key: signed with a key
	// removed from the set too early, or with one not yet published to a
	// JWKS this service reads, or with none of ours), cross_origin (cookie
	// mode's CSRF check), the DPoP refusals ([WithDPoP]) dpop_invalid_proof,
	// dpop_replayed, dpop_nonce_required (use_dpop_nonce: no nonce of
	// ours, or a full replay cache), dpop_key_mismatch (a proof of
	// another key than the token's or the session's) and dpop_binding (a
	// bound token without its proof, an unbound one with the DPoP scheme,
	// a bearer token where DPoP is required), and the refresh handler's invalid_grant,
	// refresh_reused (a spent refresh token presented again: its session
	// was revoked) and unsupported_grant_type, and the register handler's
	// username_rejected, password_rejected and username_taken (a 429 of
	// the register handler counts as throttled).
	// A rise in bad_signature is a forgery attempt or a service signing
	// with another key; in unknown_key, a rotation out of step; in
	// throttled and overloaded, a password-guessing flood. The signature
	// is checked before the claims are decoded, and before the header's
	// other checks, so a forgery counts under
	// bad_signature whatever its claims say; only a token whose layout or
	// encoding cannot be read counts under malformed_token first. These
	// keys are finer than the reason member of a refusal's body, which a
	// client reads: token_invalid there is one of malformed_token,
	// bad_signature, unknown_key, wrong_issuer, wrong_audience,
	// invalid_claims or revoked here.
	Refusals map[string]uint64 `json:"refusals"`

	// What the login handlers of the Auth did with password comparisons
	// (and the register handler and SetPassword with their hashing, which
	// share the budget: counted as logins here).
	LoginsAdmitted  uint64 `json:"logins_admitted"`  // logins whose password comparison started
	LoginsHeld      uint64 `json:"logins_held"`      // logins that waited for budget or a slot, admitted or not
	LoginsRefused   uint64 `json:"logins_refused"`   // logins answered 503: no budget or slot within the wait, or too many waiting
	LoginsThrottled uint64 `json:"logins_throttled"` // logins answered 429 by the account or address throttle
	LoginsWaiting   int64  `json:"logins_waiting"`   // logins waiting now
	// PasswordBudget is the comparisons a second the password budget
	// allows now (a derived budget follows the measured cost of a
	// comparison); 0 without a budget.
	PasswordBudget float64 `json:"password_budget"`

	// The verified-token cache ([WithVerifiedTokenCache]); zero without
	// one. A hit is a token answered from the cache (expired or not); a
	// miss is a token verified afresh, a refused one included.
	TokenCacheHits    uint64 `json:"token_cache_hits"`
	TokenCacheMisses  uint64 `json:"token_cache_misses"`
	TokenCacheEntries int64  `json:"token_cache_entries"`
	TokenCacheBytes   int64  `json:"token_cache_bytes"` // what the entries are counted as, against the budget
}

// warner spaces out one kind of operator warning: at most one every
// interval, and only once threshold occurrences have been seen since the
// last. It runs on the runtime clock, not the configured one, so that a
// frozen test clock cannot silence it or let it flood.
type warner struct {
	every     time.Duration
	threshold uint64
	pending   atomic.Uint64
	last      atomic.Int64 // unix nanoseconds of the last warning
}

// note counts one occurrence and reports whether to warn now, with how
// many occurrences the warning covers.
func (w *warner) note() (n uint64, warn bool) {
	p := w.pending.Add(1)
	now := time.Now().UnixNano()
	last := w.last.Load()
	if p < w.threshold || last != 0 && now-last < int64(w.every) || !w.last.CompareAndSwap(last, now) {
		return 0, false
	}
	return w.pending.Swap(0), true
}

// warnings are the operator warnings of one Auth.
type warnings struct {
	noVerify      warner // Require reached without Verify in front
	noScheme      warner // a token in the Authorization header without "Bearer "
	badSignatures warner // a burst of tokens with bad signatures
	unknownKeys   warner // a burst of tokens whose kid names no key
	keysDown      warner // tokens refused because the key source cannot answer
}

func newWarnings() *warnings {
	w := &warnings{}
	w.noVerify.every, w.noVerify.threshold = time.Minute, 1
	w.noScheme.every, w.noScheme.threshold = time.Minute, 1
	w.badSignatures.every, w.badSignatures.threshold = time.Minute, badSignatureBurst
	w.unknownKeys.every, w.unknownKeys.threshold = time.Minute, badSignatureBurst
	w.keysDown.every, w.keysDown.threshold = keysDownEvery, 1
	return w
}

// keysDownEvery spaces out the Error logs of tokens refused because the
// key source cannot answer (a JWKS not fetched yet): every token with a
// kid is one, junk included, and each is logged at Debug in between.
const keysDownEvery = 10 * time.Second

// badSignatureBurst is how many bad signatures make a burst worth a
// warning (at most one a minute).
const badSignatureBurst = 10

// looksLikeJWT reports whether an Authorization value with no Bearer scheme
// is a bare compact JWT ("eyJ…" and two dots), as clients written against
// the first Next.js tutorial send it.
func looksLikeJWT(v string) bool {
	if len(v) < 10 || v[:3] != "eyJ" {
		return false
	}
	dots := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '.' {
			dots++
		}
	}
	return dots == 2
}

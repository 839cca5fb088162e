// Package token signs and verifies JWTs for jwtguard. It is the only package
// that imports github.com/golang-jwt/jwt/v5, so that none of its types reach
// jwtguard's exported API and the verification path can be replaced without
// touching callers.
package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtguard/jwtguard/internal/strictjson"
)

// Errors returned by Verifier.Verify. Every error it returns wraps exactly one
// of them; the wrapped detail is for operators' logs.
var (
	// ErrExpired: the signature is good and every check passes but exp,
	// which has passed (beyond leeway).
	ErrExpired = errors.New("token expired")
	// ErrInvalid: anything else (malformed, bad signature, wrong alg,
	// missing or wrongly typed claims, wrong iss/aud, nbf in the future).
	ErrInvalid = errors.New("token invalid")
	// ErrUnavailable: the key source could not say which key the token
	// is checked with (a remote key set not fetched yet); nothing is
	// known about the token.
	ErrUnavailable = errors.New("token keys unavailable")
)

// Algorithms lists the HMAC algorithms a Verifier can be pinned to, with the
// minimum key length for each (RFC 7518 §3.2: a key at least as long as the
// hash output).
var Algorithms = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// Config configures a Verifier. The zero value is not usable: Keys, or Alg
// and Secret, are required.
type Config struct {
	// Keys finds the key of each token. nil: the HMAC key of Alg and
	// Secret, for tests.
	Keys     Resolver
	Alg      string // one of the keys of Algorithms
	Secret   []byte
	Issuer   string // checked on verify and set on sign when non-empty
	Audience string // checked on verify and set on sign when non-empty
	Leeway   time.Duration
	Now      func() time.Time // nil: time.Now
	// Type, when non-empty, is the typ header required on verify (RFC
	// 8725 §3.11; Sign sets it). Empty: not checked.
	Type string
	// Cache, when not nil, holds the tokens the Verifier has verified
	// (see Cache).
	Cache *Cache
}

// Payload is the claim set of a token. Verify fills it from the token's JSON
// payload with strict types: a registered claim of the wrong JSON type makes
// the token invalid.
type Payload struct {
	Issuer    string   `json:"iss,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  Audience `json:"aud,omitempty"`
	ExpiresAt Time     `json:"exp,omitzero"`
	NotBefore Time     `json:"nbf,omitzero"`
	IssuedAt  Time     `json:"iat,omitzero"`
	ID        string   `json:"jti,omitempty"`
	// SessionID is the sid claim: the session (refresh-token family) the
	// token was issued in.
	SessionID string `json:"sid,omitempty"`

	Username string   `json:"username,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Scope    string   `json:"scope,omitempty"`

	// Role and LegacyID read the payload style of tokens minted by Node's
	// jsonwebtoken in the tutorials jwtguard users come from: {id, role}.
	// jwtguard's own tokens carry sub and roles instead.
	Role     string   `json:"role,omitempty"`
	LegacyID LegacyID `json:"id,omitzero"`

	// Confirmation is the cnf claim (RFC 7800): the key a sender-
	// constrained token is bound to.
	Confirmation Confirmation `json:"cnf,omitzero"`

	// Extra are claims the caller adds to a token it signs (never set by
	// Verify). Their names must not be those of the fields above.
	Extra map[string]any `json:"-"`

	// JSON is the payload's JSON text, set by Verify, for claims outside
	// this struct (Claims.Decode, a roles claim at a path), so that the
	// hot path decodes the payload once. The string claims are views of
	// it: nothing may change it.
	JSON []byte `json:"-"`

	// own is set by Verify, which decodes into a buffer of its own that
	// nothing changes afterwards: the string claims are then views of it
	// (Payload.str). encoding/json, calling UnmarshalJSON, may reuse its
	// input, so then they are copies.
	own bool
	// seen has a bit for each claim UnmarshalJSON found (Payload.set's
	// bits), so that a present claim is told from an absent one whatever
	// its value (an exp of 0001-01-01T00:00:00Z is a zero time.Time).
	seen uint16
	// Storage for short aud and roles lists, so that they allocate
	// nothing of their own.
	audBuf   [2]string
	rolesBuf [4]string
}

// Confirmation is a cnf claim (RFC 7800 §3.1) as jwtguard reads it: the
// RFC 7638 thumbprint of a DPoP key (RFC 9449 §6.1), and whether it holds
// anything else, a confirmation method jwtguard cannot check (an mTLS
// certificate's x5t#S256, a jwk), or nothing at all.
type Confirmation struct {
	JKT string `json:"jkt,omitempty"`
	// Unchecked is set when the claim holds a member other than jkt, or
	// none: the token is bound in a way that cannot be checked here, and
	// is refused.
	Unchecked bool `json:"-"`
}

// Bound reports whether the token has a cnf claim.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.Unchecked }

// The jwt.Claims interface, which golang-jwt's signer asks of the claims it
// signs (Signer); Verify checks the claims itself (verify.go).

func (p *Payload) GetExpirationTime() (*jwt.NumericDate, error) { return p.ExpiresAt.numeric(), nil }
func (p *Payload) GetNotBefore() (*jwt.NumericDate, error)      { return p.NotBefore.numeric(), nil }
func (p *Payload) GetIssuedAt() (*jwt.NumericDate, error)       { return p.IssuedAt.numeric(), nil }
func (p *Payload) GetIssuer() (string, error)                   { return p.Issuer, nil }
func (p *Payload) GetSubject() (string, error)                  { return p.Subject, nil }
func (p *Payload) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings(p.Audience), nil }

// Time is a NumericDate (RFC 7519 §2) that decodes only from a JSON number.
// golang-jwt's own type also accepts a string such as "1700000000".
type Time struct{ time.Time }

// UnmarshalJSON accepts a JSON number of seconds since the epoch, with an
// optional fraction, for an instant in the years 0000 to 9999 UTC, the
// range RFC 3339 can write (and time.Time's MarshalJSON with it): a date
// outside it makes the token invalid rather than a handler's response
// fail to encode.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || '0' <= b[0] && b[0] <= '9') {
		return errors.New("NumericDate is not a JSON number")
	}
	// Whole seconds of up to 12 digits without a leading zero, the usual
	// case, are read directly: the same value ParseFloat gives, without
	// its cost on every request.
	if n, ok := smallSeconds(b); ok {
		if n > maxSeconds {
			return errors.New("NumericDate outside the years 0000 to 9999")
		}
		t.Time = time.Unix(n, 0)
		return nil
	}
	// ParseFloat also reads what JSON does not write (0x1p30, 1_000, 01):
	// the JSON number grammar first, for a caller that has not validated b.
	if err := strictjson.Valid(b); err != nil {
		return fmt.Errorf("NumericDate is not a JSON number: %w", err)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("NumericDate: %w", err)
	}
	if f < minSeconds || f >= maxSeconds+1 {
		return errors.New("NumericDate outside the years 0000 to 9999")
	}
	sec, frac := int64(f), f-float64(int64(f))
	t.Time = time.Unix(sec, int64(frac*1e9))
	return nil
}

// smallSeconds reads b when it is 1 to 12 decimal digits with no leading
// zero (or "0"), an integer every JSON parser reads exactly.
func smallSeconds(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 12 || b[0] == '0' && len(b) > 1 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// The bounds of a NumericDate: 0000-01-01T00:00:00Z and
// 9999-12-31T23:59:59Z. float64 holds every whole second between them
// exactly, so conversion cannot overflow.
const (
	minSeconds = -62167219200
	maxSeconds = 253402300799
)

// MarshalJSON writes whole seconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, t.Unix(), 10), nil
}

// numeric returns t as golang-jwt's type without copying it: Time and
// jwt.NumericDate are both struct{ time.Time }, so the pointer converts, and
// the validator, which only reads it, allocates nothing per claim.
func (t *Time) numeric() *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return (*jwt.NumericDate)(t)
}

// Audience is the aud claim: a string or an array of strings (RFC 7519
// §4.1.3). It is written as a string when it holds one value.
type Audience []string

// UnmarshalJSON accepts a string or an array of strings, nothing else: not
// null, and not null as an element. Strings must be UTF-8, as in every other
// claim.
func (a *Audience) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		one := make(Audience, 1)
		if err := decodeString(b, &one[0]); err != nil {
			return fmt.Errorf("aud: %w", err)
		}
		*a = one
	case len(b) > 0 && b[0] == '[':
		var list []string
		if err := decodeStrings(b, &list); err != nil {
			return fmt.Errorf("aud: %w", err)
		}
		*a = list
	default:
		return errors.New("aud is neither a string nor an array")
	}
	return nil
}

// MarshalJSON writes a single audience as a string.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// LegacyID is the "id" claim of tutorial-style tokens: a string or a number,
// kept as its decimal or string text.
type LegacyID string

// maxSafeInteger is 2^53-1, the largest integer n such that every integer
// up to n has its own float64 (JavaScript's Number.MAX_SAFE_INTEGER).
const maxSafeInteger = 1<<53 - 1

// UnmarshalJSON accepts a JSON string, decoded strictly as every other
// claim (invalid UTF-8 and lone surrogates refused), or an integer that
// every JSON parser reads as the same number, kept as the text it was
// sent as: -?(0|[1-9][0-9]*) with an absolute value of at most 2^53-1,
// and not -0. A larger integer is refused because parsers that read JSON
// numbers as float64 (JavaScript's JSON.parse, Go's MapClaims) round it,
// so 9007199254740993 would be user 9007199254740992 to them; -0 reads as
// 0 to some and "-0" to others. A fraction or exponent (7.0, 1e3), a
// leading '+' or zero, and any other type are refused.
func (id *LegacyID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := decodeString(b, &s); err != nil {
			return err
		}
		*id = LegacyID(s)
		return nil
	}
	digits := b
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || bytes.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
		return errors.New("id is neither a string nor an integer")
	}
	switch {
	case digits[0] == '0' && len(digits) > 1:
		return errors.New("id is an integer with a leading zero")
	case digits[0] == '0' && len(digits) != len(b):
		return errors.New("id is -0, which parsers read as 0 or as -0")
	}
	// 2^53-1 has 16 digits; longer ones cannot fit, and ParseUint of 16
	// digits cannot overflow.
	if n, _ := strconv.ParseUint(string(digits), 10, 64); len(digits) > 16 || n > maxSafeInteger {
		return errors.New("id is an integer beyond 2^53-1, which parsers that read numbers as float64 round")
	}
	*id = LegacyID(b)
	return nil
}

// SameType compares two typ values as RFC 7515 §4.1.9 asks: ignoring ASCII
// case and an "application/" prefix. Only ASCII letters fold: "ſ" (U+017F)
// is not "s" and "K" (U+212A, Kelvin) is not "k", as strings.EqualFold
// would have them.
func SameType(a, b string) bool {
	trim := func(s string) string {
		if len(s) > 12 && equalFoldASCII(s[:12], "application/") {
			return s[12:]
		}
		return s
	}
	return equalFoldASCII(trim(a), trim(b))
}

// equalFoldASCII reports whether a and b are equal when ASCII letters are
// compared without case; every other byte must be equal.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c, d := a[i], b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// Sign returns the compact serialization of p signed with k, with k's kid
// when it has one and typ (JWT when empty) in its header. k must be able
// to sign.
func Sign(k *Key, typ string, p *Payload) (string, error) {
	if !k.CanSign() {
		return "", errors.New("the key cannot sign: it has no private part")
	}
	t := jwt.NewWithClaims(k.method(), p)
	if typ != "" {
		t.Header["typ"] = typ
	}
	if k.ID != "" {
		t.Header["kid"] = k.ID
	}
	if k.secret != nil {
		return t.SignedString(k.secret)
	}
	return t.SignedString(k.private)
}

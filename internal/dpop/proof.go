package dpop

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/jwtguard/jwtguard/internal/strictjson"
	"github.com/jwtguard/jwtguard/internal/token"
)

// MaxJTI bounds a proof's jti: a replay cache keeps a hash of it, but a
// client has no use for more than a few dozen random bytes (RFC 9449
// §4.2: 96 bits at least).
const MaxJTI = 256

// Header is what a proof's JOSE header says: its typ and alg, and its jwk
// member's JSON, for the caller's JWK reader.
type Header struct {
	Typ string
	Alg string
	JWK []byte
}

// headerNames are the members DecodeHeader reads.
var headerNames = [...]string{"typ", "alg", "jwk"}

// DecodeHeader reads a proof's JOSE header strictly: a JSON object, with
// typ and alg strings and jwk an object, each present once; a member
// named as one of them in another letter case, and crit (RFC 7515
// §4.1.11: no extension is understood), are refused. Other members are
// validated and skipped: kid, x5c and jku never choose the key, which is
// the jwk's.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	var seen [len(headerNames)]bool
	err := strictjson.Object(b, func(name, value []byte) error {
		i, variant := memberOf(name, headerNames[:])
		if variant != "" {
			return fmt.Errorf("header member %q is %q in another letter case", name, variant)
		}
		if string(name) == "crit" {
			return errors.New("crit header parameter present; no extension is understood")
		}
		if i < 0 {
			return nil
		}
		if seen[i] {
			return fmt.Errorf("header member %q appears twice", name)
		}
		seen[i] = true
		var err error
		switch i {
		case 0:
			h.Typ, err = strictjson.String(value)
		case 1:
			h.Alg, err = strictjson.String(value)
		case 2:
			if len(value) == 0 || value[0] != '{' {
				err = errors.New("not a JSON object")
			}
			h.JWK = value
		}
		if err != nil {
			return fmt.Errorf("header member %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return Header{}, err
	}
	for i, n := range headerNames {
		if !seen[i] {
			return Header{}, fmt.Errorf("no %s header member", n)
		}
	}
	return h, nil
}

// Claims are a proof's claims (RFC 9449 §4.2); ATH and Nonce are "" when
// absent.
type Claims struct {
	JTI   string
	HTM   string
	HTU   string
	IAT   time.Time
	ATH   string
	Nonce string
}

// claimNames are the claims DecodeClaims reads; the first four are
// required.
var claimNames = [...]string{"jti", "htm", "htu", "iat", "ath", "nonce"}

// DecodeClaims reads a proof's claims strictly: a JSON object whose jti,
// htm, htu and iat are present, each of the six claims at most once and
// spelled exactly (another letter case is refused), the strings decoded
// strictly and non-empty, iat a NumericDate, and the jti at most MaxJTI
// bytes. Other claims are validated and skipped.
func DecodeClaims(b []byte) (Claims, error) {
	var c Claims
	var seen [len(claimNames)]bool
	err := strictjson.Object(b, func(name, value []byte) error {
		i, variant := memberOf(name, claimNames[:])
		if variant != "" {
			return fmt.Errorf("claim %q is %q in another letter case", name, variant)
		}
		if i < 0 {
			return nil
		}
		if seen[i] {
			return fmt.Errorf("claim %q appears twice", name)
		}
		seen[i] = true
		if i == 3 {
			var t token.Time
			if err := t.UnmarshalJSON(value); err != nil {
				return fmt.Errorf("claim iat: %w", err)
			}
			c.IAT = t.Time
			return nil
		}
		s, err := strictjson.String(value)
		switch {
		case err != nil:
			return fmt.Errorf("claim %q: %w", name, err)
		case s == "":
			return fmt.Errorf("claim %q is empty", name)
		}
		switch i {
		case 0:
			if len(s) > MaxJTI {
				return fmt.Errorf("claim jti is longer than %d bytes", MaxJTI)
			}
			c.JTI = s
		case 1:
			c.HTM = s
		case 2:
			c.HTU = s
		case 4:
			c.ATH = s
		case 5:
			c.Nonce = s
		}
		return nil
	})
	if err != nil {
		return Claims{}, err
	}
	for i, n := range claimNames[:4] {
		if !seen[i] {
			return Claims{}, fmt.Errorf("no %s claim", n)
		}
	}
	return c, nil
}

// memberOf returns the index of name among names (-1 for none), or the
// one of names that name spells in another letter case (Unicode's simple
// folding: the Kelvin sign is k), which the caller refuses: another JSON
// reader that matches names without regard to case would read it as that
// member.
func memberOf(name []byte, names []string) (int, string) {
	for i, n := range names {
		if string(name) == n {
			return i, ""
		}
		if bytes.EqualFold(name, []byte(n)) {
			return -1, n
		}
	}
	return -1, ""
}

package token

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/jwtguard/jwtguard/internal/strictjson"
)

// UnmarshalJSON decodes a claims set with internal/strictjson, not with
// encoding/json's reflection: it is on the path of every request, where it
// decodes a typical access token's payload in about a quarter of the time,
// with 10 allocations against 16 (BenchmarkPayloadDecode), and
// encoding/json lacks the strictness below.
//
// It matches claim names exactly (RFC 7519 §4: names are case sensitive,
// so "EXP" is not exp) once their JSON escapes are undone (so "\u0065xp" is
// exp, as for every other JSON parser), refuses a claim of this struct that
// appears twice (§4: a parser must refuse or take the last; we refuse), and
// refuses the payload when any string in it, in a claim it reads or not,
// is not UTF-8 (RFC 8725 §3.7) or holds a lone surrogate escape, where
// encoding/json would put U+FFFD in their place. Claims it does not know
// are validated and skipped. A JSON null leaves a string or array claim
// absent, as encoding/json would; the time claims, aud and id refuse it.
//
// It is safe on any input: it returns an error, never panics.
func (p *Payload) UnmarshalJSON(b []byte) error {
	if i := bytes.IndexFunc(b, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' }); i < 0 || b[i] != '{' {
		return errors.New("payload is not a JSON object")
	}
	p.seen = 0
	m := strictjson.NewMembers(b)
	for m.Next() {
		name := m.Name()
		bit, err := p.set(name, m.Value())
		if err != nil {
			return err
		}
		if bit == 0 {
			if claim, ok := caseVariant(name); ok {
				return fmt.Errorf("claim %q is %q in another letter case", name, claim)
			}
		}
		if p.seen&bit != 0 {
			return fmt.Errorf("claim %q appears twice", name)
		}
		p.seen |= bit
	}
	return m.Err()
}

// claimNames are the claims the Payload holds, by length, for caseVariant.
var claimNames = [...]string{"id", "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "cnf", "role", "roles", "scope", "username"}

// caseVariant reports whether name is one of the claims the Payload holds
// spelled in another letter case ("Sub", "EXP", "ſub"), as strings.EqualFold
// compares. Such a payload is refused: we read claim names exactly (RFC
// 7519 §4), but encoding/json, and so golang-jwt's RegisteredClaims or any
// Go service decoding the same token into a struct, would read "Sub" as sub
// (the last one winning), and the two would disagree about the subject.
func caseVariant(name []byte) (string, bool) {
	if len(name) < 2 || len(name) > 16 {
		return "", false
	}
	for _, c := range claimNames {
		if bytes.EqualFold(name, []byte(c)) {
			return c, true
		}
	}
	return "", false
}

// set decodes val into the field for the claim name (unquoted, escapes
// undone) and returns the field's bit, or 0 for a claim this struct does not
// hold.
func (p *Payload) set(name, val []byte) (uint16, error) {
	var err error
	var bit uint16
	switch string(name) { // compiled without allocating
	case "iss":
		bit, err = 1<<0, p.str(val, &p.Issuer)
	case "sub":
		bit, err = 1<<1, p.str(val, &p.Subject)
	case "aud":
		bit, err = 1<<2, p.audience(val)
	case "exp":
		bit, err = 1<<3, p.ExpiresAt.UnmarshalJSON(val)
	case "nbf":
		bit, err = 1<<4, p.NotBefore.UnmarshalJSON(val)
	case "iat":
		bit, err = 1<<5, p.IssuedAt.UnmarshalJSON(val)
	case "jti":
		bit, err = 1<<6, p.str(val, &p.ID)
	case "username":
		bit, err = 1<<7, p.str(val, &p.Username)
	case "roles":
		bit, err = 1<<8, p.strs(val, &p.Roles, p.rolesBuf[:0])
	case "scope":
		bit, err = 1<<9, p.str(val, &p.Scope)
	case "role":
		bit, err = 1<<10, p.str(val, &p.Role)
	case "id":
		bit, err = 1<<11, p.LegacyID.UnmarshalJSON(val)
	case "sid":
		// Refused when null or empty, as the time claims, aud and id refuse
		// null: a token whose sid reads as absent would never be checked
		// against its session.
		bit, err = 1<<12, p.str(val, &p.SessionID)
		if err == nil && p.SessionID == "" {
			err = errors.New("an empty or null session ID")
		}
	case "cnf":
		bit, err = 1<<13, p.confirmation(val)
	default:
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("claim %q: %w", name, err)
	}
	return bit, nil
}

// decodeString decodes a JSON string strictly (strictjson.String); null
// leaves dst as it is, as encoding/json does.
func decodeString(val []byte, dst *string) error {
	if string(val) == "null" {
		return nil
	}
	if len(val) == 0 || val[0] != '"' {
		return errors.New("not a JSON string")
	}
	s, err := strictjson.String(val)
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// decodeStrings decodes a JSON array of strings strictly
// (strictjson.Strings); null leaves dst as it is.
func decodeStrings(val []byte, dst *[]string) error {
	if string(val) == "null" {
		return nil
	}
	list, err := strictjson.Strings(val)
	if err != nil {
		return err
	}
	*dst = list
	return nil
}

// str decodes a string claim: as decodeString does, except that when the
// payload is the verifier's own buffer (p.own), a string without escapes
// is a view of it rather than a copy, so that the claims of a token cost
// one allocation, the buffer, and not one each. val has been validated by
// strictjson.Object (UTF-8, no lone surrogate, no raw control character).
func (p *Payload) str(val []byte, dst *string) error {
	if p.own && len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' && bytes.IndexByte(val, '\\') < 0 {
		*dst = stringOf(val[1 : len(val)-1])
		return nil
	}
	return decodeString(val, dst)
}

// strs decodes a string-array claim into buf's storage (an array of the
// Payload's own, so that a short list allocates nothing), with views of
// the verifier's buffer as str makes them; null leaves dst as it is.
func (p *Payload) strs(val []byte, dst *[]string, buf []string) error {
	if string(val) == "null" {
		return nil
	}
	var view func([]byte) string
	if p.own {
		view = stringOf
	}
	list, err := strictjson.AppendStrings(buf, val, view)
	if err != nil {
		return err
	}
	*dst = list
	return nil
}

// audience decodes aud, a string or an array of strings, as
// Audience.UnmarshalJSON does, into the Payload's own storage.
func (p *Payload) audience(val []byte) error {
	switch {
	case len(val) > 0 && val[0] == '"':
		if err := p.str(val, &p.audBuf[0]); err != nil {
			return fmt.Errorf("aud: %w", err)
		}
		p.Audience = p.audBuf[:1]
	case len(val) > 0 && val[0] == '[':
		var list []string
		if err := p.strs(val, &list, p.audBuf[:0]); err != nil {
			return fmt.Errorf("aud: %w", err)
		}
		p.Audience = list
	default:
		return errors.New("aud is neither a string nor an array")
	}
	return nil
}

// confirmation decodes cnf: an object whose jkt member, when it has one,
// is a non-empty string (the thumbprint, 43 base64url characters for
// SHA-256, compared later as it is). null is refused, as for sid: a token
// whose binding reads as absent would be taken as a bearer token. A
// member other than jkt (in any letter case but jkt's own), or none,
// marks the claim Unchecked; jkt twice is an error.
func (p *Payload) confirmation(val []byte) error {
	if len(val) == 0 || val[0] != '{' {
		return errors.New("cnf is not a JSON object")
	}
	c := Confirmation{}
	seen := false
	err := strictjson.Object(val, func(name, value []byte) error {
		if string(name) != "jkt" {
			c.Unchecked = true
			return nil
		}
		if seen {
			return errors.New("jkt appears twice")
		}
		seen = true
		if err := p.str(value, &c.JKT); err != nil {
			return fmt.Errorf("jkt: %w", err)
		}
		if c.JKT == "" {
			return errors.New("jkt is empty or null")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !seen {
		c.Unchecked = true
	}
	p.Confirmation = c
	return nil
}

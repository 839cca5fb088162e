package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// UnmarshalJSON decodes a claims set. Unlike encoding/json's decoding into a
// struct, it matches claim names exactly (RFC 7519 §4: names are case
// sensitive, so "EXP" is not exp) once their JSON escapes are undone (so
// "\u0065xp" is exp, as for every other JSON parser), refuses a claim of this struct that
// appears twice (§4: a parser must refuse or take the last; we refuse),
// refuses strings that are not UTF-8 (RFC 8725 §3.7) instead of replacing
// bytes, and uses no reflection. Claims it does not know are skipped. A JSON
// null leaves a string or array claim absent, as encoding/json would; the
// time claims, aud and id refuse it.
//
// It expects what encoding/json hands an Unmarshaler, a syntactically valid
// JSON value, but is safe on any input: it returns an error, never panics.
func (p *Payload) UnmarshalJSON(b []byte) error {
	d := decoder{b: b}
	d.ws()
	if !d.eat('{') {
		return errors.New("payload is not a JSON object")
	}
	var seen uint16
	for first := true; ; first = false {
		d.ws()
		if d.eat('}') {
			if !first && d.prevComma {
				return d.syntax()
			}
			break
		}
		if !first && !d.prevComma {
			return d.syntax()
		}
		keyStart := d.i
		key, ok := d.stringSpan()
		if !ok {
			return d.syntax()
		}
		d.ws()
		if !d.eat(':') {
			return d.syntax()
		}
		d.ws()
		start := d.i
		if !d.skipValue(0) {
			return d.syntax()
		}
		val := b[start:d.i]
		// Match the name with its escapes undone, as encoding/json and
		// other JWT libraries do: "\u0065xp" is exp, so it must be checked
		// and counted as exp. Names without a backslash, the usual case,
		// are matched in place.
		name := key[1 : len(key)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(key, &s); err != nil {
				return fmt.Errorf("JSON syntax error in the claim name at byte %d: %w", keyStart, err)
			}
			name = []byte(s)
		}
		bit, err := p.set(name, val)
		if err != nil {
			return err
		}
		if seen&bit != 0 {
			return fmt.Errorf("claim %q appears twice", name)
		}
		seen |= bit
		d.ws()
		d.prevComma = d.eat(',')
	}
	d.ws()
	if d.i != len(b) {
		return d.syntax()
	}
	return nil
}

// set decodes val into the field for the claim name (unquoted, escapes
// undone) and returns the field's bit, or 0 for a claim this struct does not
// hold.
func (p *Payload) set(name, val []byte) (uint16, error) {
	var err error
	var bit uint16
	switch string(name) { // compiled without allocating
	case "iss":
		bit, err = 1<<0, decodeString(val, &p.Issuer)
	case "sub":
		bit, err = 1<<1, decodeString(val, &p.Subject)
	case "aud":
		bit, err = 1<<2, p.Audience.UnmarshalJSON(val)
	case "exp":
		bit, err = 1<<3, p.ExpiresAt.UnmarshalJSON(val)
	case "nbf":
		bit, err = 1<<4, p.NotBefore.UnmarshalJSON(val)
	case "iat":
		bit, err = 1<<5, p.IssuedAt.UnmarshalJSON(val)
	case "jti":
		bit, err = 1<<6, decodeString(val, &p.ID)
	case "username":
		bit, err = 1<<7, decodeString(val, &p.Username)
	case "roles":
		bit, err = 1<<8, decodeStrings(val, &p.Roles)
	case "scope":
		bit, err = 1<<9, decodeString(val, &p.Scope)
	case "role":
		bit, err = 1<<10, decodeString(val, &p.Role)
	case "id":
		bit, err = 1<<11, p.LegacyID.UnmarshalJSON(val)
	default:
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("claim %q: %w", name, err)
	}
	return bit, nil
}

// decodeString decodes a JSON string; null leaves dst as it is, as
// encoding/json does. A string without escapes, the usual case, is copied as
// it is; one with escapes goes through encoding/json.
func decodeString(val []byte, dst *string) error {
	if string(val) == "null" {
		return nil
	}
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return errors.New("not a JSON string")
	}
	body := val[1 : len(val)-1]
	plain := true
	for _, c := range body {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if !utf8.Valid(body) {
		return errors.New("string is not UTF-8")
	}
	if plain {
		*dst = string(body)
		return nil
	}
	return json.Unmarshal(val, dst)
}

// decodeStrings decodes a JSON array of strings; null leaves dst as it is.
func decodeStrings(val []byte, dst *[]string) error {
	if string(val) == "null" {
		return nil
	}
	d := decoder{b: val}
	if !d.eat('[') {
		return errors.New("not a JSON array")
	}
	out := []string{}
	for first := true; ; first = false {
		d.ws()
		if d.eat(']') {
			if !first && d.prevComma {
				return d.syntax()
			}
			break
		}
		if !first && !d.prevComma {
			return d.syntax()
		}
		start := d.i
		if _, ok := d.stringSpan(); !ok {
			return errors.New("array element is not a string")
		}
		out = append(out, "") // decoded in place: no string escapes per element
		if err := decodeString(val[start:d.i], &out[len(out)-1]); err != nil {
			return err
		}
		d.ws()
		d.prevComma = d.eat(',')
	}
	if d.ws(); d.i != len(val) {
		return d.syntax()
	}
	*dst = out
	return nil
}

// decoder walks JSON text. It checks enough syntax to find where each value
// ends; the values of claims it keeps are then decoded strictly.
type decoder struct {
	b         []byte
	i         int
	prevComma bool
}

func (d *decoder) syntax() error { return fmt.Errorf("JSON syntax error at byte %d", d.i) }

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// stringSpan reads a JSON string and returns it with its quotes.
func (d *decoder) stringSpan() ([]byte, bool) {
	start := d.i
	if !d.eat('"') {
		return nil, false
	}
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return d.b[start:d.i], true
		case c == '\\':
			d.i += 2
		case c < 0x20:
			return nil, false
		default:
			d.i++
		}
	}
	return nil, false
}

// maxDepth bounds nesting in skipped values; encoding/json allows 10000.
const maxDepth = 10000

// skipValue moves past one JSON value.
func (d *decoder) skipValue(depth int) bool {
	if d.i >= len(d.b) || depth > maxDepth {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, ok := d.stringSpan()
		return ok
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		d.i++
		for first := true; ; first = false {
			d.ws()
			if d.eat(closing) {
				return first || !d.prevComma
			}
			if !first && !d.prevComma {
				return false
			}
			if c == '{' {
				if _, ok := d.stringSpan(); !ok {
					return false
				}
				d.ws()
				if !d.eat(':') {
					return false
				}
				d.ws()
			}
			if !d.skipValue(depth + 1) {
				return false
			}
			d.ws()
			d.prevComma = d.eat(',')
		}
	default:
		// A number, true, false or null: up to the next delimiter.
		start := d.i
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return d.i > start
			}
			d.i++
		}
		return d.i > start
	}
}

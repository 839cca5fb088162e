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
// "\u0065xp" is exp, as for every other JSON parser), refuses a claim of
// this struct that appears twice (§4: a parser must refuse or take the
// last; we refuse),
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
	var (
		seen uint16
		err  error
	)
	ok := d.list('}', func() bool {
		keyStart := d.i
		key, ok := d.member()
		if !ok {
			return false
		}
		start := d.i
		if !d.skipValue(0) {
			return false
		}
		val := b[start:d.i]
		// Match the name with its escapes undone, as encoding/json and
		// other JWT libraries do: "\u0065xp" is exp, so it must be checked
		// and counted as exp. Names without a backslash, the usual case,
		// are matched in place.
		name := key[1 : len(key)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err = json.Unmarshal(key, &s); err != nil {
				err = fmt.Errorf("JSON syntax error in the claim name at byte %d: %w", keyStart, err)
				return false
			}
			name = []byte(s)
		}
		var bit uint16
		if bit, err = p.set(name, val); err != nil {
			return false
		}
		if seen&bit != 0 {
			err = fmt.Errorf("claim %q appears twice", name)
			return false
		}
		seen |= bit
		return true
	})
	if err != nil {
		return err
	}
	if !ok {
		return d.syntax()
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
	var err error
	ok := d.list(']', func() bool {
		start := d.i
		if _, ok := d.stringSpan(); !ok {
			err = errors.New("array element is not a string")
			return false
		}
		out = append(out, "") // decoded in place: no string escapes per element
		err = decodeString(val[start:d.i], &out[len(out)-1])
		return err == nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return d.syntax()
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
	b []byte
	i int
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

// list reads the elements of an object or array whose opening bracket has
// been read, through closing: elements separated by commas, with optional
// white space, no trailing comma. elem reads one element. It reports false
// on a syntax error or when elem does.
func (d *decoder) list(closing byte, elem func() bool) bool {
	d.ws()
	if d.eat(closing) {
		return true
	}
	for {
		if !elem() {
			return false
		}
		d.ws()
		if d.eat(closing) {
			return true
		}
		if !d.eat(',') {
			return false
		}
		d.ws()
	}
}

// member reads an object member's name and colon, with the white space
// around them, and returns the name with its quotes.
func (d *decoder) member() ([]byte, bool) {
	key, ok := d.stringSpan()
	if !ok {
		return nil, false
	}
	d.ws()
	if !d.eat(':') {
		return nil, false
	}
	d.ws()
	return key, true
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
		return d.list(closing, func() bool {
			if c == '{' {
				if _, ok := d.member(); !ok {
					return false
				}
			}
			return d.skipValue(depth + 1)
		})
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

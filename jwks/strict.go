package jwks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The strict reading of a JWKS document.
//
// encoding/json, which reads the document into jwkset's types, matches a
// member name to a field without regard to letter case (Unicode simple
// folding: "D", and even "\u212a" for "k", are read as d and k) and lets
// the last of several members of one name win. So {"d":"…","D":""}
// reads as a JWK without d, a key whose private part is published passes
// for a public one, and {"keys":[…],"keys":[…]} gives this package one set
// and a consumer that keeps the first member another. checkDocument
// refuses such documents before anything reads them.
//
// It walks the document with encoding/json's Decoder.Token, which reports
// each member name as written (escapes decoded) and checks the syntax;
// the standard library has nothing stricter without a GOEXPERIMENT
// (encoding/json/jsontext and v2 are built only with
// GOEXPERIMENT=jsonv2 in Go 1.25 and 1.26).

// jwkSetMembers are the member names of a JWK Set that RFC 7517 §5
// registers.
var jwkSetMembers = foldedNames("keys")

// jwkMembers are the member names of a JWK: those of RFC 7517 §4, RFC
// 7518 §6 (EC, RSA and oct keys) and RFC 8037 (OKP keys), which are all
// of jwkset's fields, and the ones registered or proposed since (ext from
// Web Cryptography; iat, nbf, exp, revoked; pub and priv for ML-DSA
// keys). A name too many here only refuses its case variants.
var jwkMembers = foldedNames(
	"kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t", "x5t#S256",
	"crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi", "oth", "k",
	"ext", "iat", "nbf", "exp", "revoked", "pub", "priv",
)

// othMembers are the member names of an entry of an RSA key's oth array
// (RFC 7518 §6.3.2.7).
var othMembers = foldedNames("r", "d", "t")

// foldedNames maps each name's case-folded form to the name.
func foldedNames(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[foldName(n)] = n
	}
	return m
}

// foldName is name with each rune replaced by the least rune of its
// Unicode simple case-folding orbit, so that foldName(a) == foldName(b)
// exactly when strings.EqualFold(a, b): the equivalence under which
// encoding/json matches member names to fields.
func foldName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		for {
			f := unicode.SimpleFold(r)
			if f <= r {
				r = f
				break
			}
			r = f
		}
		b.WriteRune(r)
	}
	return b.String()
}

// errStrict wraps the reasons checkDocument refuses a document that is
// JSON but not read strictly the same way by every JWKS consumer.
var errStrict = errors.New("the JWK Set is refused as a whole")

// notJWKSet prefixes the reasons a document is not a JWK Set at all.
const notJWKSet = "the document is not a JWK Set: "

// checkDocument returns why doc is not a JWK Set read strictly, or nil:
//
//   - doc is one JSON value (RFC 8259), in UTF-8, with nothing after it,
//     and no string in it has a lone surrogate escape such as "\ud800"
//     (encoding/json would make it U+FFFD);
//   - it is an object whose keys member is an array of objects, the JWKs;
//   - no object in it, at any depth, has two members whose names are equal
//     or differ only in letter case;
//   - no member of the document differs only in letter case from keys, no
//     member of a JWK from a registered JWK member (jwkMembers), and no
//     member of an entry of a JWK's oth array from r, d or t. Other names
//     ("x-custom") are left alone.
//
// A document it refuses is refused whole, like one that is not JSON: a
// fetch that gets it fails, and the last good set stays.
func checkDocument(doc []byte) error {
	if !utf8.Valid(doc) {
		return errors.New(notJWKSet + "it is not UTF-8")
	}
	if at := loneSurrogate(doc); at >= 0 {
		return fmt.Errorf(notJWKSet+"a string has a lone surrogate escape (at byte %d)", at)
	}
	c := checker{dec: json.NewDecoder(bytes.NewReader(doc))}
	c.dec.UseNumber() // numbers are not converted, so none is out of range
	tok, err := c.next()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return errors.New(notJWKSet + "it is not a JSON object")
	}
	hasKeys := false
	err = c.object("the document", jwkSetMembers, func(name string) error {
		if name != "keys" {
			return c.value("the document")
		}
		hasKeys = true
		return c.keys()
	})
	if err != nil {
		return err
	}
	if !hasKeys {
		return errors.New(notJWKSet + `it has no "keys" array`)
	}
	if _, err := c.dec.Token(); err != io.EOF {
		return errors.New(notJWKSet + "text follows it")
	}
	return nil
}

// maxDepth bounds the nesting of arrays and objects in a document, as
// encoding/json bounds it (a JWK Set nests five deep at most: the set, its
// keys, a JWK, its oth, an entry). The walk recurses once per level.
const maxDepth = 10000

// checker walks a document token by token.
type checker struct {
	dec   *json.Decoder
	depth int // arrays and objects open
}

// push records an array or object opened, refusing one too deep.
func (c *checker) push() error {
	c.depth++
	if c.depth > maxDepth {
		return fmt.Errorf(notJWKSet+"it nests deeper than %d", maxDepth)
	}
	return nil
}

// pop records an array or object closed.
func (c *checker) pop() { c.depth-- }

// next is the next token; the end of the text is an error, as it comes
// before the value is complete.
func (c *checker) next() (json.Token, error) {
	tok, err := c.dec.Token()
	switch {
	case err == io.EOF:
		return nil, errors.New(notJWKSet + "it is not JSON: it ends early")
	case err != nil:
		return nil, fmt.Errorf(notJWKSet+"it is not JSON: %w", err)
	}
	return tok, nil
}

// object reads the members of an object whose '{' has been read, through
// its '}'. Each member name is checked against those before it and, when
// registered is not nil, against the registered names, then member reads
// the member's value. where names the object in errors.
func (c *checker) object(where string, registered map[string]string, member func(name string) error) error {
	if err := c.push(); err != nil {
		return err
	}
	defer c.pop()
	seen := map[string]string{} // folded name → name as written
	for {
		tok, err := c.next()
		if err != nil {
			return err
		}
		if tok == json.Delim('}') {
			return nil
		}
		name, ok := tok.(string)
		if !ok { // not expected: Decoder.Token gives a string where a name goes
			return errors.New(notJWKSet + "it is not JSON: a member name is not a string")
		}
		f := foldName(name)
		if prev, dup := seen[f]; dup {
			if prev == name {
				return fmt.Errorf("%w: %s has two members named %s", errStrict, where, quoteName(name))
			}
			return fmt.Errorf("%w: %s has members %s and %s, which differ only in letter case", errStrict, where, quoteName(prev), quoteName(name))
		}
		seen[f] = name
		if reg, ok := registered[f]; ok && reg != name {
			return fmt.Errorf("%w: %s has a member %s, the registered member %s in other letter case", errStrict, where, quoteName(name), reg)
		}
		if err := member(name); err != nil {
			return err
		}
	}
}

// value reads one value anywhere inside where, checking the objects in it.
func (c *checker) value(where string) error {
	tok, err := c.next()
	if err != nil {
		return err
	}
	return c.rest(tok, where)
}

// rest reads the value that begins with tok, which has been read.
func (c *checker) rest(tok json.Token, where string) error {
	switch tok {
	case json.Delim('{'):
		return c.object("an object in "+where, nil, func(string) error { return c.value(where) })
	case json.Delim('['):
		if err := c.push(); err != nil {
			return err
		}
		defer c.pop()
		for {
			tok, err := c.next()
			if err != nil {
				return err
			}
			if tok == json.Delim(']') {
				return nil
			}
			if err := c.rest(tok, where); err != nil {
				return err
			}
		}
	}
	return nil // a string, number, true, false or null
}

// keys reads the value of the document's keys member: an array of JWKs.
func (c *checker) keys() error {
	tok, err := c.next()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return fmt.Errorf(notJWKSet+`it has no "keys" array (keys is %s)`, kind(tok))
	}
	if err := c.push(); err != nil {
		return err
	}
	defer c.pop()
	for i := 0; ; i++ {
		tok, err := c.next()
		if err != nil {
			return err
		}
		if tok == json.Delim(']') {
			return nil
		}
		if tok != json.Delim('{') {
			return fmt.Errorf(notJWKSet+"keys[%d] is %s, not a JWK object", i, kind(tok))
		}
		where := fmt.Sprintf("keys[%d]", i)
		err = c.object(where, jwkMembers, func(name string) error {
			if name == "oth" {
				return c.oth(where + ".oth")
			}
			return c.value(where)
		})
		if err != nil {
			return err
		}
	}
}

// oth reads the value of a JWK's oth member; the objects of an array are
// its entries, whose members r, d and t are checked as a JWK's are. A
// value of another type is read as any other (jwkset refuses it later).
func (c *checker) oth(where string) error {
	tok, err := c.next()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return c.rest(tok, where)
	}
	if err := c.push(); err != nil {
		return err
	}
	defer c.pop()
	for i := 0; ; i++ {
		tok, err := c.next()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim(']'):
			return nil
		case json.Delim('{'):
			entry := fmt.Sprintf("%s[%d]", where, i)
			if err := c.object(entry, othMembers, func(string) error { return c.value(entry) }); err != nil {
				return err
			}
		default:
			if err := c.rest(tok, where); err != nil {
				return err
			}
		}
	}
}

// kind names the type of the value that begins with tok, for errors.
func kind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('{') {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// maxQuotedName bounds a member name quoted in an error, which the
// document's size alone would bound.
const maxQuotedName = 64

// quoteName is name quoted for an error or a log line, cut when long.
func quoteName(name string) string {
	if len(name) > maxQuotedName {
		return fmt.Sprintf("%q…", name[:maxQuotedName])
	}
	return fmt.Sprintf("%q", name)
}

// loneSurrogate returns the offset of the first \u escape in doc that is
// a UTF-16 surrogate not part of a pair, or -1. In JSON text a backslash
// only ever begins an escape inside a string, so the bytes are scanned
// without parsing; a text that is not JSON is refused by the walk anyway.
func loneSurrogate(doc []byte) int {
	for i := 0; i < len(doc); i++ {
		if doc[i] != '\\' {
			continue
		}
		if i+1 < len(doc) && doc[i+1] != 'u' {
			i++ // a one-character escape, such as \\ or \"
			continue
		}
		r, ok := hex4(doc, i+2)
		if !ok {
			continue // not a \u escape: the walk refuses it
		}
		switch {
		case 0xD800 <= r && r < 0xDC00:
			if i+11 < len(doc) && doc[i+6] == '\\' && doc[i+7] == 'u' {
				if lo, ok := hex4(doc, i+8); ok && 0xDC00 <= lo && lo < 0xE000 {
					i += 11
					continue
				}
			}
			return i
		case 0xDC00 <= r && r < 0xE000:
			return i
		}
		i += 5
	}
	return -1
}

// hex4 is the value of the four hexadecimal digits at doc[i:].
func hex4(doc []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(doc) {
		return 0, false
	}
	var r rune
	for _, c := range doc[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

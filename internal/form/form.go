// Package form decodes application/x-www-form-urlencoded request bodies
// (the RFC 6749 §6 refresh request, an HTML login form) strictly enough
// that no other reading of the same body finds another value.
//
// It is written here rather than taken from net/url because url.ParseQuery
// keeps every value of a repeated name (r.PostFormValue takes the first, a
// proxy may take the last), skips pairs whose escapes it cannot decode
// while returning an error a caller may ignore, and matches names only
// exactly, while some frameworks fold them; each of those is a way for two
// readers of one body to disagree about which token or username it holds.
package form

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// A Field is one name the caller reads.
type Field struct {
	Name string  // matched exactly once decoded; ASCII
	Dst  *string // the decoded value; left alone when the field is absent
}

// Errors of Decode, each wrapped with the detail.
var (
	// ErrMalformed: a malformed escape, a ';', invalid UTF-8 or a control
	// character in a name or value.
	ErrMalformed = errors.New("form: malformed body")
	// ErrRepeated: a name given twice.
	ErrRepeated = errors.New("form: a parameter appears twice")
	// ErrCase: a name that is one of the fields' in another letter case.
	ErrCase = errors.New("form: a parameter name differs from a known one in letter case only")
)

// Decode reads body, an application/x-www-form-urlencoded body, and sets
// each field present with a non-empty value. It is strict where readers
// differ:
//
//   - pairs are separated by '&'; an empty pair is skipped (as url.ParseQuery
//     and the WHATWG URL standard skip it); a ';' anywhere is refused, since
//     older parsers and some proxies split at it;
//   - a pair without '=' is a name with an empty value;
//   - names and values are percent-decoded with '+' as a space; a malformed
//     escape anywhere is refused, in a name that is not a field too (its name
//     cannot be known);
//   - decoded names and values must be valid UTF-8 without control
//     characters (C0 or DEL);
//   - any name given twice, a field's or not, is refused;
//   - a name equal to a field's as strings.EqualFold compares them but not
//     exactly is refused, so that a reader that folds names does not find
//     a second value;
//   - a field with an empty value is absent (RFC 6749 §3.2: "parameters
//     sent without a value MUST be treated as if they were omitted"); other
//     names are ignored (§3.2 again), once checked as above.
//
// On a body that Decode accepts, url.ParseQuery returns no error and the
// same value for each field present (FuzzDecode checks this).
func Decode(body []byte, fields ...Field) error {
	s := string(body)
	if strings.IndexByte(s, ';') >= 0 {
		return fmt.Errorf("%w: a ';' in the body", ErrMalformed)
	}
	seen := make(map[string]struct{}, 8)
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := unescape(rawName)
		if err != nil {
			return fmt.Errorf("%w: a parameter name: %w", ErrMalformed, err)
		}
		value, err := unescape(rawValue)
		if err != nil {
			// The name is client text: its length only.
			return fmt.Errorf("%w: the value of a parameter of %d bytes: %w", ErrMalformed, len(name), err)
		}
		if _, dup := seen[name]; dup {
			return fmt.Errorf("%w: a parameter of %d bytes", ErrRepeated, len(name))
		}
		seen[name] = struct{}{}
		for _, f := range fields {
			switch {
			case name == f.Name:
				if value != "" {
					*f.Dst = value
				}
			case strings.EqualFold(name, f.Name):
				return fmt.Errorf("%w: %q", ErrCase, f.Name)
			}
		}
	}
	return nil
}

// unescape percent-decodes s with '+' as a space and checks the result.
func unescape(s string) (string, error) {
	v := s
	if strings.ContainsAny(s, "%+") {
		var err error
		if v, err = url.QueryUnescape(s); err != nil {
			return "", errors.New("a malformed escape")
		}
	}
	if !utf8.ValidString(v) {
		return "", errors.New("invalid UTF-8")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("a control character at byte %d", i)
		}
	}
	return v, nil
}

package strictjson

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/jwtguard/jwtguard/internal/fold"
)

// Unmarshal decodes the JSON value b into v with encoding/json, after
// checking b so that encoding/json's leniencies cannot change what v
// receives:
//
//   - b is valid as Valid defines it: strings anywhere in it are UTF-8 and
//     have no lone surrogate escapes, which encoding/json would replace
//     with U+FFFD;
//   - no object, at any depth, has two members whose names are equal, or
//     equal under Unicode case folding (strings.EqualFold), so no repeated
//     name can override another ("last one wins");
//   - member names match struct fields exactly: a member whose name is not
//     a field's JSON name but equals one under case folding ("TENANT_ID"
//     for tenant_id) is refused, where encoding/json would fill the field.
//     This holds at every depth that encoding/json decodes through structs,
//     maps, slices, arrays and pointers, and through the values already in
//     v that encoding/json decodes into: an interface that holds a non-nil
//     pointer (encoding/json fills the value it points to, a struct's
//     fields matched by case) and the elements a slice (up to its
//     capacity) or array has. Below a type with its own UnmarshalJSON or
//     UnmarshalText, or in an interface that is nil or holds no non-nil
//     pointer (encoding/json gives it a fresh value: maps with exact keys),
//     there are no fields to match.
//   - v does not hold more than 64 pointers and interfaces in a row (a
//     cycle of interfaces, on which encoding/json would loop).
//
// It uses reflection and is not meant for hot paths.
func Unmarshal(b []byte, v any) error {
	s := scanner{b: b, names: true}
	s.ws()
	if !s.value(0) || !s.end() {
		return s.err
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		if err := matchFields(b, rv, rv.Type()); err != nil {
			return err
		}
	}
	return json.Unmarshal(b, v)
}

// checkName refuses name when keys (the names of one object so far, by
// their case-folded form) holds it or a case variant of it.
func checkName(s *scanner, keys map[string]string, name []byte) bool {
	k := foldKey(name)
	if prev, ok := keys[k]; ok {
		if prev == string(name) {
			return s.failf("member %q appears twice", name)
		}
		return s.failf("members %q and %q differ only in letter case", prev, name)
	}
	keys[k] = string(name)
	return true
}

// foldKey maps name to a key that two names share exactly when
// strings.EqualFold reports them equal (fold.Key).
func foldKey(name []byte) string { return fold.Key(string(name)) }

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// maxIndirections bounds the pointers and interfaces follow goes through
// between two JSON values (encoding/json has no bound: a cycle of
// interfaces makes it loop).
const maxIndirections = 64

// matchFields walks b (valid, checked by the caller) beside what
// encoding/json will decode it into, and refuses a member name that
// matches a struct field only under case folding. v is the value decoded
// into, when there is one, and t its type; without a value (below a nil
// pointer, in a map element, which encoding/json makes fresh) the type
// alone decides. It recurses as deep as b nests.
func matchFields(b []byte, v reflect.Value, t reflect.Type) error {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	v, t, ok, err := follow(v, t)
	if err != nil || !ok {
		return err
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	switch {
	case t.Kind() == reflect.Struct && b[0] == '{':
		fields := map[string][]field{}
		jsonFields(t, nil, fields, map[reflect.Type]bool{})
		return Object(b, func(name, value []byte) error {
			fs, ok := fields[string(name)]
			if !ok {
				for f := range fields {
					if strings.EqualFold(f, string(name)) {
						return fmt.Errorf("member %q matches field %q only in another letter case", name, f)
					}
				}
				return nil
			}
			for _, f := range fs {
				if err := matchFields(value, fieldValue(v, f.index), f.typ); err != nil {
					return err
				}
			}
			return nil
		})
	case t.Kind() == reflect.Map && b[0] == '{':
		// encoding/json decodes each member into a fresh element.
		return Object(b, func(_, value []byte) error { return matchFields(value, reflect.Value{}, t.Elem()) })
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && b[0] == '[':
		// encoding/json decodes into the elements already there: those of
		// an array, and those of a slice up to its capacity (it extends
		// the length over them before it grows the slice).
		var elems reflect.Value
		switch {
		case v.IsValid() && t.Kind() == reflect.Slice:
			elems = v.Slice3(0, v.Cap(), v.Cap())
		case v.IsValid():
			elems = v
		}
		s := scanner{b: b}
		i := 0
		var err error
		s.array(func() bool {
			start := s.i
			if !s.value(1) {
				return false
			}
			var ev reflect.Value
			if elems.IsValid() && i < elems.Len() {
				ev = elems.Index(i)
			}
			i++
			err = matchFields(b[start:s.i], ev, t.Elem())
			return err == nil
		})
		return err
	}
	return nil
}

// follow goes from v, of type t, to what encoding/json decodes a non-null
// JSON value into, as its indirect does: through pointers (below a nil
// one, which encoding/json fills with a new value, only the type is
// known) and through a non-nil interface value that holds a non-nil
// pointer, into whose element encoding/json decodes (the struct behind it
// has fields to match). ok is false for an interface that encoding/json
// fills with a fresh value instead (an empty one gets maps with exact
// keys; another one is an encoding/json error): there are no fields.
func follow(v reflect.Value, t reflect.Type) (_ reflect.Value, _ reflect.Type, ok bool, _ error) {
	for range maxIndirections {
		switch t.Kind() {
		case reflect.Interface:
			if !v.IsValid() || v.IsNil() {
				return v, t, false, nil
			}
			e := v.Elem()
			if e.Kind() != reflect.Pointer || e.IsNil() {
				return v, t, false, nil
			}
			v, t = e, e.Type()
		case reflect.Pointer:
			if !v.IsValid() || v.IsNil() {
				v = reflect.Value{}
			} else {
				// An interface that holds its own address: encoding/json
				// decodes into the interface, as a fresh value.
				if el := v.Elem(); el.Kind() == reflect.Interface && el.Elem().Equal(v) {
					return v, t, false, nil
				}
				v = v.Elem()
			}
			t = t.Elem()
		default:
			return v, t, true, nil
		}
	}
	return v, t, false, fmt.Errorf("more than %d pointers and interfaces in a row in the value decoded into", maxIndirections)
}

// field is a struct field as encoding/json finds it: its type, and its
// index path from the outer struct through embedded structs.
type field struct {
	typ   reflect.Type
	index []int
}

// fieldValue returns the field of struct value v at index, through
// embedded pointers; no value (the zero Value) when v is none or an
// embedded pointer on the way is nil (encoding/json would fill it with a
// new value).
func fieldValue(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if !v.IsValid() {
			return v
		}
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// jsonFields adds the JSON names of struct t's fields to fields, with the
// type and index path (below prefix) of each field so named, as
// encoding/json finds them: exported fields, named by their tag or else by
// the field name, "-" skipped, and the fields of untagged embedded structs
// promoted. It keeps every field of a name (encoding/json keeps one, or
// none when they conflict), so that a check over them covers the one
// encoding/json picks.
func jsonFields(t reflect.Type, prefix []int, fields map[string][]field, visited map[reflect.Type]bool) {
	if visited[t] {
		return
	}
	visited[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous {
			if !f.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if !validTag(name) {
			name = ""
		}
		index := append(slices.Clip(prefix), i)
		if name == "" && f.Anonymous && ft.Kind() == reflect.Struct {
			jsonFields(ft, index, fields, visited)
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = append(fields[name], field{typ: f.Type, index: index})
	}
}

// validTag is encoding/json's isValidTag: a tag name it would not use
// leaves the field named by its Go name.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

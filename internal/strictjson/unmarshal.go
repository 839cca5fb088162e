package strictjson

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
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
//     maps, slices, arrays and pointers. Below a type with its own
//     UnmarshalJSON or UnmarshalText, or in an interface value (which gets
//     maps with exact keys), there are no fields to match.
//
// It uses reflection and is not meant for hot paths.
func Unmarshal(b []byte, v any) error {
	s := scanner{b: b, names: true}
	s.ws()
	if !s.value(0) || !s.end() {
		return s.err
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		if err := matchFields(b, rv.Type().Elem()); err != nil {
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
// strings.EqualFold reports them equal: each rune is replaced by the
// smallest rune of its simple case-folding orbit, the relation EqualFold
// tests. name is valid UTF-8.
func foldKey(name []byte) string {
	out := make([]byte, 0, len(name))
	for _, r := range string(name) {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		out = utf8.AppendRune(out, m)
	}
	return string(out)
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// matchFields walks b (valid, checked by the caller) beside the type t that
// encoding/json will decode it into, and refuses a member name that matches
// a struct field only under case folding. It recurses as deep as b nests.
func matchFields(b []byte, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	if len(b) == 0 {
		return nil
	}
	switch {
	case t.Kind() == reflect.Struct && b[0] == '{':
		fields := map[string][]reflect.Type{}
		jsonFields(t, fields, map[reflect.Type]bool{})
		return Object(b, func(name, value []byte) error {
			types, ok := fields[string(name)]
			if !ok {
				for f := range fields {
					if strings.EqualFold(f, string(name)) {
						return fmt.Errorf("member %q matches field %q only in another letter case", name, f)
					}
				}
				return nil
			}
			for _, ft := range types {
				if err := matchFields(value, ft); err != nil {
					return err
				}
			}
			return nil
		})
	case t.Kind() == reflect.Map && b[0] == '{':
		return Object(b, func(_, value []byte) error { return matchFields(value, t.Elem()) })
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && b[0] == '[':
		s := scanner{b: b}
		var err error
		s.array(func() bool {
			start := s.i
			if !s.value(1) {
				return false
			}
			err = matchFields(b[start:s.i], t.Elem())
			return err == nil
		})
		return err
	}
	return nil
}

// jsonFields adds the JSON names of struct t's fields to fields, with the
// type of each field so named, as encoding/json finds them: exported
// fields, named by their tag or else by the field name, "-" skipped, and
// the fields of untagged embedded structs promoted. It keeps every field of
// a name (encoding/json keeps one, or none when they conflict), so that a
// check over them covers the one encoding/json picks.
func jsonFields(t reflect.Type, fields map[string][]reflect.Type, visited map[reflect.Type]bool) {
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
		if name == "" && f.Anonymous && ft.Kind() == reflect.Struct {
			jsonFields(ft, fields, visited)
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = append(fields[name], f.Type)
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

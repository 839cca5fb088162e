package jwtguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeLogin feeds arbitrary bodies and content types to the login
// decoder: it never panics, refuses with one of the request sentinels, and
// only accepts a body that names a non-empty username and password, once
// each, exactly as encoding/json reads them.
func FuzzDecodeLogin(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"username":"alice","password":"password123"}`},
		{"application/json; charset=utf-8", `{"username":"a","password":"b"}`},
		{"application/json", `{"username":{"$ne":null},"password":{"$ne":null}}`},
		{"application/json", `{"username":"a","password":"b"}{}`},
		{"application/json", `{"username":"a","password":"b","x":1}`},
		{"application/json", `{"username":"\u0000","password":"\ud800"}`},
		{"application/json", `{"username":"a","username":"b","password":"c"}`},
		{"application/json", `{"username":"a","password":"b","password":"c"}`},
		{"application/json", `{"USERNAME":"a","password":"b"}`},
		{"application/json", `{"Username":"a","username":"b","password":"c"}`},
		{"application/json", `{"\u0075sername":"a","password":"b"}`},
		{"application/json", `{"username":"a","\u0075sername":"b","password":"c"}`},
		{"application/json", `{"username":"a\ud83d\ude00","password":"\"\\\/\b\f\n\r\t"}`},
		{"application/json", `{"username":"a","password":"\udc00"}`},
		{"application/json", `{"username":"a","password":"\ud800\u0041"}`},
		{"application/json", "{\"username\":\"a\xff\",\"password\":\"b\"}"},
		{"application/json", "{\"username\":\"a\x01\",\"password\":\"b\"}"},
		{"application/json", "\xef\xbb\xbf{\"username\":\"a\",\"password\":\"b\"}"},
		{"application/json", "{\v\"username\":\"a\",\"password\":\"b\"}"},
		{"application/json", " \r\n\t{ \"username\" :\"a\" , \"password\":\"b\"}\n "},
		{"application/json", `{"username":"a","password":"b",}`},
		{"application/json", `[` + strings.Repeat("[", 500)},
		{"application/json", `{"username":"a","password":"` + strings.Repeat("x", 5000) + `"}`},
		{"text/plain", `{}`},
		{"application/json; charset=latin1", `{}`},
		{"", ``},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", contentType)
		req, err := decodeLogin(httptest.NewRecorder(), r, defaultMaxBodySize)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, errRequestTooLarge) && !errors.Is(err, errUnsupportedMediaType) {
				t.Fatalf("error %v wraps no request sentinel", err)
			}
			return
		}
		if req.Username == "" || req.Password == "" {
			t.Fatalf("accepted %q with an empty field", body)
		}
		if len(body) > defaultMaxBodySize {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		// What is accepted reads the same to encoding/json, and has no
		// second reading: no repeated member, no case variant, no text
		// that encoding/json would repair.
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted %q, which is not valid UTF-8 JSON", body)
		}
		var want struct{ Username, Password string }
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil || want.Username != req.Username || want.Password != req.Password {
			t.Fatalf("accepted %q as %q, %q; encoding/json reads %q, %q, %v", body, req.Username, req.Password, want.Username, want.Password, err)
		}
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) != nil || len(members) != 2 || members["username"] == nil || members["password"] == nil {
			t.Fatalf("accepted %q, whose members are not exactly username and password", body)
		}
		if strings.Count(string(body), ":") > 2 && !strings.Contains(req.Username+req.Password, ":") {
			t.Fatalf("accepted %q, which has more than two members", body)
		}
	})
}

// FuzzDecodeLoginForm feeds arbitrary bodies to the HTML form's login
// decoder: it never panics, refuses with ErrInvalidRequest, and what it
// accepts url.ParseQuery reads the same way: no error, each field once,
// the same values.
func FuzzDecodeLoginForm(f *testing.F) {
	for _, seed := range []string{
		"username=alice&password=password123",
		"username=alice&password=p%C3%A4ss&return=%2Fdashboard",
		"username=alice&username=mallory&password=x",
		"username=alice;password=x",
		"Username=alice&password=x",
		"username=al%00ice&password=x",
		"username=&password=x",
		"username=a+b&password=%zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/login?username=query", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req, err := decodeLoginForm(httptest.NewRecorder(), r, 4096)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("%q: %v, not an ErrInvalidRequest", body, err)
			}
			return
		}
		q, qerr := url.ParseQuery(body)
		if qerr != nil {
			t.Fatalf("%q accepted, ParseQuery refuses it: %v", body, qerr)
		}
		for name, vs := range q {
			if len(vs) != 1 {
				t.Fatalf("%q accepted, ParseQuery finds %q %d times", body, name, len(vs))
			}
		}
		if q.Get("username") != req.Username || q.Get("password") != req.Password || q.Get("return") != req.Return {
			t.Fatalf("%q: decoded %+v, ParseQuery %v", body, req, q)
		}
		if req.Username == "query" && !strings.Contains(body, "query") {
			t.Fatalf("%q: the username came from the query", body)
		}
	})
}

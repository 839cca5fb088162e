package jwtguard

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeLogin feeds arbitrary bodies and content types to the login
// decoder: it never panics, refuses with one of the request sentinels, and
// only accepts a body that names a non-empty username and password.
func FuzzDecodeLogin(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"username":"alice","password":"password123"}`},
		{"application/json; charset=utf-8", `{"username":"a","password":"b"}`},
		{"application/json", `{"username":{"$ne":null},"password":{"$ne":null}}`},
		{"application/json", `{"username":"a","password":"b"}{}`},
		{"application/json", `{"username":"a","password":"b","x":1}`},
		{"application/json", `{"username":"\u0000","password":"\ud800"}`},
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
		req, err := decodeLogin(httptest.NewRecorder(), r, DefaultMaxLoginBodySize)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrRequestTooLarge) && !errors.Is(err, ErrUnsupportedMediaType) {
				t.Fatalf("error %v wraps no request sentinel", err)
			}
			return
		}
		if req.Username == "" || req.Password == "" {
			t.Fatalf("accepted %q with an empty field", body)
		}
		if len(body) > DefaultMaxLoginBodySize {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
	})
}

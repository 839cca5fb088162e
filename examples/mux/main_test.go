package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func TestRoutes(t *testing.T) {
	key, err := jwtguard.HMACKey("HS256", []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := jwtguard.New(key)
	if err != nil {
		t.Fatal(err)
	}
	h := routes(auth)
	editor, err := auth.Issue(t.Context(), jwtguard.User{ID: "7", Roles: []string{"editor"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, token string
		want                      int
	}{
		{"open", "GET", "/articles/1", "", http.StatusOK},
		{"verify without token", "GET", "/me", "", http.StatusUnauthorized},
		{"verify with token", "GET", "/me", editor.AccessToken, http.StatusOK},
		{"require: editor may write", "POST", "/articles", editor.AccessToken, http.StatusOK},
		{"authorize: editor is not admin", "DELETE", "/articles/1", editor.AccessToken, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%s %s: status %d, want %d (body %q)", tc.method, tc.path, rec.Code, tc.want, rec.Body)
			}
			if tc.path == "/me" && tc.want == http.StatusOK && !strings.Contains(rec.Body.String(), "signed in as 7") {
				t.Errorf("/me: body %q, want the subject", rec.Body)
			}
		})
	}
}

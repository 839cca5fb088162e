package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// quickStart is the README's quick start, kept here so that it compiles.
// Keep the two in step.
func quickStart(mux *http.ServeMux, users jwtguard.UserStore) {
	auth, err := jwtguard.FromEnv() // JWT_SECRET: 32+ random bytes
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("POST /api/auth/login", auth.LoginHandler(users)) // users: any jwtguard.UserStore
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(profile)))
	mux.Handle("GET /api/admin-data", auth.Verify(auth.Authorize("admin")(http.HandlerFunc(adminData))))
}

func profile(w http.ResponseWriter, r *http.Request) {
	claims, _ := jwtguard.FromContext(r.Context()) // set by Verify
	fmt.Fprintf(w, "hello %s, roles %v\n", claims.Username, claims.Roles)
}

func adminData(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "admin data")
}

func TestQuickStart(t *testing.T) {
	t.Setenv("JWT_SECRET", testSecret)
	hash, err := jwtguard.HashPasswordWithCost("password123", 4)
	if err != nil {
		t.Fatal(err)
	}
	users, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "admin", PasswordHash: hash, Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	quickStart(mux, users)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"username":"admin","password":"password123"}`))
	req.Header.Set("Content-Type", "application/json")
	mux.ServeHTTP(rec, req)
	var tr jwtguard.TokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("login: %d %q", rec.Code, rec.Body)
	}
	for path, want := range map[string]string{
		"/api/user/profile": "hello admin, roles [admin]\n",
		"/api/admin-data":   "admin data\n",
	} {
		rec = httptest.NewRecorder()
		req = httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.String() != want {
			t.Errorf("%s: %d %q, want 200 %q", path, rec.Code, rec.Body, want)
		}
	}
}

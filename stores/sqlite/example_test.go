package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/stores/sqlite"
)

// A server whose users and sessions live in a database file: the Store
// is both the session store of the Auth and the user store of its
// handlers.
func Example() {
	dir, err := os.MkdirTemp("", "jwtguard-example") // a data directory
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "jwtguard.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	key, err := jwtguard.HMACKey("HS256", []byte("an-example-secret-of-32-bytes-or-more!"))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtguard.New(key, jwtguard.WithSessions(store))
	if err != nil {
		log.Fatal(err)
	}
	hash, _ := jwtguard.HashPassword("password123")
	if err := store.CreateUser(ctx, jwtguard.User{ID: "1", Username: "admin", PasswordHash: hash, Roles: []string{"admin"}}); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /api/auth/login", auth.LoginHandler(store))
	mux.Handle("POST /api/auth/refresh", auth.RefreshHandler(store))
	mux.Handle("POST /api/auth/register", auth.RegisterHandler(store))
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Username)
	})))

	login := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"username":"Admin","password":"password123"}`))
	login.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, login)
	var tr jwtguard.TokenResponse
	json.Unmarshal(rec.Body.Bytes(), &tr)
	fmt.Println("login:", rec.Code, "refresh token:", tr.RefreshToken != "")

	req := httptest.NewRequest("GET", "/api/user/profile", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// login: 200 refresh token: true
	// 200 hello admin
}

package postgres_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/stores/postgres"
)

// A server whose users and sessions live in PostgreSQL: the Store is both
// the session store of the Auth and the user store of its handlers, and
// every replica that opens the same database shares them. (It needs a
// database, so it is compiled, not run.)
func Example() {
	ctx := context.Background()
	// DATABASE_URL=postgres://jwtguard:secret@db.internal:5432/app?sslmode=verify-full
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.WithTimeout(3*time.Second))
	if err != nil {
		log.Fatal(err) // no password in it
	}
	defer store.Close()

	key, err := jwtguard.HMACKey("HS256", []byte(os.Getenv("JWT_SECRET")))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtguard.New(key, jwtguard.WithSessions(store))
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /api/auth/login", auth.LoginHandler(store))
	mux.Handle("POST /api/auth/refresh", auth.RefreshHandler(store))
	mux.Handle("POST /api/auth/logout", auth.LogoutHandler())
	mux.Handle("POST /api/auth/register", auth.RegisterHandler(store))
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Username)
	})))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

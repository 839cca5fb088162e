package redis_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/stores/redis"
)

// A replica of a service whose sessions and login throttle live in Redis,
// so that every replica refuses a revoked session and shares each
// account's budget of failed logins. (It needs a server: the example is
// compiled, not run.)
func Example() {
	ctx := context.Background()
	store, err := redis.Open(ctx, "redis://localhost:6379/0",
		redis.WithPrefix("myapp:"), redis.WithTimeout(500*time.Millisecond))
	if err != nil {
		log.Fatal(err) // the server is unreachable, or not durable (redis.ErrNotDurable)
	}
	defer store.Close()

	key, err := jwtguard.HMACKey("HS256", []byte("an-example-secret-of-32-bytes-or-more!"))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := jwtguard.New(key,
		jwtguard.WithSessions(store),
		jwtguard.WithLoginPolicy(jwtguard.LoginPolicy{Throttle: store}))
	if err != nil {
		log.Fatal(err)
	}

	// Users live in a user store of their own (the SQLite or PostgreSQL
	// store, or yours).
	hash, _ := jwtguard.HashPassword("password123")
	users, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "admin", PasswordHash: hash, Roles: []string{"admin"}})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /api/auth/login", auth.LoginHandler(users))
	mux.Handle("POST /api/auth/refresh", auth.RefreshHandler(users.(jwtguard.UserByIDStore)))
	mux.Handle("POST /api/auth/logout", auth.LogoutHandler())
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		w.Write([]byte("hello " + claims.Username))
	})))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// Command mux shows jwtguard wrapping individual handlers of an existing
// http.ServeMux: open routes stay as they are, the others get Verify, and
// Authorize or Require behind it. It only verifies tokens; give it the
// JWT_SECRET of the server that issues them (such as examples/server):
//
//	JWT_SECRET=... go run ./examples/mux   # listens on 127.0.0.1:8081
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/jwtguard/jwtguard"
)

func main() {
	auth, err := jwtguard.FromEnv() // JWT_SECRET (32+ bytes) is required
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: routes(auth), ReadHeaderTimeout: 5 * time.Second}
	fmt.Println("Listening on http://" + srv.Addr)
	fmt.Fprintln(os.Stderr, srv.ListenAndServe())
	os.Exit(1)
}

// routes is an existing mux with jwtguard added route by route.
func routes(auth *jwtguard.Auth) *http.ServeMux {
	mux := http.NewServeMux()
	// Open routes stay as they were.
	mux.HandleFunc("GET /healthz", reply("ok"))
	mux.HandleFunc("GET /articles/{id}", reply("an article"))

	// Any valid token.
	mux.Handle("GET /me", auth.Verify(http.HandlerFunc(me)))

	// A valid token with the role admin.
	mux.Handle("DELETE /articles/{id}", auth.Verify(auth.Authorize("admin")(reply("deleted"))))

	// Editors, or tokens granted the articles:write scope.
	canWrite := auth.Require(jwtguard.AnyOf(jwtguard.AnyRole("editor"), jwtguard.Scopes("articles:write")))
	mux.Handle("POST /articles", auth.Verify(canWrite(reply("created"))))
	return mux
}

// reply answers s.
func reply(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s+"\n") }
}

// me answers who the caller is.
func me(w http.ResponseWriter, r *http.Request) {
	c, _ := jwtguard.FromContext(r.Context()) // always there behind Verify
	fmt.Fprintf(w, "signed in as %s with roles %v\n", c.Subject, c.Roles)
}

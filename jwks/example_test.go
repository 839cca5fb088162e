package jwks_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwks"
)

// A resource server that verifies the tokens of an issuer through its
// JWKS, with no secret of its own. The issuer here is a jwtguard Auth on a
// KeySet, serving its JWKSHandler on a loopback test server; a real one is
// at an https URL.
func Example() {
	// The issuer: it signs with an ES256 key and publishes its public part.
	key, _ := jwtguard.GenerateKey("ES256")
	keys, _ := jwtguard.NewKeySet(key)
	issuer, _ := jwtguard.New(keys, jwtguard.WithIssuer("https://login.example"), jwtguard.WithAudience("api"))
	srv := httptest.NewServer(issuer.JWKSHandler())
	defer srv.Close()

	// The resource server.
	ctx := context.Background()
	remote, err := jwks.New(ctx, srv.URL+"/.well-known/jwks.json", jwks.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer remote.Close()
	auth, err := jwtguard.New(remote, jwtguard.WithIssuer("https://login.example"), jwtguard.WithAudience("api"))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", c.Username)
	})))
	mux.Handle("GET /api/admin-data", auth.Verify(auth.Authorize("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "admin data")
	}))))

	tok, _ := issuer.Issue(ctx, jwtguard.User{ID: "42", Username: "alice", Roles: []string{"user"}})
	for _, path := range []string{"/api/user/profile", "/api/admin-data"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fmt.Println(path, rec.Code, rec.Body.String())
		} else {
			fmt.Println(path, rec.Code)
		}
	}
	fmt.Println("keys:", len(remote.Keys()), remote.Keys()[0].Algorithm(), remote.Keys()[0].CanSign())
	// Output:
	// /api/user/profile 200 hello alice
	// /api/admin-data 403
	// keys: 1 ES256 false
}

// Command resource-server is a service with no secret at all: it verifies
// the tokens of an issuer through the issuer's JWKS, with
// jwtguard/jwks. The issuer is any service that signs with asymmetric
// keys and publishes them: a jwtguard Auth on a KeySet serving
// Auth.JWKSHandler at /.well-known/jwks.json, or an OpenID provider.
//
//	JWKS_URL=https://login.example.com/.well-known/jwks.json go run .
//	go run . -jwks-url http://127.0.0.1:8080/.well-known/jwks.json -addr 127.0.0.1:9002
//
// It listens on 127.0.0.1:8082 (-addr). The JWKS URL (-jwks-url, else
// JWKS_URL) is required, and is https unless its host is a loopback
// address. JWT_ISSUER and JWT_AUDIENCE are read as jwtguard.FromEnv reads
// them (WithIssuer, WithAudience): tokens must carry that iss and aud;
// when either is unset it says so at start, since any token of the
// issuer (one for another service, say) would then do.
//
// It starts even when the issuer cannot be reached, and answers every
// token 503 until the first fetch of the JWKS succeeds (/readyz tells a
// load balancer); the keys are then refreshed in the background, and the
// last good ones kept while the issuer is down. SIGINT or SIGTERM shuts
// it down gracefully.
//
// Routes:
//
//	GET /healthz             open, "ok"
//	GET /readyz              open: 200 once the JWKS is fetched, 503 before
//	GET /api/user/profile    any valid token: its claims
//	GET /api/admin-data      role admin
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/jwks"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:], os.LookupEnv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// config is the server's configuration.
type config struct {
	addr     string
	jwksURL  string
	issuer   string       // JWT_ISSUER
	audience string       // JWT_AUDIENCE
	client   *http.Client // fetches the JWKS; nil: the default (tests set one)
}

// parseConfig reads the flags in args and the environment through lookup.
// A flag wins over its variable.
func parseConfig(args []string, lookup func(string) (string, bool), usage io.Writer) (config, error) {
	getenv := func(k string) string { v, _ := lookup(k); return v }
	var cfg config
	fs := flag.NewFlagSet("resource-server", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8082", "listen address")
	fs.StringVar(&cfg.jwksURL, "jwks-url", getenv("JWKS_URL"), "URL of the issuer's JWKS (default $JWKS_URL)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() != 0 {
		return config{}, fmt.Errorf("resource-server: unexpected arguments %q", fs.Args())
	}
	if cfg.jwksURL == "" {
		return config{}, errors.New("resource-server: the issuer's JWKS URL is needed: -jwks-url or JWKS_URL (such as https://login.example.com/.well-known/jwks.json)")
	}
	cfg.issuer, cfg.audience = getenv("JWT_ISSUER"), getenv("JWT_AUDIENCE")
	return cfg, nil
}

// run serves cfg until ctx is done.
func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	h, keys, err := newServer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer keys.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("resource-server: %w", err)
	}
	logger.Info("resource-server: listening", slog.String("addr", "http://"+ln.Addr().String()), slog.Int("keys", len(keys.Keys())))
	return serve(ctx, ln, h)
}

// serve serves h on ln until ctx is done, then shuts down within 10
// seconds.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// newServer returns the routes of cfg, and the JWKS they verify with,
// whose refreshes last as long as ctx (or until its Close).
func newServer(ctx context.Context, cfg config, logger *slog.Logger) (http.Handler, *jwks.Set, error) {
	opts := []jwks.Option{jwks.WithLogger(logger), jwks.WithStartWithoutKeys()}
	if cfg.client != nil {
		opts = append(opts, jwks.WithHTTPClient(cfg.client))
	}
	keys, err := jwks.New(ctx, cfg.jwksURL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("resource-server: -jwks-url or JWKS_URL: %w", err)
	}
	authOpts := []jwtguard.Option{jwtguard.WithLogger(logger)}
	if cfg.issuer != "" {
		authOpts = append(authOpts, jwtguard.WithIssuer(cfg.issuer))
	} else {
		logger.Warn("resource-server: JWT_ISSUER is not set: the iss of tokens is not checked")
	}
	if cfg.audience != "" {
		authOpts = append(authOpts, jwtguard.WithAudience(cfg.audience))
	} else {
		logger.Warn("resource-server: JWT_AUDIENCE is not set: any of the issuer's tokens without an aud claim is accepted (those naming an audience are refused); set it to this service's audience")
	}
	auth, err := jwtguard.New(keys, authOpts...)
	if err != nil {
		keys.Close()
		return nil, nil, fmt.Errorf("resource-server: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(keys.Keys()) == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "the issuer's JWKS is not fetched yet\n")
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, logger, userOf(r))
	})))
	mux.Handle("GET /api/admin-data", auth.Verify(auth.Authorize("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, logger, message{"Admin-only route", userOf(r)})
	}))))
	return mux, keys, nil
}

// user is the JSON form of a caller's verified claims.
type user struct {
	Subject   string    `json:"subject"`
	Username  string    `json:"username,omitempty"`
	Roles     []string  `json:"roles"`
	Issuer    string    `json:"issuer,omitempty"`
	Audience  []string  `json:"audience,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

type message struct {
	Message string `json:"message"`
	User    user   `json:"user"`
}

// userOf is the verified caller of r (always there behind Verify).
func userOf(r *http.Request) user {
	c, _ := jwtguard.FromContext(r.Context())
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	return user{c.Subject, c.Username, roles, c.Issuer, c.Audience, c.ExpiresAt}
}

func writeJSON(w http.ResponseWriter, logger *slog.Logger, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logger.Warn("resource-server: writing a response", slog.String("error", err.Error()))
	}
}

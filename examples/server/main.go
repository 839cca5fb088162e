// Command server is the bundled jwtguard demo server: the routes of the
// Next.js tutorials jwtguard users come from, in Go.
//
//	go run ./examples/server             # listens on 127.0.0.1:8080
//	go run ./examples/server -addr :9000
//	go run ./examples/server -tls-cert cert.pem -tls-key key.pem
//
// It starts with no configuration. It keeps its users and sessions in a
// SQLite database in its data directory (-data-dir, or JWTGUARD_DATA_DIR,
// or ./jwtguard-data; created, mode 0700, on first start, and printed at
// every start), so that registered accounts and issued sessions survive a
// restart. It reads JWT_SECRET, JWT_EXPIRES_IN, JWT_ISSUER and
// JWT_AUDIENCE as jwtguard.FromEnv does; when JWT_SECRET is unset it uses
// a random secret that it makes on first start and keeps in the data
// directory (file jwt-secret, mode 0600; a copy that others may read is
// refused), so that tokens survive a restart too. A JWT_SECRET that is set
// but shorter than 32 bytes, or a JWT_EXPIRES_IN it cannot read, stops it
// with an error naming the variable.
//
// With JWT_PRIVATE_KEY_FILE (a PEM private key: RSA, ECDSA or Ed25519),
// it signs with that key instead of a secret, and publishes its public key,
// and those of JWT_PUBLIC_KEY_FILE (previous keys, during a rotation), at
// GET /.well-known/jwks.json, so that other services verify its tokens
// without any secret (examples/resource-server). -generate-key ALG prints
// a fresh private key for ALG (EdDSA, ES256, RS256, …) to stdout and its
// public key to stderr, and exits:
//
//	(umask 077; go run ./examples/server -generate-key EdDSA > jwt-key.pem)
//	JWT_PRIVATE_KEY_FILE=jwt-key.pem go run ./examples/server
//
// -public-key FILE prints the public key of the private key in FILE, as
// PEM alone, for JWT_PUBLIC_KEY_FILE:
//
//	go run ./examples/server -public-key jwt-key.pem > jwt-key.pub
//
// Replicas share their stores: DATABASE_URL names a PostgreSQL database
// for the users and sessions (instead of SQLite), REDIS_URL a Redis for
// the sessions and the login throttles (which must keep AOF on and
// evict nothing); either, or both. A store that cannot be opened stops it
// with an error naming the variable, and one that fails later is answered
// 503 with Retry-After. Replicas need one JWT_SECRET.
//
// Routes:
//
//	GET  /healthz                     open, "ok"
//	GET  /.well-known/jwks.json       the public keys (with JWT_PRIVATE_KEY_FILE or JWT_PUBLIC_KEY_FILE)
//	POST /api/auth/register           {"username","password"} → 201 {"id","username"}
//	POST /api/auth/login              {"username","password"} → {"access_token","refresh_token",…}
//	POST /api/auth/refresh            {"refresh_token"} → a new pair; the old refresh token is spent
//	POST /api/auth/logout             the access token, or {"refresh_token"}: ends the session (204)
//	POST /api/auth/logout-everywhere  the access token: ends every session of its user (204)
//	GET  /api/user/profile            any signed-in user: the token's claims
//	GET  /api/secure-data             any signed-in user
//	GET  /api/admin-data              role admin
//	POST /api/secure-data             any signed-in user (an unsafe route: CSRF-checked for cookies)
//	GET  /login                       the login page (an HTML form)
//	GET  /                            a protected page: the login page first, then back here
//
// Browsers get cookies (jwtguard's cookie mode): the login and refresh
// routes set the tokens in HttpOnly cookies, which Verify reads, and the
// CSRF check guards every unsafe request a cookie authenticates. Over
// TLS (-tls-cert and -tls-key) the cookies are Secure with the __Host- and
// __Secure- prefixes; on plain http the server uses the development
// cookie mode (no prefix, not Secure), which only a loopback address
// should see, and says so at start. Cross-origin front ends are listed in
// JWT_TRUSTED_ORIGINS.
//
// A spent refresh token presented again revokes its session (reuse
// detection); -refresh-grace allows a client that lost a refresh's answer
// to retry for a few seconds.
//
// Demo accounts: admin / password123 (role admin) and alice / password123
// (role user), added to a store that lacks them (-demo-accounts=false:
// not added). Failed logins are throttled per account and per client
// address (429 with Retry-After); behind a reverse proxy, name it with
// -trusted-proxies. SIGINT or SIGTERM shuts it down gracefully.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Server limits. The timeouts bound slow clients; none of the routes runs
// for long (a login is one bcrypt comparison, well under a second).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	shutdownTimeout   = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
	}()
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run parses args, configures the server from lookupEnv (os.LookupEnv in
// main), prints the demo accounts and the URL to stdout, logs to stderr and
// serves until ctx is done, then shuts down gracefully. It returns nil after
// a clean shutdown and an error for a bad configuration or a failed listen.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on (host:port; port 0 picks a free one)")
	proxies := fs.String("trusted-proxies", "", "comma-separated `addresses or prefixes` of reverse proxies whose Forwarded or X-Forwarded-For header names the client")
	cpuShare := fs.Float64("password-cpu-share", 0.10, "`share` of the cores that bcrypt may use (0 turns the password budget off)")
	loginWait := fs.Duration("login-wait", time.Second, "how long a login waits for password-hashing budget before 503 (0: refuse at once)")
	tlsCert := fs.String("tls-cert", "", "PEM `file` of the TLS certificate (with -tls-key): serve https, with Secure cookies")
	tlsKey := fs.String("tls-key", "", "PEM `file` of the TLS private key (with -tls-cert)")
	dataDirFlag := fs.String("data-dir", "", "`directory` of the server's data: its SQLite database and, without JWT_SECRET, its JWT secret (default $JWTGUARD_DATA_DIR, or ./"+defaultDataDir+")")
	demo := fs.Bool("demo-accounts", true, "add the demo accounts admin and alice (password "+demoPassword+") when the store lacks them")
	grace := fs.Duration("refresh-grace", 0, "how long after a refresh its spent refresh token may be presented again by a client that lost the answer (0: never; at most 1m)")
	genKey := fs.String("generate-key", "", "print a fresh private key for `algorithm` (EdDSA, ES256, ES384, ES512, RS256, PS256, …) as PEM to stdout, its public key to stderr, and exit")
	pubKey := fs.String("public-key", "", "print the public key of the PEM private key in `file` as PEM to stdout (for JWT_PUBLIC_KEY_FILE), and exit")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "the least `level` logged: debug, info, warn or error (debug shows routine refusals: no token, an expired token)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *genKey != "" {
		return generateKey(*genKey, stdout, stderr)
	}
	if *pubKey != "" {
		return publicKey(*pubKey, stdout)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	useTLS := *tlsCert != ""
	dataDir, err := dataDirOf(*dataDirFlag, lookupEnv)
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	policy := loginPolicy(*proxies)
	policy.Wait, policy.NoWait = *loginWait, *loginWait == 0
	policy.CPUShare, policy.NoBudget = *cpuShare, *cpuShare == 0
	// Development cookies only when nothing in front may be TLS: behind a
	// trusted proxy (which terminates TLS, as nginx does) the browser sees
	// https, and the cookies are Secure.
	devCookies := !useTLS && *proxies == ""
	cookies := jwtguard.WithCookieMode(cookieMode(devCookies))
	keyFiles := usesKeyFiles(lookupEnv)
	if _, ok := lookupEnv("JWT_SECRET"); !ok && !keyFiles {
		for _, v := range []string{"REDIS_URL", "DATABASE_URL"} {
			if _, shared := lookupEnv(v); shared {
				logger.Warn("JWT_SECRET is not set: the secret in the data directory is this server's own; replicas that share "+v+" must share a JWT_SECRET, or each refuses the others' tokens", slog.String("shared", v))
				break
			}
		}
	}
	if !keyFiles {
		lookupEnv, err = withDataDirSecret(lookupEnv, dataDir, logger)
		if err != nil {
			return err
		}
	}
	st, err := openStores(ctx, dataDir, lookupEnv, logger)
	if err != nil {
		return err
	}
	policy.Throttle = st.throttle
	defer func() {
		if err := st.close(); err != nil {
			logger.Error("closing the store", slog.String("error", err.Error()))
		}
	}()
	auth, err := newAuth(lookupEnv, logger, jwtguard.WithLoginPolicy(policy), jwtguard.WithSessions(st.sessions), jwtguard.WithRefreshGrace(*grace), cookies)
	if err != nil {
		return err
	}
	if *demo {
		if err := seedDemoAccounts(ctx, st.users, jwtguard.HashPassword, logger); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "Data: %s\n", st.where)
	if *demo {
		fmt.Fprintf(stdout, "Demo accounts:\n  admin / %s  (role admin)\n  alice / %[1]s  (role user)\n", demoPassword)
	}
	var jwks http.Handler
	if keyFiles {
		jwks = auth.JWKSHandler()
		fmt.Fprintf(stdout, "Public keys: %s://%s/.well-known/jwks.json\n", scheme, ln.Addr())
	}
	fmt.Fprintf(stdout, "Listening on %s://%s\n", scheme, ln.Addr())
	dpopMode, dpopURL := "allowed", scheme+"://"+ln.Addr().String()
	if v, ok := lookupEnv("JWT_DPOP"); ok {
		dpopMode = strings.ToLower(strings.TrimSpace(v))
	}
	if v, ok := lookupEnv("JWT_EXTERNAL_URL"); ok {
		dpopURL = v
	}
	fmt.Fprintf(stdout, "DPoP: %s (JWT_DPOP); proofs name %s (JWT_EXTERNAL_URL)\n", dpopMode, dpopURL)
	if !devCookies {
		fmt.Fprintf(stdout, "Pages: %s://%s/ (cookies: Secure, __Host- and __Secure- prefixes; behind a proxy, the browser must see https)\n", scheme, ln.Addr())
	} else {
		fmt.Fprintf(stdout, "Pages: %s://%s/ (cookies in DEVELOPMENT mode: not Secure, for plain http on this machine only; serve with -tls-cert and -tls-key elsewhere)\n", scheme, ln.Addr())
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err != nil || !ap.Addr().IsLoopback() {
			logger.Warn("plain http on an address that is not loopback: the development cookies can be read by anyone on the network; serve with -tls-cert and -tls-key", slog.String("addr", ln.Addr().String()))
		}
	}
	srv := newServer(newHandler(auth, st.users, jwks, logger), logger)
	if useTLS {
		return serveTLS(ctx, ln, srv, *tlsCert, *tlsKey, logger)
	}
	return serve(ctx, ln, srv, logger)
}

// cookieMode is the server's cookie mode: the login page at /login, and
// the development mode when it serves plain http.
func cookieMode(plainHTTP bool) jwtguard.CookieMode {
	return jwtguard.CookieMode{LoginPage: "/login", Development: plainHTTP}
}

// serveTLS is serve over TLS with the certificate and key files given.
func serveTLS(ctx context.Context, ln net.Listener, srv *http.Server, certFile, keyFile string, logger *slog.Logger) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		ln.Close()
		return fmt.Errorf("-tls-cert, -tls-key: %w", err)
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return serve(ctx, tls.NewListener(ln, srv.TLSConfig), srv, logger)
}

// serve serves srv on ln until ctx is done, then shuts it down, waiting up
// to shutdownTimeout for requests in flight. It closes ln.
func serve(ctx context.Context, ln net.Listener, srv *http.Server, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err // Serve failed before any shutdown
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newServer returns an http.Server for h with every timeout and the header
// size bounded, logging its own errors to logger.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Login throttling by client address: on in this server, which faces
// clients directly unless -trusted-proxies says otherwise. Per-account
// throttling is on by default in jwtguard.
const (
	addressBurst = 20               // failed logins an address may make at once,
	addressEvery = 10 * time.Second // then one more every 10 s
)

// loginPolicy returns the server's login policy: jwtguard's defaults, plus
// throttling by client address, believing forwarding headers only from
// trustedProxies (comma-separated).
func loginPolicy(trustedProxies string) jwtguard.LoginPolicy {
	p := jwtguard.LoginPolicy{Address: jwtguard.Limit{Burst: addressBurst, Every: addressEvery}}
	if trustedProxies != "" {
		for _, s := range strings.Split(trustedProxies, ",") {
			p.TrustedProxies = append(p.TrustedProxies, strings.TrimSpace(s))
		}
	}
	return p
}

// usesKeyFiles reports whether the server signs or verifies with the key
// files of JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE rather than a
// secret.
func usesKeyFiles(lookupEnv func(string) (string, bool)) bool {
	for _, v := range []string{"JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"} {
		if s, ok := lookupEnv(v); ok && s != "" {
			return true
		}
	}
	return false
}

// publicKey writes the public key of the private key file path to stdout
// as PEM, nothing else, so that the output is a JWT_PUBLIC_KEY_FILE.
func publicKey(path string, stdout io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-public-key: %w", err)
	}
	key, err := jwtguard.ParseKeyPEM("", data)
	if err != nil {
		return fmt.Errorf("-public-key %s: %w", path, err)
	}
	public, err := key.Public().MarshalPEM()
	if err != nil {
		return fmt.Errorf("-public-key %s: %w", path, err)
	}
	_, err = stdout.Write(public)
	return err
}

// generateKey writes a fresh private key for alg to stdout as PEM (PKCS
// #8) and its public key (PKIX) to stderr.
func generateKey(alg string, stdout, stderr io.Writer) error {
	if strings.HasPrefix(alg, "HS") {
		return fmt.Errorf("-generate-key %s: an HMAC secret is not a key pair; set JWT_SECRET (try: openssl rand -base64 48)", alg)
	}
	// GenerateKey makes the key jwtguard takes for alg; the kid printed
	// is the one its tokens will carry.
	key, err := jwtguard.GenerateKey(alg)
	if err != nil {
		return fmt.Errorf("-generate-key: %q is not EdDSA, Ed25519, ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384 or PS512", alg)
	}
	private, err := key.MarshalPEM()
	if err != nil {
		return err
	}
	public, err := key.Public().MarshalPEM()
	if err != nil {
		return err
	}
	if _, err := stdout.Write(private); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "The private key (stdout) of a new %s key, kid %s: keep it secret (chmod 600), and start with JWT_PRIVATE_KEY_FILE=<file>", alg, key.ID())
	// The algorithm a key's kind implies (EdDSA, ES* by curve, RS256)
	// needs no JWT_ALGORITHM; the others do.
	if alg == "Ed25519" || strings.HasPrefix(alg, "PS") || alg == "RS384" || alg == "RS512" {
		fmt.Fprintf(stderr, " JWT_ALGORITHM=%s", alg)
	}
	fmt.Fprintln(stderr, ". Its public key, for JWT_PUBLIC_KEY_FILE of services that verify (or use the JWKS):")
	_, err = stderr.Write(public)
	return err
}

// withDataDirSecret returns lookupEnv, except that an unset JWT_SECRET
// reads as the secret kept in dataDir (made there on first start; see
// dataDirSecret), never printed.
func withDataDirSecret(lookupEnv func(string) (string, bool), dataDir string, logger *slog.Logger) (func(string) (string, bool), error) {
	if _, ok := lookupEnv("JWT_SECRET"); ok {
		return lookupEnv, nil
	}
	secret, made, err := dataDirSecret(dataDir)
	if err != nil {
		return nil, fmt.Errorf("JWT_SECRET is not set, and the secret in the data directory cannot be used: %w", err)
	}
	path := filepath.Join(dataDir, secretFile)
	if made {
		logger.Info("JWT_SECRET is not set: made a new random secret and kept it in the data directory", slog.String("file", path))
	} else {
		logger.Info("JWT_SECRET is not set: using the secret kept in the data directory", slog.String("file", path))
	}
	return func(key string) (string, bool) {
		if key == "JWT_SECRET" {
			return secret, true
		}
		return lookupEnv(key)
	}, nil
}

// newAuth builds the Auth as jwtguard.FromEnv would, reading the variables
// through lookupEnv, with the server's logger; opts are applied after the
// environment, as with FromEnv. Errors name the variable at fault.
func newAuth(lookupEnv func(string) (string, bool), logger *slog.Logger, opts ...jwtguard.Option) (*jwtguard.Auth, error) {
	return jwtguard.FromLookupEnv(lookupEnv, append([]jwtguard.Option{jwtguard.WithLogger(logger)}, opts...)...)
}

// The demo accounts, all with the password demoPassword, which a store
// gets when it lacks them (seedDemoAccounts).
var demoAccounts = []jwtguard.User{
	{ID: "1", Username: "admin", Roles: []string{"admin"}},
	{ID: "2", Username: "alice", Roles: []string{"user"}},
}

const demoPassword = "password123"

// newHandler returns the server's routes, with the JWKS at
// /.well-known/jwks.json when jwks is not nil. auth must have a session
// store. Failures to encode a response are logged to logger.
func newHandler(auth *jwtguard.Auth, users jwtguard.UserWriter, jwks http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	if jwks != nil {
		mux.Handle("/.well-known/jwks.json", jwks)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	// No method in the patterns: the auth handlers answer other methods
	// themselves, with 405, Allow: POST and a JSON body.
	mux.Handle("/api/auth/register", auth.RegisterHandler(users))
	mux.Handle("/api/auth/login", auth.LoginHandler(users))
	mux.Handle("/api/auth/refresh", auth.RefreshHandler(users))
	mux.Handle("/api/auth/logout", auth.LogoutHandler())
	mux.Handle("/api/auth/logout-everywhere", auth.LogoutEverywhereHandler())
	mux.Handle("GET /api/user/profile", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, logger, userOf(r))
	})))
	mux.Handle("GET /api/secure-data", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, logger, message{"Authenticated route", userOf(r)})
	})))
	mux.Handle("GET /api/admin-data", auth.Verify(auth.Authorize("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, logger, message{"Admin-only route", userOf(r)})
	}))))
	mux.Handle("POST /api/secure-data", auth.Verify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, logger, message{"Saved", userOf(r)})
	})))
	mux.Handle("GET /login", loginPageHandler(logger))
	mux.Handle("GET /{$}", auth.Verify(homePageHandler(logger)))
	return mux
}

// user is the JSON form of a caller's verified claims.
type user struct {
	Subject   string    `json:"subject"`
	Username  string    `json:"username,omitempty"`
	Roles     []string  `json:"roles"`
	Scopes    []string  `json:"scopes,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	Audience  []string  `json:"audience,omitempty"`
	TokenID   string    `json:"token_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at"`
}

type message struct {
	Message string `json:"message"`
	User    *user  `json:"user"`
}

// userOf returns the verified claims of r. Every route that calls it is
// behind Verify, so the claims are there.
func userOf(r *http.Request) *user {
	c, ok := jwtguard.FromContext(r.Context())
	if !ok {
		panic("server: route without Verify in front of it")
	}
	u := &user{
		Subject:   c.Subject,
		Username:  c.Username,
		Roles:     c.Roles,
		Scopes:    c.Scopes,
		Issuer:    c.Issuer,
		Audience:  c.Audience,
		TokenID:   c.TokenID,
		SessionID: c.SessionID,
		IssuedAt:  c.IssuedAt.UTC(),
		ExpiresAt: c.ExpiresAt.UTC(),
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	return u
}

// writeJSON answers 200 with v. Responses carry account data, so they are
// not cached. v is encoded before anything is written: if that fails, the
// error is logged and the answer is the fixed 500 (ErrInternal), never
// an empty 200.
func writeJSON(w http.ResponseWriter, r *http.Request, logger *slog.Logger, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		logger.LogAttrs(r.Context(), slog.LevelError, "server: encoding the response failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		jwtguard.WriteError(w, r, fmt.Errorf("%w: encoding the response: %w", jwtguard.ErrInternal, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(append(body, '\n'))
}

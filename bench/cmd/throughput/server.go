package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/bench/internal/loadtest"
)

// The server side: the child process this program starts by running its
// own executable with childEnv set. It serves A and B, prints a hello line
// on stdout, then answers control lines on stdin until stdin closes.

// childEnv, when set (to the child's hard deadline, a Go duration), makes
// this program the server child instead of the load generator.
const childEnv = "JWTGUARD_THROUGHPUT_SERVER"

// route is the example server's protected GET.
const route = "/api/user/profile"

// The user the token is issued to: the example server's admin account.
var tokenUser = jwtguard.User{ID: "1", Username: "admin", Roles: []string{"admin"}}

// Server limits, as in examples/server.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// hello is the child's first line on stdout.
type hello struct {
	A          string `json:"a"` // host:port of the verified route's server
	B          string `json:"b"` // host:port of the unauthenticated one
	Token      string `json:"token"`
	Body       string `json:"body"` // the body both routes answer with this token
	PID        int    `json:"pid"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go"`
}

// usage is the child's answer to "end": what the server process used since
// "begin".
type usage struct {
	CPU        time.Duration `json:"cpu_ns"` // user + system, the whole process
	Allocs     uint64        `json:"allocs"`
	AllocBytes uint64        `json:"alloc_bytes"`
	GCs        uint64        `json:"gcs"`
	Error      string        `json:"error,omitempty"`
}

// serveChild is the child's main: it serves until stdin closes or deadline
// passes, and returns the exit code.
func serveChild(deadline time.Duration, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "throughput server:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	auth, err := newAuth(logger)
	if err != nil {
		return fail(err)
	}
	tok, err := auth.Issue(context.Background(), tokenUser)
	if err != nil {
		return fail(err)
	}
	// B serves the same claims without verifying anything: they are read
	// once here, through the same Auth.
	req, _ := http.NewRequest(http.MethodGet, route, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	claims, err := auth.Authenticate(req)
	if err != nil {
		return fail(fmt.Errorf("the token just issued does not verify: %w", err))
	}
	body, err := profileBody(claims)
	if err != nil {
		return fail(err)
	}

	a, b := http.NewServeMux(), http.NewServeMux()
	a.Handle("GET "+route, auth.Verify(profileHandler(claimsFromContext, logger)))
	b.Handle("GET "+route, profileHandler(func(*http.Request) *jwtguard.Claims { return claims }, logger))
	var addrs [2]string
	var servers [2]*http.Server
	for i, mux := range []http.Handler{a, b} {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		addrs[i] = ln.Addr().String()
		servers[i] = newServer(mux, logger)
		go servers[i].Serve(ln)
	}
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()

	h := hello{A: addrs[0], B: addrs[1], Token: tok.AccessToken, Body: string(body),
		PID: os.Getpid(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	line, _ := json.Marshal(h)
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return fail(err)
	}

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	var (
		began   usage
		profile *os.File
	)
	for {
		select {
		case <-timer.C:
			return fail(fmt.Errorf("hard deadline (%v) reached; exiting", deadline))
		case l, ok := <-lines:
			if !ok {
				return 0 // the load generator is done (or gone)
			}
			cmd, arg, _ := strings.Cut(l, " ")
			switch cmd {
			case "begin":
				var perr error
				if arg != "" {
					if profile, perr = os.Create(arg); perr == nil {
						if perr = pprof.StartCPUProfile(profile); perr != nil {
							profile.Close()
							profile = nil
						}
					}
				}
				began = sample()
				if perr != nil {
					fmt.Fprintf(stdout, "error %v\n", perr)
				} else {
					fmt.Fprintln(stdout, "ok")
				}
			case "end":
				u := sample().minus(began)
				if profile != nil {
					pprof.StopCPUProfile()
					if err := profile.Close(); err != nil {
						u.Error = err.Error()
					}
					profile = nil
				}
				line, _ := json.Marshal(u)
				fmt.Fprintf(stdout, "%s\n", line)
			default:
				fmt.Fprintf(stdout, "error unknown command %q\n", cmd)
			}
		}
	}
}

// newAuth builds the Auth as examples/server does by default (no
// JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE or JWT_EXPIRES_IN): an HS256 key
// from a random secret of the same form, its logger and login policy.
func newAuth(logger *slog.Logger) (*jwtguard.Auth, error) {
	b := make([]byte, 48)
	rand.Read(b)
	key, err := jwtguard.HMACKey("HS256", []byte(base64.RawURLEncoding.EncodeToString(b)))
	if err != nil {
		return nil, err
	}
	policy := jwtguard.LoginPolicy{Address: jwtguard.Limit{Burst: 20, Every: 10 * time.Second}}
	return jwtguard.New(key, jwtguard.WithLogger(logger), jwtguard.WithLoginPolicy(policy))
}

// newServer returns an http.Server for h with the example server's
// timeouts and header bound.
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

func claimsFromContext(r *http.Request) *jwtguard.Claims {
	c, ok := jwtguard.FromContext(r.Context())
	if !ok {
		panic("throughput: route without Verify in front of it")
	}
	return c
}

// profileHandler is the example server's profile route: the caller's
// claims (from claimsOf) as indented JSON, with its headers.
func profileHandler(claimsOf func(*http.Request) *jwtguard.Claims, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := profileBody(claimsOf(r))
		if err != nil {
			logger.LogAttrs(r.Context(), slog.LevelError, "throughput: encoding the response failed", slog.String("error", err.Error()))
			jwtguard.WriteError(w, r, fmt.Errorf("%w: encoding the response: %w", jwtguard.ErrInternal, err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(body)
	})
}

// user is the example server's JSON form of a caller's verified claims.
type user struct {
	Subject   string    `json:"subject"`
	Username  string    `json:"username,omitempty"`
	Roles     []string  `json:"roles"`
	Scopes    []string  `json:"scopes,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	Audience  []string  `json:"audience,omitempty"`
	TokenID   string    `json:"token_id,omitempty"`
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at"`
}

// profileBody is the example server's answer for c: userOf, then
// writeJSON's encoding.
func profileBody(c *jwtguard.Claims) ([]byte, error) {
	u := &user{
		Subject:   c.Subject,
		Username:  c.Username,
		Roles:     c.Roles,
		Scopes:    c.Scopes,
		Issuer:    c.Issuer,
		Audience:  c.Audience,
		TokenID:   c.TokenID,
		IssuedAt:  c.IssuedAt.UTC(),
		ExpiresAt: c.ExpiresAt.UTC(),
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	body, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(body, '\n'), nil
}

var sampleNames = []string{"/gc/heap/allocs:objects", "/gc/heap/allocs:bytes", "/gc/cycles/total:gc-cycles"}

// sample reads this process's CPU time and allocation counters.
func sample() usage {
	s := make([]metrics.Sample, len(sampleNames))
	for i, n := range sampleNames {
		s[i].Name = n
	}
	metrics.Read(s)
	u := usage{CPU: loadtest.ProcessCPU()}
	for i, p := range []*uint64{&u.Allocs, &u.AllocBytes, &u.GCs} {
		if s[i].Value.Kind() == metrics.KindUint64 {
			*p = s[i].Value.Uint64()
		}
	}
	return u
}

func (u usage) minus(v usage) usage {
	return usage{CPU: u.CPU - v.CPU, Allocs: u.Allocs - v.Allocs, AllocBytes: u.AllocBytes - v.AllocBytes, GCs: u.GCs - v.GCs}
}

// child is the server child, seen from the load generator.
type child struct {
	proc  *loadtest.Process // its stderr in proc.Log
	stdin io.WriteCloser
	lines chan string // its stdout, line by line; closed at EOF
	hello hello
}

// startChild runs this program's executable as the server child, with a
// hard deadline of its own, and reads its hello line.
func startChild(ctx context.Context, deadline time.Duration) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program's executable to start the server: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+deadline.String())
	c := &child{lines: make(chan string, 1)}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if c.proc, err = loadtest.Start(cmd, 16<<10); err != nil {
		return nil, err
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	l, err := c.readLine(ctx, 30*time.Second)
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("server child: %w%s", err, c.logTail())
	}
	if err := json.Unmarshal([]byte(l), &c.hello); err != nil {
		c.stop()
		return nil, fmt.Errorf("server child's first line %q: %w", l, err)
	}
	for _, a := range []string{c.hello.A, c.hello.B} {
		if err := checkLoopback(a); err != nil {
			c.stop()
			return nil, fmt.Errorf("server child: %w", err)
		}
	}
	return c, nil
}

// logTail returns the last lines the child logged, labelled, or "".
func (c *child) logTail() string {
	if t := c.proc.Log.Tail(); t != "" {
		return "\nserver child's log (last lines):\n" + t
	}
	return ""
}

// readLine waits up to wait for the child's next line on stdout.
func (c *child) readLine(ctx context.Context, wait time.Duration) (string, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case l, ok := <-c.lines:
		if !ok {
			<-c.proc.Done()
			return "", fmt.Errorf("exited: %v", c.proc.Err())
		}
		return l, nil
	case <-t.C:
		return "", fmt.Errorf("no answer within %v", wait)
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// begin starts a measured run in the child, with a CPU profile written to
// profile unless it is "".
func (c *child) begin(ctx context.Context, profile string) error {
	if strings.ContainsAny(profile, "\n\r") {
		return errors.New("profile path with a newline")
	}
	if _, err := fmt.Fprintf(c.stdin, "begin %s\n", profile); err != nil {
		return err
	}
	l, err := c.readLine(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	if l != "ok" {
		return fmt.Errorf("server child: %s", l)
	}
	return nil
}

// end ends the measured run and returns what the server used during it.
func (c *child) end(ctx context.Context) (usage, error) {
	var u usage
	if _, err := fmt.Fprintln(c.stdin, "end"); err != nil {
		return u, err
	}
	l, err := c.readLine(ctx, 10*time.Second)
	if err != nil {
		return u, err
	}
	if err := json.Unmarshal([]byte(l), &u); err != nil {
		return u, fmt.Errorf("server child's answer %q: %w", l, err)
	}
	if u.Error != "" {
		return u, fmt.Errorf("server child: %s", u.Error)
	}
	return u, nil
}

// stop closes the child's stdin, which makes it exit, waits up to 5 s,
// then kills it. It reports whether it had to kill it.
func (c *child) stop() (killed bool) {
	return c.proc.Stop(5*time.Second, func() { c.stdin.Close() })
}

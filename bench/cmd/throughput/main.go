// Command throughput measures what jwtguard's Verify costs a server on
// loopback: the requests per second of the example server's protected
// GET /api/user/profile (A) against the same route and handler without
// auth (B).
//
//	go run ./bench/cmd/throughput             # 5 pairs of 3 s runs, fails below a median A/B of 0.85
//	go run ./bench/cmd/throughput -runs 9     # more pairs
//	go run ./bench/cmd/throughput -smoke      # CI: about 1 s, ratio not asserted
//	go run ./bench/cmd/throughput -cpuprofile prof   # server CPU profiles, one per run
//
// A is built as examples/server builds it by default: jwtguard.New with an
// HS256 HMACKey from a random secret, the server's logger and login
// policy, and auth.Verify in front of a handler that answers the caller's
// claims as indented JSON (the example's userOf and writeJSON). B is the
// same handler on the same route with no Verify: it answers the claims of
// the same token, read once at start, so both answer the same bytes. Both
// are real net/http servers, with the example server's timeouts, each on
// its own 127.0.0.1:0 listener. Every request carries the same valid
// token from auth.Issue (the example's admin), so A and B get requests of
// the same size; B ignores the header.
//
// Process layout: the servers run in a child process, this program's own
// executable started again with JWTGUARD_THROUGHPUT_SERVER set, so that
// the load generator's CPU is not counted in the server's. The child
// prints its addresses, the token and the expected body on stdout, then
// obeys "begin" and "end" lines on stdin, answering with its own CPU time
// (getrusage) and allocations over the run, and optionally writing a CPU
// profile of it. It exits when its stdin closes (this program is done or
// gone), when its hard deadline passes, or, on Linux, when this program
// dies.
//
// Load generator: a lean HTTP/1.1 client in Go (load.go), not net/http's
// client and not wrk. On a 2-core machine the client and the server share
// the cores whatever the process layout, and the client's cost per
// request dilutes the ratio: a heavier client leaves less CPU to the
// server, so Verify's share of each request looks smaller and A/B comes
// closer to 1. On the machine of BENCHMARKS.md this client costs 12–17 µs
// of CPU a request (mostly the kernel's loopback TCP), wrk about the
// same, net/http's client 24–28 µs. wrk is not in CI, cannot check every
// answer's body without a Lua script and would be one more thing to
// install; this client needs nothing. Each of -conns keep-alive
// connections sends one request, reads the whole answer, checks that it
// is 200 with the expected body, and sends the next (no pipelining).
//
// Runs alternate A,B,B,A,A,B,… (-runs pairs of -duration each, after a
// -warmup of each server that is not counted). It prints each run's
// req/s, the server's and the client's CPU, the server's CPU and
// allocations per request, each pair's ratio A/B and their medians. It
// exits 1 if any request did not get 200 with the expected body, or if
// the median ratio is below -min-ratio (not in -smoke), and 2 when it
// cannot run.
//
// All traffic stays on 127.0.0.1; each run stops after -duration or
// -max-requests requests, connections give up 10 s past the run's end, and
// the whole program stops at -timeout (or SIGINT).
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jwtguard/jwtguard/bench/internal/loadtest"
)

type config struct {
	runs        int
	duration    time.Duration
	warmup      time.Duration
	conns       int
	maxRequests int64
	minRatio    float64
	timeout     time.Duration
	cpuprofile  string
	json        bool
	smoke       bool
}

func main() {
	if v, ok := os.LookupEnv(childEnv); ok {
		os.Exit(childMain(v))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// childMain runs the server child with the hard deadline v.
func childMain(v string) int {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		fmt.Fprintf(os.Stderr, "throughput server: %s=%q is not a positive duration\n", childEnv, v)
		return 2
	}
	signal.Ignore(os.Interrupt) // a ^C goes to the whole group: the parent stops us
	return serveChild(d, os.Stdin, os.Stdout, os.Stderr)
}

// The token's lifetime (jwtguard's default, which the example server
// keeps) bounds how long the runs may take.
const maxPlanned = 10 * time.Minute

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.runs, "runs", 5, "pairs of runs (A then B, B then A, …); the median ratio is asserted")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "length of each run")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "load on each server before the first pair, not counted")
	fs.IntVar(&c.conns, "conns", 8, "keep-alive connections, each with one request in flight")
	fs.Int64Var(&c.maxRequests, "max-requests", 1_000_000, "requests a run may send at most")
	fs.Float64Var(&c.minRatio, "min-ratio", 0.85, "exit 1 if the median of A/B is below this")
	fs.DurationVar(&c.timeout, "timeout", 0, "hard bound on the whole program (0: from the other flags)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "`dir`ectory to write the server's CPU profile of each run to (A-1.pprof, B-1.pprof, …)")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON instead of a table")
	fs.BoolVar(&c.smoke, "smoke", false, "CI smoke test: 2 pairs of 200 ms runs, 100 ms warm-up, 2 connections (flags given explicitly win); the ratio is not asserted")
	if err := loadtest.ParseFlags(fs, args); err != nil {
		return c, err
	}
	if c.smoke {
		if err := loadtest.SetUnset(fs, map[string]string{"runs": "2", "duration": "200ms", "warmup": "100ms", "conns": "2"}); err != nil {
			return c, err
		}
	}
	switch {
	case c.runs < 1 || c.runs > 50:
		return c, errors.New("-runs must be between 1 and 50")
	case c.duration < 100*time.Millisecond || c.duration > time.Minute:
		return c, errors.New("-duration must be between 100ms and 1m")
	case c.warmup < 0 || c.warmup > 10*time.Second:
		return c, errors.New("-warmup must be between 0 and 10s")
	case c.conns < 1 || c.conns > 256:
		return c, errors.New("-conns must be between 1 and 256")
	case c.maxRequests < 1 || c.maxRequests > 100_000_000:
		return c, errors.New("-max-requests must be between 1 and 100000000")
	case c.minRatio < 0 || c.minRatio > 10:
		return c, errors.New("-min-ratio must be between 0 and 10")
	case c.timeout < 0:
		return c, errors.New("-timeout must not be negative")
	}
	if p := planned(c); p > maxPlanned {
		return c, fmt.Errorf("the runs would take %v, over %v (the token lives 15 minutes): fewer -runs or a shorter -duration", p, maxPlanned)
	}
	if c.timeout == 0 {
		// Starting the child, then every run and its 10 s grace, bounded.
		c.timeout = 30*time.Second + 2*(c.warmup+15*time.Second) + time.Duration(2*c.runs)*(c.duration+15*time.Second)
	}
	return c, nil
}

// planned is how long the load runs take, warm-up included.
func planned(c config) time.Duration {
	return 2*c.warmup + time.Duration(2*c.runs)*c.duration
}

// Result is the outcome of the whole program.
type Result struct {
	GoVersion        string        `json:"go"`
	GOMAXPROCS       int           `json:"gomaxprocs"` // the load generator's
	ServerGOMAXPROCS int           `json:"server_gomaxprocs"`
	NumCPU           int           `json:"num_cpu"`
	ServerPID        int           `json:"server_pid"`
	Conns            int           `json:"conns"`
	Duration         time.Duration `json:"run_ns"`
	Warmup           [2]Load       `json:"warmup"` // A, B
	Pairs            []Pair        `json:"pairs"`
	Median           Medians       `json:"median"`
	Errors           int64         `json:"errors"` // requests without 200 and the expected body, all runs
	Elapsed          time.Duration `json:"elapsed_ns"`
}

// Pair is one run of A and one of B, in Order.
type Pair struct {
	Order string  `json:"order"` // "AB" or "BA"
	A     Run     `json:"a"`
	B     Run     `json:"b"`
	Ratio float64 `json:"ratio"` // A req/s ÷ B req/s
	// CPURatio is B's CPU per request ÷ A's, server and load generator
	// together: what Ratio would be if the two processes had the cores to
	// themselves. Neighbours that take CPU move it less than Ratio.
	CPURatio float64 `json:"cpu_ratio"`
}

// Run is one run of load against one server.
type Run struct {
	Load
	Server       usage   `json:"server"`
	ServerCores  float64 `json:"server_cores"`      // server CPU ÷ wall time
	ClientCores  float64 `json:"client_cores"`      // load generator CPU ÷ wall time
	CPUPerReq    float64 `json:"server_cpu_ns_req"` // server CPU ÷ OK
	AllocsPerReq float64 `json:"server_allocs_req"` // heap objects ÷ OK
	BytesPerReq  float64 `json:"server_bytes_req"`  // heap bytes ÷ OK
	ClientPerReq float64 `json:"client_cpu_ns_req"` // load generator CPU ÷ OK
	Profile      string  `json:"profile,omitempty"` // CPU profile written
	Note         string  `json:"note,omitempty"`    // why it stopped early
}

// Medians over the pairs.
type Medians struct {
	Ratio        float64 `json:"ratio"`
	CPURatio     float64 `json:"cpu_ratio"`
	APerSec      float64 `json:"a_req_per_sec"`
	BPerSec      float64 `json:"b_req_per_sec"`
	ACPUPerReq   float64 `json:"a_server_cpu_ns_req"`
	BCPUPerReq   float64 `json:"b_server_cpu_ns_req"`
	AAllocsReq   float64 `json:"a_server_allocs_req"`
	BAllocsReq   float64 `json:"b_server_allocs_req"`
	ABytesReq    float64 `json:"a_server_bytes_req"`
	BBytesReq    float64 `json:"b_server_bytes_req"`
	AClientPerRq float64 `json:"a_client_cpu_ns_req"`
	BClientPerRq float64 `json:"b_client_cpu_ns_req"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "throughput:", err)
		return 2
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.timeout, fmt.Errorf("overall timeout (%v) reached", cfg.timeout))
	defer cancel()
	began := time.Now()
	cantRun := func(err error) int {
		fmt.Fprintln(stderr, "throughput:", err)
		return 2
	}
	profDir := ""
	if cfg.cpuprofile != "" {
		if profDir, err = filepath.Abs(cfg.cpuprofile); err != nil {
			return cantRun(err)
		}
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			return cantRun(err)
		}
	}

	ch, err := startChild(ctx, cfg.timeout+10*time.Second)
	if err != nil {
		return cantRun(err)
	}
	defer func() {
		if ch.stop() {
			fmt.Fprintln(stderr, "throughput: the server child did not exit within 5 s of its stdin closing; killed it")
		}
	}()
	h := ch.hello
	a, b, err := targets(h)
	if err != nil {
		return cantRun(err)
	}
	if err := preflight(ctx, h, a, b); err != nil {
		return cantRun(fmt.Errorf("preflight: %w%s", err, ch.logTail()))
	}

	res := &Result{GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), ServerGOMAXPROCS: h.GOMAXPROCS,
		NumCPU: runtime.NumCPU(), ServerPID: h.PID, Conns: cfg.conns, Duration: cfg.duration}
	if !cfg.json {
		fmt.Fprintf(stdout, "server child pid %d (GOMAXPROCS %d), load generator GOMAXPROCS %d, %d CPUs, %s\n",
			h.PID, h.GOMAXPROCS, res.GOMAXPROCS, res.NumCPU, res.GoVersion)
		fmt.Fprintf(stdout, "GET %s: A http://%s (auth.Verify), B http://%s (no auth); %d connections, %v runs, %d pairs\n",
			route, h.A, h.B, cfg.conns, cfg.duration, cfg.runs)
	}
	if cfg.warmup > 0 {
		for i, t := range []target{a, b} {
			res.Warmup[i] = load(ctx, t, cfg.conns, cfg.warmup, cfg.maxRequests)
			res.Errors += res.Warmup[i].Errors()
		}
		if err := context.Cause(ctx); err != nil {
			return cantRun(err)
		}
		if !cfg.json {
			fmt.Fprintf(stdout, "warm-up (%v each, not counted): A %.0f req/s, B %.0f req/s\n", cfg.warmup, res.Warmup[0].PerSec, res.Warmup[1].PerSec)
			for i, w := range res.Warmup {
				if e := w.Errors(); e > 0 {
					fmt.Fprintf(stdout, "  warm-up of %c: %d ERRORS (%s)\n", "AB"[i], e, w.FirstError)
				}
			}
		}
	}
	if !cfg.json {
		printHeader(stdout)
	}
	for i := range cfg.runs {
		p := Pair{Order: pairOrder(i)}
		for _, which := range p.Order {
			t, r := a, &p.A
			if which == 'B' {
				t, r = b, &p.B
			}
			prof := ""
			if profDir != "" {
				prof = filepath.Join(profDir, fmt.Sprintf("%c-%d.pprof", which, i+1))
			}
			if *r, err = measure(ctx, ch, t, cfg, prof); err != nil {
				return cantRun(fmt.Errorf("pair %d, %c: %w%s", i+1, which, err, ch.logTail()))
			}
			res.Errors += r.Errors()
		}
		p.ratios()
		res.Pairs = append(res.Pairs, p)
		if !cfg.json {
			printPair(stdout, i+1, &p)
		}
	}
	res.Median = medians(res.Pairs)
	res.Elapsed = time.Since(began)
	code, verdict := judge(cfg, res)
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		printSummary(stdout, cfg, res)
		if profDir != "" {
			fmt.Fprintf(stdout, "server CPU profiles: go tool pprof -top %s (and B-*.pprof for B)\n", filepath.Join(profDir, "A-*.pprof"))
		}
	}
	if code != 0 {
		fmt.Fprintln(stderr, "throughput:", verdict)
	} else if !cfg.json {
		fmt.Fprintln(stdout, verdict)
	}
	return code
}

// ratios sets p's ratios from its runs.
func (p *Pair) ratios() {
	if p.B.PerSec > 0 {
		p.Ratio = p.A.PerSec / p.B.PerSec
	}
	if a := p.A.CPUPerReq + p.A.ClientPerReq; a > 0 {
		p.CPURatio = (p.B.CPUPerReq + p.B.ClientPerReq) / a
	}
}

// pairOrder is the order of pair i (from 0): A,B then B,A, and so on, so
// that neither side always runs first.
func pairOrder(i int) string {
	if i%2 == 0 {
		return "AB"
	}
	return "BA"
}

// targets returns the requests to A and B: the same bytes but for the
// port in Host, which is as long in both (both ports are ephemeral).
func targets(h hello) (a, b target, err error) {
	if h.Token == "" || h.Body == "" {
		return a, b, errors.New("the server child sent no token or no body")
	}
	auth := "Bearer " + h.Token
	a = target{addr: h.A, req: buildRequest(h.A, auth), want: []byte(h.Body)}
	b = target{addr: h.B, req: buildRequest(h.B, auth), want: []byte(h.Body)}
	return a, b, nil
}

// preflight checks, before any load, that the body is the admin's claims,
// that A and B answer it to the token, that A refuses no token and a
// tampered one (it does verify) and that B does not (it does not).
func preflight(ctx context.Context, h hello, a, b target) error {
	var u user
	if err := json.Unmarshal([]byte(h.Body), &u); err != nil {
		return fmt.Errorf("the expected body is not JSON: %w", err)
	}
	if u.Subject != tokenUser.ID || u.Username != tokenUser.Username || strings.Join(u.Roles, ",") != "admin" || u.ExpiresAt.IsZero() || u.TokenID == "" {
		return fmt.Errorf("the expected body is not the admin's claims: %s", h.Body)
	}
	tampered, err := tamper(h.Token)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name   string
		addr   string
		req    []byte
		status int
		body   []byte // nil: not checked
	}{
		{"A with the token", a.addr, a.req, 200, a.want},
		{"B with the token", b.addr, b.req, 200, b.want},
		{"A without a token", a.addr, buildRequest(a.addr, ""), 401, nil},
		{"A with a tampered token", a.addr, buildRequest(a.addr, "Bearer "+tampered), 401, nil},
		{"B without a token", b.addr, buildRequest(b.addr, ""), 200, b.want},
	} {
		status, body, err := once(ctx, c.addr, c.req)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if status != c.status || c.body != nil && string(body) != string(c.body) {
			return fmt.Errorf("%s: %d %q, want %d", c.name, status, body, c.status)
		}
	}
	return nil
}

// tamper returns tok with one byte of its signature changed.
func tamper(tok string) (string, error) {
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if i < 0 || err != nil || len(sig) == 0 {
		return "", fmt.Errorf("the token %q has no signature", tok)
	}
	sig[0] ^= 1
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig), nil
}

// measure runs load against t for one run, with the server child counting
// its CPU and allocations (and profiling to prof unless it is "").
func measure(ctx context.Context, ch *child, t target, cfg config, prof string) (Run, error) {
	if err := ch.begin(ctx, prof); err != nil {
		return Run{}, err
	}
	l := load(ctx, t, cfg.conns, cfg.duration, cfg.maxRequests)
	u, err := ch.end(ctx)
	if err != nil {
		return Run{}, err
	}
	if err := context.Cause(ctx); err != nil {
		return Run{}, err
	}
	r := Run{Load: l, Server: u, Profile: prof}
	if l.Capped {
		r.Note = fmt.Sprintf("stopped after -max-requests %d", cfg.maxRequests)
	}
	if s := l.Elapsed.Seconds(); s > 0 {
		r.ServerCores = u.CPU.Seconds() / s
		r.ClientCores = l.ClientCPU.Seconds() / s
	}
	if l.OK > 0 {
		n := float64(l.OK)
		r.CPUPerReq = float64(u.CPU) / n
		r.AllocsPerReq = float64(u.Allocs) / n
		r.BytesPerReq = float64(u.AllocBytes) / n
		r.ClientPerReq = float64(l.ClientCPU) / n
	}
	return r, nil
}

func medians(pairs []Pair) Medians {
	col := func(f func(*Pair) float64) float64 {
		xs := make([]float64, len(pairs))
		for i := range pairs {
			xs[i] = f(&pairs[i])
		}
		return loadtest.Median(xs)
	}
	return Medians{
		Ratio:        col(func(p *Pair) float64 { return p.Ratio }),
		CPURatio:     col(func(p *Pair) float64 { return p.CPURatio }),
		APerSec:      col(func(p *Pair) float64 { return p.A.PerSec }),
		BPerSec:      col(func(p *Pair) float64 { return p.B.PerSec }),
		ACPUPerReq:   col(func(p *Pair) float64 { return p.A.CPUPerReq }),
		BCPUPerReq:   col(func(p *Pair) float64 { return p.B.CPUPerReq }),
		AAllocsReq:   col(func(p *Pair) float64 { return p.A.AllocsPerReq }),
		BAllocsReq:   col(func(p *Pair) float64 { return p.B.AllocsPerReq }),
		ABytesReq:    col(func(p *Pair) float64 { return p.A.BytesPerReq }),
		BBytesReq:    col(func(p *Pair) float64 { return p.B.BytesPerReq }),
		AClientPerRq: col(func(p *Pair) float64 { return p.A.ClientPerReq }),
		BClientPerRq: col(func(p *Pair) float64 { return p.B.ClientPerReq }),
	}
}

// judge returns the exit code and the verdict line.
func judge(cfg config, res *Result) (int, string) {
	switch {
	case res.Errors > 0:
		return 1, fmt.Sprintf("FAIL: %d request(s) did not get 200 with the expected body", res.Errors)
	case len(res.Pairs) == 0:
		return 2, "no runs"
	case cfg.smoke:
		return 0, fmt.Sprintf("ok (smoke: median A/B %.3f not asserted)", res.Median.Ratio)
	case res.Median.Ratio < cfg.minRatio:
		return 1, fmt.Sprintf("FAIL: median A/B %.3f is below -min-ratio %.2f", res.Median.Ratio, cfg.minRatio)
	}
	return 0, fmt.Sprintf("PASS: median A/B %.3f ≥ %.2f", res.Median.Ratio, cfg.minRatio)
}

// Command loginflood measures how a jwtguard server's verified API holds up
// while its login endpoint is flooded with wrong passwords.
//
// It builds and starts the example server (examples/server) on 127.0.0.1,
// or uses -server. With -replicas N it starts N servers sharing one Redis
// (REDIS_URL: a redis-server it starts, or -redis), each with GOMAXPROCS
// 1 (-server-procs), and spreads the API clients and the flooders over
// them; the figures are the fleet's. Each run has two phases of -duration:
//
//   - baseline: -clients goroutines loop GET /api/secure-data with alice's
//     token (logged in from 127.0.0.1);
//   - flood: the same clients, plus -flooders attackers, each from its own
//     loopback address (127.0.0.2, 127.0.0.3, …), posting logins with a
//     fresh username and a wrong password back to back, ignoring
//     Retry-After. Into the flood, two genuine users log in with the right
//     password, honouring Retry-After: alice from 127.0.0.1 (where she
//     logged in before) and admin from a new address (127.0.3.run).
//
// It prints GET throughput and p50/p99 for both phases, their ratio, login
// answers per second by status, violations (a wrong password that logged
// in, a 5xx other than 503, a 429 or 503 without Retry-After, an answer
// slower than -hang), how long the genuine users took to log in, and the
// server's peak memory, threads, open files and CPU (from /proc). With
// -runs above 1 it repeats both phases and prints medians.
//
//	go run ./bench/cmd/loginflood            # 16 clients, 200 flooders, 10 s phases
//	go run ./bench/cmd/loginflood -runs 3    # medians of 3 runs
//	go run ./bench/cmd/loginflood -smoke     # CI: 2 s phases, figures not asserted
//	go run ./bench/cmd/loginflood -replicas 2 -runs 3  # two replicas sharing Redis
//
// All traffic stays in 127.0.0.0/8; everything stops by itself after the
// phases (or -timeout, or SIGINT). It exits 1 on a violation of the login
// endpoint's promises (hangs only outside -smoke) and 2 when it cannot run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jwtguard/jwtguard/bench/internal/loadtest"
)

// The demo accounts of examples/server.
const (
	demoPassword = "password123"
	returnUser   = "alice"
	newAddrUser  = "admin"
)

type config struct {
	server   string
	repo     string
	duration time.Duration
	clients  int
	flooders int
	runs     int
	hang     time.Duration
	timeout  time.Duration
	json     bool
	smoke    bool
	verbose  bool
	replicas int    // servers started, sharing redis
	redis    string // REDIS_URL of the replicas; "" starts a redis-server
	procs    int    // GOMAXPROCS of each server started; 0: the Go default
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loginflood", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "", "`URL` of a running server to use (http://127.x.x.x:port) instead of building and starting examples/server")
	fs.StringVar(&c.repo, "repo", "", "`dir`ectory of the jwtguard repository to build the server from (default: found with go env GOWORK/GOMOD)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each phase")
	fs.IntVar(&c.clients, "clients", 16, "API clients looping verified GETs")
	fs.IntVar(&c.flooders, "flooders", 200, "flooding goroutines, each from its own loopback address")
	fs.IntVar(&c.runs, "runs", 1, "runs of baseline + flood; medians are printed")
	fs.DurationVar(&c.hang, "hang", 2*time.Second, "a login answered (or still unanswered) after this long is a hang (the server holds a login at most 1 s by default)")
	fs.DurationVar(&c.timeout, "timeout", 0, "hard bound on the whole program (0: from -duration and -runs)")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON instead of a table")
	fs.BoolVar(&c.smoke, "smoke", false, "CI smoke test: 2 s phases, 20 flooders, 4 clients, 1 run (flags given explicitly win); fails only on correctness violations")
	fs.BoolVar(&c.verbose, "v", false, "also print the flood's login answers second by second")
	fs.IntVar(&c.replicas, "replicas", 1, "servers to start, sharing one Redis (REDIS_URL) for sessions and throttles; clients and flooders are spread over them")
	fs.StringVar(&c.redis, "redis", "", "`URL` of the Redis the replicas share (default: a redis-server started here, on 127.0.0.1, when -replicas is above 1)")
	fs.IntVar(&c.procs, "server-procs", -1, "GOMAXPROCS of each server started (default: 1 with -replicas above 1, so that they share the cores as in production; else Go's default)")
	if err := loadtest.ParseFlags(fs, args); err != nil {
		return c, err
	}
	if c.smoke {
		if err := loadtest.SetUnset(fs, map[string]string{"duration": "2s", "flooders": "20", "clients": "4", "runs": "1"}); err != nil {
			return c, err
		}
	}
	switch {
	case c.duration < time.Second || c.duration > 10*time.Minute:
		return c, errors.New("-duration must be between 1s and 10m")
	case c.clients < 1 || c.clients > 1000:
		return c, errors.New("-clients must be between 1 and 1000")
	case c.flooders < 0 || c.flooders > 5000:
		return c, errors.New("-flooders must be between 0 and 5000")
	case c.runs < 1 || c.runs > 20:
		return c, errors.New("-runs must be between 1 and 20")
	case c.hang <= 0:
		return c, errors.New("-hang must be positive")
	case c.timeout < 0:
		return c, errors.New("-timeout must not be negative")
	case c.replicas < 1 || c.replicas > 8:
		return c, errors.New("-replicas must be between 1 and 8")
	case c.replicas > 1 && c.server != "":
		return c, errors.New("-replicas starts servers: it does not go with -server")
	case c.procs < -1 || c.procs > 1024:
		return c, errors.New("-server-procs must be between 0 and 1024")
	}
	if c.procs == -1 {
		c.procs = 0
		if c.replicas > 1 {
			c.procs = 1
		}
	}
	if c.server != "" {
		base, err := checkServerURL(c.server)
		if err != nil {
			return c, err
		}
		c.server = base
	}
	if c.timeout == 0 {
		// Building the server, then per run: warm-up, two phases, settling.
		c.timeout = 3*time.Minute + time.Duration(c.runs)*(2*c.duration+c.hang+30*time.Second)
	}
	return c, nil
}

// Result is the outcome of the whole program.
type Result struct {
	Server      string        `json:"server"` // base URLs, comma-separated
	Started     bool          `json:"started_by_us"`
	Replicas    int           `json:"replicas,omitempty"`
	ServerProcs int           `json:"server_gomaxprocs,omitempty"`
	GOMAXPROCS  int           `json:"gomaxprocs"`
	NumCPU      int           `json:"num_cpu"`
	Clients     int           `json:"clients"`
	Flooders    int           `json:"flooders"`
	Duration    time.Duration `json:"phase_ns"`
	Runs        []Run         `json:"runs"`
	Median      Medians       `json:"median"`
	Violations  Violations    `json:"violations"` // over all runs, genuine users included
	GETErrors   int64         `json:"get_errors"` // non-200 answers to verified GETs
	ServerLog   struct {
		Lines int64 `json:"lines"`
		Bytes int64 `json:"bytes"`
	} `json:"server_log"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Run is one baseline + flood.
type Run struct {
	Baseline Phase         `json:"baseline"`
	Flood    Phase         `json:"flood"`
	Ratio    float64       `json:"ratio"` // flood GET/s ÷ baseline GET/s
	Logins   *LoginSummary `json:"logins"`
	Genuine  []*Genuine    `json:"genuine"`
	Login    time.Duration `json:"baseline_login_ns"` // alice's login before the baseline
}

// Phase is one phase's API figures and server use.
type Phase struct {
	Elapsed      time.Duration `json:"elapsed_ns"`
	GET          Latency       `json:"get"`
	GETStatuses  map[int]int64 `json:"get_errors_by_status,omitempty"`
	GETTransport int64         `json:"get_transport_errors"`
	Server       *ServerUse    `json:"server,omitempty"`
	LoadgenCores float64       `json:"loadgen_cores"`
}

// ServerUse is the server process's peak use over a phase.
type ServerUse struct {
	MaxRSSKiB  int64   `json:"max_rss_kib"`
	MaxThreads int64   `json:"max_threads"`
	MaxFDs     int64   `json:"max_fds"`
	Cores      float64 `json:"cores"` // CPU time ÷ wall time
}

// Medians over the runs.
type Medians struct {
	Ratio       float64       `json:"ratio"`
	BaselineGET float64       `json:"baseline_get_per_sec"`
	FloodGET    float64       `json:"flood_get_per_sec"`
	BaselineP99 time.Duration `json:"baseline_p99_ns"`
	FloodP99    time.Duration `json:"flood_p99_ns"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "loginflood:", err)
		return 2
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.timeout, fmt.Errorf("overall timeout (%v) reached", cfg.timeout))
	defer cancel()
	began := time.Now()
	if _, err := raiseFileLimit(); err != nil && cfg.verbose {
		fmt.Fprintln(stderr, "loginflood: file limit:", err)
	}

	res := &Result{GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), Clients: cfg.clients, Flooders: cfg.flooders, Duration: cfg.duration}
	var srvs []*server
	bases := []string{cfg.server}
	if cfg.server != "" {
		res.Server = cfg.server
	} else {
		repo, err := findRepo(ctx, cfg.repo)
		if err != nil {
			fmt.Fprintln(stderr, "loginflood:", err)
			return 2
		}
		dir, err := os.MkdirTemp("", "loginflood-")
		if err != nil {
			fmt.Fprintln(stderr, "loginflood:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		if !cfg.json {
			fmt.Fprintf(stdout, "building %s in %s\n", serverPackage, repo)
		}
		bin, err := buildServer(ctx, repo, dir)
		if err != nil {
			fmt.Fprintln(stderr, "loginflood:", err)
			return 2
		}
		var env []string
		if cfg.procs > 0 {
			env = append(env, fmt.Sprintf("GOMAXPROCS=%d", cfg.procs))
		}
		if redisURL := cfg.redis; cfg.replicas > 1 || redisURL != "" {
			if redisURL == "" {
				rs, err := startRedis(ctx, filepath.Join(dir, "redis"))
				if err != nil {
					fmt.Fprintln(stderr, "loginflood:", err)
					return 2
				}
				defer rs.stop()
				redisURL = rs.url
			}
			env = append(env, "REDIS_URL="+redisURL)
		}
		bases = nil
		for i := range cfg.replicas {
			srv, err := startServer(ctx, bin, filepath.Join(dir, fmt.Sprintf("data-%d", i)), env)
			if err != nil {
				fmt.Fprintln(stderr, "loginflood:", err)
				return 2
			}
			defer func() {
				if srv.stop() {
					fmt.Fprintf(stderr, "loginflood: the server at %s did not shut down within 5 s of SIGINT; killed it\n", srv.url)
				}
			}()
			srvs = append(srvs, srv)
			bases = append(bases, srv.url)
		}
		res.Server, res.Started = strings.Join(bases, ","), true
		res.Replicas, res.ServerProcs = cfg.replicas, cfg.procs
	}
	if !cfg.json {
		started := ""
		switch {
		case res.Replicas > 1:
			started = fmt.Sprintf(" (%d replicas started here, sharing Redis, GOMAXPROCS %d each)", res.Replicas, res.ServerProcs)
		case res.Started:
			started = " (started here)"
		}
		fmt.Fprintf(stdout, "server %s%s; load generator GOMAXPROCS %d, %d CPUs; %d API clients, %d flooders, %v phases, %d run(s)\n",
			res.Server, started, res.GOMAXPROCS, res.NumCPU, cfg.clients, cfg.flooders, cfg.duration, cfg.runs)
	}

	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	for r := 1; r <= cfg.runs; r++ {
		rr, err := runOnce(ctx, cfg, srvs, bases, fmt.Sprintf("%s-%d", tag, r), r)
		if err != nil {
			fmt.Fprintf(stderr, "loginflood: run %d: %v\n", r, err)
			for _, srv := range srvs {
				fmt.Fprintf(stderr, "server log of %s (last lines):\n%s\n", srv.url, srv.proc.Log.Tail())
			}
			return 2
		}
		res.Runs = append(res.Runs, *rr)
		if !cfg.json {
			printRun(stdout, cfg, r, rr)
		}
		for _, srv := range srvs {
			if srv.exited() {
				fmt.Fprintf(stderr, "loginflood: the server at %s exited: %v\n%s\n", srv.url, srv.proc.Err(), srv.proc.Log.Tail())
				return 2
			}
		}
	}
	res.Median = medians(res.Runs)
	for _, rr := range res.Runs {
		res.Violations.add(rr.Logins.Violations)
		for _, g := range rr.Genuine {
			res.Violations.add(g.Viol)
		}
		for _, p := range []Phase{rr.Baseline, rr.Flood} {
			for _, n := range p.GETStatuses {
				res.GETErrors += n
			}
		}
	}
	for _, srv := range srvs {
		lines, bytes := srv.proc.Log.Counts()
		res.ServerLog.Lines += lines
		res.ServerLog.Bytes += bytes
	}
	res.Elapsed = time.Since(began)
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		printSummary(stdout, cfg, res)
	}

	switch {
	case res.Violations.hard() || res.GETErrors > 0:
		fmt.Fprintln(stderr, "loginflood: FAIL: the login endpoint broke its promises (see violations)")
		return 1
	case res.Violations.Hangs > 0 && !cfg.smoke:
		fmt.Fprintln(stderr, "loginflood: FAIL: logins hung past", cfg.hang)
		return 1
	}
	return 0
}

// runOnce runs one baseline and one flood against the servers at bases
// (srvs, when this program started them). alice logs in on the first,
// where she logs in again during the flood, and her token serves the API
// clients of every server; the new address's user logs in on the last.
func runOnce(ctx context.Context, cfg config, srvs []*server, bases []string, tag string, runNo int) (*Run, error) {
	reqTimeout := max(10*time.Second, 3*cfg.hang)
	c := newClient(localhost, reqTimeout)
	defer closeClient(c)
	t0 := time.Now()
	a, err := login(ctx, c, bases[0], returnUser, demoPassword)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoToken, err)
	}
	if a.status != 200 || a.token == "" {
		return nil, fmt.Errorf("%w: %s answered %d (Retry-After %q)", errNoToken, returnUser, a.status, a.retryAfter)
	}
	rr := &Run{Login: time.Since(t0)}

	// Warm-up: connections, server goroutines, caches.
	wctx, wcancel := context.WithTimeout(ctx, min(time.Second, cfg.duration/5))
	runAPIClients(wctx, bases, a.token, cfg.clients, reqTimeout)
	wcancel()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}

	rr.Baseline = phase(ctx, cfg, srvs, func(pctx context.Context) apiResult {
		return runAPIClients(pctx, bases, a.token, cfg.clients, reqTimeout)
	})
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}

	start := time.Now()
	stats := newLoginStats(start, cfg.duration, cfg.hang)
	rr.Genuine = []*Genuine{
		{Name: "returning user", User: returnUser},
		{Name: "new address", User: newAddrUser},
	}
	rr.Flood = phase(ctx, cfg, srvs, func(pctx context.Context) apiResult {
		var wg sync.WaitGroup
		wg.Go(func() { runFlooders(pctx, bases, tag, cfg.flooders, reqTimeout, stats) })
		delay := min(2*time.Second, cfg.duration/5)
		for i, g := range rr.Genuine {
			src, base := localhost, bases[0]
			if i == 1 {
				src, base = newAddressClient(runNo), bases[len(bases)-1]
			}
			g.Start = delay
			wg.Go(func() {
				if sleepCtx(pctx, delay) {
					genuineLogin(pctx, g, base, demoPassword, src, reqTimeout, cfg.hang)
				}
			})
		}
		r := runAPIClients(pctx, bases, a.token, cfg.clients, reqTimeout)
		wg.Wait()
		return r
	})
	logins := stats.summary(rr.Flood.Elapsed)
	rr.Logins = &logins
	if rr.Baseline.GET.PerSec > 0 {
		rr.Ratio = rr.Flood.GET.PerSec / rr.Baseline.GET.PerSec
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	// Let logins held by the server drain before the next run's baseline.
	sleepCtx(ctx, cfg.hang)
	return rr, nil
}

// phase runs load for cfg.duration, sampling the servers once a second.
// Their use is summed: memory, threads, files and cores of the whole
// fleet.
func phase(ctx context.Context, cfg config, srvs []*server, load func(context.Context) apiResult) Phase {
	pctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var use *ServerUse
	var sampler sync.WaitGroup
	var first, last procSample
	if len(srvs) > 0 {
		use = new(ServerUse)
		first, _ = readProcs(srvs)
		last = first
		take := func(s procSample) {
			use.MaxRSSKiB = max(use.MaxRSSKiB, s.rssKiB)
			use.MaxThreads = max(use.MaxThreads, s.threads)
			use.MaxFDs = max(use.MaxFDs, s.fds)
			last = s
		}
		take(first)
		sampler.Go(func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-pctx.Done():
					return
				case <-tick.C:
					if s, err := readProcs(srvs); err == nil {
						take(s)
					}
				}
			}
		})
	}
	cpu0, t0 := selfCPU(), time.Now()
	r := load(pctx)
	cancel()
	sampler.Wait()
	elapsed := time.Since(t0)
	p := Phase{
		Elapsed:      elapsed,
		GET:          summarize(r.samples, elapsed),
		GETTransport: r.transport,
		LoadgenCores: (selfCPU() - cpu0).Seconds() / elapsed.Seconds(),
	}
	if len(r.statuses) > 0 {
		p.GETStatuses = r.statuses
	}
	if use != nil {
		if s, err := readProcs(srvs); err == nil {
			use.MaxRSSKiB = max(use.MaxRSSKiB, s.rssKiB)
			use.MaxThreads = max(use.MaxThreads, s.threads)
			use.MaxFDs = max(use.MaxFDs, s.fds)
			last = s
		}
		use.Cores = (last.cpu - first.cpu).Seconds() / elapsed.Seconds()
		p.Server = use
	}
	return p
}

func medians(runs []Run) Medians {
	var ratio, bget, fget, bp99, fp99 []float64
	for _, r := range runs {
		ratio = append(ratio, r.Ratio)
		bget = append(bget, r.Baseline.GET.PerSec)
		fget = append(fget, r.Flood.GET.PerSec)
		bp99 = append(bp99, float64(r.Baseline.GET.P99))
		fp99 = append(fp99, float64(r.Flood.GET.P99))
	}
	return Medians{
		Ratio:       loadtest.Median(ratio),
		BaselineGET: loadtest.Median(bget),
		FloodGET:    loadtest.Median(fget),
		BaselineP99: time.Duration(loadtest.Median(bp99)),
		FloodP99:    time.Duration(loadtest.Median(fp99)),
	}
}

// Command floorratio measures what jwtguard adds to the crypto floor of
// asymmetric verification (issue 16's target: uncached RS256, PS256, ES256
// and EdDSA verification at most 1.10 times the floor of the same token,
// same run).
//
//	go run ./bench/cmd/floorratio                        # 10 rounds of 1 s benchmarks, about 2.5 min
//	go run ./bench/cmd/floorratio -rounds 20 -o /tmp/keys.txt && benchstat /tmp/keys.txt
//	go run ./bench/cmd/floorratio -smoke                 # CI: a second or two, ratio not asserted
//
// For each algorithm it runs three benchmarks of bench/internal/keybench
// on one token jwtguard issued: the crypto floor (BenchmarkCryptoFloor:
// decode the signature, hash the signing input, the standard library's
// check), jwtguard's Authenticate of a request carrying the token
// (BenchmarkJWTGuard/<alg>/Authenticate: every token is verified in full,
// nothing of a verification is cached) and its Verify middleware into a
// handler that reads the claims (…/Verify). Each round runs all of them
// in turn in this one process, so that a slow spell of a noisy machine
// falls on the floor and on jwtguard alike: the algorithms in the order
// of keybench.Algs, and within each the floor first in even rounds and
// last in odd ones, so that a drift within a round does not favour
// either. Each run lasts -benchtime (testing.Benchmark's own ramp-up).
//
// It prints each round's ratios, jwtguard's time over the floor's of the
// same round, and per algorithm the median of those ratios, the ratio of
// the median times, and how many rounds were above -max-ratio. With -o it
// writes every run as a go test benchmark line, for benchstat. It exits 1
// when the median Authenticate ratio of an algorithm is above -max-ratio
// (not in -smoke; 0 turns the check off), and 2 when it cannot run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/bench/internal/keybench"
)

func main() {
	testing.Init() // testing.Benchmark reads -test.benchtime
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	rounds    int
	benchtime string
	algs      []string
	out       string
	maxRatio  float64
	smoke     bool
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	var algs string
	fs := flag.NewFlagSet("floorratio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.rounds, "rounds", 10, "rounds, each running every benchmark once")
	fs.StringVar(&c.benchtime, "benchtime", "1s", "each benchmark's run: a duration, or Nx iterations (go test's -benchtime)")
	fs.StringVar(&algs, "algs", strings.Join(keybench.Algs, ","), "the algorithms, comma-separated")
	fs.StringVar(&c.out, "o", "", "write every run to this file as go test benchmark lines (for benchstat)")
	fs.Float64Var(&c.maxRatio, "max-ratio", 1.10, "exit 1 if an algorithm's median Authenticate/floor ratio is above this (0: never)")
	fs.BoolVar(&c.smoke, "smoke", false, "2 rounds of 20 iterations, the ratio not asserted: a check that it runs")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.smoke {
		c.rounds, c.benchtime, c.maxRatio = 2, "20x", 0
	}
	if c.rounds < 1 {
		return c, errors.New("-rounds must be at least 1")
	}
	for a := range strings.SplitSeq(algs, ",") {
		if !slices.Contains(keybench.Algs, a) {
			return c, fmt.Errorf("-algs: %q is not one of %s", a, strings.Join(keybench.Algs, ","))
		}
		c.algs = append(c.algs, a)
	}
	return c, nil
}

// The benchmarks of a round, by the names of bench/verify's.
const (
	floorName  = "BenchmarkCryptoFloor"
	authName   = "BenchmarkJWTGuard/%s/Authenticate"
	verifyName = "BenchmarkJWTGuard/%s/Verify"
)

// A run is one benchmark's result in one round.
type result struct {
	name string
	res  testing.BenchmarkResult
}

// nsPerOp is the run's time per operation, unrounded.
func (r result) nsPerOp() float64 {
	if r.res.N == 0 {
		return 0
	}
	return float64(r.res.T.Nanoseconds()) / float64(r.res.N)
}

// line is r as go test prints it with -benchmem.
func (r result) line() string {
	return fmt.Sprintf("%s-%d\t%8d\t%10.0f ns/op\t%s", r.name, runtime.GOMAXPROCS(0), r.res.N, r.nsPerOp(), r.res.MemString())
}

// A round is the three runs of each algorithm in one round.
type round map[string][3]result // floor, Authenticate, Verify

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "floorratio:", err)
		return 2
	}
	bt := flag.Lookup("test.benchtime")
	if bt == nil {
		fmt.Fprintln(stderr, "floorratio: testing.Init was not called")
		return 2
	}
	old := bt.Value.String()
	if err := bt.Value.Set(c.benchtime); err != nil {
		fmt.Fprintln(stderr, "floorratio: -benchtime:", err)
		return 2
	}
	defer bt.Value.Set(old)
	var raw io.Writer = io.Discard
	if c.out != "" {
		f, err := os.Create(c.out)
		if err != nil {
			fmt.Fprintln(stderr, "floorratio:", err)
			return 2
		}
		defer f.Close()
		raw = f
	}
	fixtures := map[string]*keybench.Fixture{}
	for _, alg := range c.algs {
		f, err := keybench.New(alg)
		if err != nil {
			fmt.Fprintln(stderr, "floorratio:", err)
			return 2
		}
		fixtures[alg] = f
	}
	fmt.Fprintf(raw, "goos: %s\ngoarch: %s\npkg: github.com/jwtguard/jwtguard/bench/cmd/floorratio\n", runtime.GOOS, runtime.GOARCH)
	if cpu := cpuName(); cpu != "" {
		fmt.Fprintf(raw, "cpu: %s\n", cpu)
	}
	fmt.Fprintf(stdout, "%d rounds of %s per benchmark, GOMAXPROCS %d, %s\n", c.rounds, c.benchtime, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintln(stdout, "each round, per algorithm: the floor's time/op, Authenticate ÷ floor, Verify ÷ floor")
	start := time.Now()
	var rounds []round
	for i := range c.rounds {
		r := round{}
		for _, alg := range c.algs {
			f := fixtures[alg]
			bodies := []struct {
				name string
				fn   func(*testing.B)
			}{
				{floorName + "/" + alg, f.BenchmarkFloor},
				{fmt.Sprintf(authName, alg), f.BenchmarkAuthenticate},
				{fmt.Sprintf(verifyName, alg), f.BenchmarkVerify},
			}
			var runs [3]result
			for _, k := range order(i) {
				res := testing.Benchmark(bodies[k].fn)
				if res.N == 0 {
					fmt.Fprintf(stderr, "floorratio: %s failed\n", bodies[k].name)
					return 2
				}
				runs[k] = result{bodies[k].name, res}
			}
			for _, x := range runs {
				fmt.Fprintln(raw, x.line())
			}
			r[alg] = runs
		}
		rounds = append(rounds, r)
		fmt.Fprintf(stdout, "round %2d  %s\n", i+1, roundLine(c.algs, r))
	}
	fmt.Fprintf(stdout, "(%s)\n\n", time.Since(start).Round(time.Second))
	return report(stdout, c, rounds)
}

// order is the order of round i's runs of one algorithm, by index
// (floor, Authenticate, Verify): the floor first in even rounds, last in
// odd ones.
func order(i int) []int {
	if i%2 == 0 {
		return []int{0, 1, 2}
	}
	return []int{2, 1, 0}
}

func roundLine(algs []string, r round) string {
	var b strings.Builder
	for _, alg := range algs {
		x := r[alg]
		fmt.Fprintf(&b, "%s %s %.3f %.3f  ", alg, micro(x[0].nsPerOp()), x[1].nsPerOp()/x[0].nsPerOp(), x[2].nsPerOp()/x[0].nsPerOp())
	}
	return strings.TrimSpace(b.String())
}

// report prints the per-algorithm summary and returns the exit code.
func report(w io.Writer, c config, rounds []round) int {
	fmt.Fprintf(w, "medians of %d rounds; ÷floor is the median of the rounds' ratios (each round's jwtguard time over its floor time)\n", len(rounds))
	fmt.Fprintf(w, "%-6s %-13s %10s %6s %7s %7s %s\n", "alg", "benchmark", "time/op", "B/op", "allocs", "÷floor", "rounds' ratios, sorted")
	code := 0
	for _, alg := range c.algs {
		var times [3][]float64
		var ratios [3][]float64
		for _, r := range rounds {
			x := r[alg]
			for k := range x {
				times[k] = append(times[k], x[k].nsPerOp())
				ratios[k] = append(ratios[k], x[k].nsPerOp()/x[0].nsPerOp())
			}
		}
		last := rounds[len(rounds)-1][alg]
		for k, name := range []string{"floor", "Authenticate", "Verify"} {
			fmt.Fprintf(w, "%-6s %-13s %10s %6d %7d", alg, name, micro(median(times[k])), last[k].res.AllocedBytesPerOp(), last[k].res.AllocsPerOp())
			if k > 0 {
				fmt.Fprintf(w, " %7.3f %s", median(ratios[k]), sorted(ratios[k]))
			}
			fmt.Fprintln(w)
		}
		if c.maxRatio > 0 {
			above := 0
			for _, x := range ratios[1] {
				if x > c.maxRatio {
					above++
				}
			}
			verdict := "met"
			if median(ratios[1]) > c.maxRatio {
				verdict, code = "NOT MET", 1
			}
			fmt.Fprintf(w, "%-6s Authenticate ≤ %.2f × floor: %s (%d of %d rounds above)\n", alg, c.maxRatio, verdict, above, len(rounds))
		}
	}
	if c.smoke {
		fmt.Fprintln(w, "ok (smoke: ratios not asserted)")
	}
	return code
}

// sorted is xs sorted, three decimals each.
func sorted(xs []float64) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	var b strings.Builder
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.3f", x)
	}
	return b.String()
}

// median is the median of xs, which is not empty.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func micro(ns float64) string { return fmt.Sprintf("%.2f µs", ns/1000) }

// cpuName is the processor's model name on Linux, for benchstat's header,
// or "".
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

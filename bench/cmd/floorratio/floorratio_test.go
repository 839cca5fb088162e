package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/bench/internal/keybench"
)

// TestSmoke runs the whole program as CI would: two rounds of 20
// iterations of every benchmark, the report, and the benchmark lines for
// benchstat.
func TestSmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "keys.txt")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-smoke", "-o", out}, &stdout, &stderr)
	t.Logf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	if code != 0 {
		t.Fatalf("run -smoke = %d, want 0", code)
	}
	for _, alg := range keybench.Algs {
		for _, b := range []string{"floor", "Authenticate", "Verify"} {
			if !strings.Contains(stdout.String(), alg+"  "+b) && !strings.Contains(stdout.String(), alg+" "+b) {
				t.Errorf("report lacks %s %s", alg, b)
			}
		}
	}
	if !strings.Contains(stdout.String(), "ok (smoke") {
		t.Error("report lacks the smoke verdict")
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(raw)) {
		if strings.HasPrefix(l, "Benchmark") {
			lines = append(lines, l)
			if f := strings.Fields(l); len(f) != 8 || f[3] != "ns/op" || f[5] != "B/op" || f[7] != "allocs/op" {
				t.Errorf("not a benchmark line of go test -benchmem: %q", l)
			}
		}
	}
	if want := 2 * 3 * len(keybench.Algs); len(lines) != want {
		t.Errorf("%d benchmark lines, want %d", len(lines), want)
	}
	if len(lines) > 0 && !strings.HasPrefix(lines[0], "BenchmarkCryptoFloor/RS256-") {
		t.Errorf("first line %q", lines[0])
	}
}

func TestOrder(t *testing.T) {
	if got := [][]int{order(0), order(1), order(2)}; !slices.Equal(got[0], []int{0, 1, 2}) || !slices.Equal(got[1], []int{2, 1, 0}) || !slices.Equal(got[2], got[0]) {
		t.Errorf("orders %v", got)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	if _, err := parse([]string{"-algs", "RS256,HS256"}, &bytes.Buffer{}); err == nil {
		t.Error("-algs HS256 accepted")
	}
	if _, err := parse([]string{"-rounds", "0"}, &bytes.Buffer{}); err == nil {
		t.Error("-rounds 0 accepted")
	}
	c, err := parse([]string{"-algs", "EdDSA", "-rounds", "3"}, &bytes.Buffer{})
	if err != nil || !slices.Equal(c.algs, []string{"EdDSA"}) || c.rounds != 3 || c.maxRatio != 1.10 {
		t.Errorf("parse: %+v, %v", c, err)
	}
}

package loadtest

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	newFS := func(n *int) *flag.FlagSet {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.IntVar(n, "n", 1, "a number")
		return fs
	}
	var n int
	if err := ParseFlags(newFS(&n), []string{"-n", "3"}); err != nil || n != 3 {
		t.Errorf("ParseFlags(-n 3) = %v, n %d", err, n)
	}
	if err := ParseFlags(newFS(&n), []string{"-n", "3", "extra"}); err == nil || err.Error() != `unexpected arguments: ["extra"]` {
		t.Errorf("ParseFlags with an argument = %v", err)
	}
	if err := ParseFlags(newFS(&n), []string{"-nope"}); err == nil {
		t.Error("ParseFlags with an unknown flag succeeded")
	}
	if err := ParseFlags(newFS(&n), []string{"-h"}); err != flag.ErrHelp {
		t.Errorf("ParseFlags(-h) = %v, want flag.ErrHelp", err)
	}
}

func TestSetUnset(t *testing.T) {
	var (
		d     time.Duration
		n, k  int
		smoke bool
	)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.DurationVar(&d, "duration", 10*time.Second, "")
	fs.IntVar(&n, "n", 16, "")
	fs.IntVar(&k, "k", 5, "")
	fs.BoolVar(&smoke, "smoke", false, "")
	if err := fs.Parse([]string{"-n", "50", "-smoke"}); err != nil {
		t.Fatal(err)
	}
	if err := SetUnset(fs, map[string]string{"duration": "2s", "n": "4"}); err != nil {
		t.Fatal(err)
	}
	if d != 2*time.Second || n != 50 || k != 5 || !smoke {
		t.Errorf("after SetUnset: duration %v, n %d, k %d, smoke %v; want 2s, 50 (given), 5 (not named), true", d, n, k, smoke)
	}
	if err := SetUnset(fs, map[string]string{"k": "many"}); err == nil {
		t.Error("SetUnset with a bad value succeeded")
	}
	if err := SetUnset(fs, map[string]string{"nope": "1"}); err == nil {
		t.Error("SetUnset of an unknown flag succeeded")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{0.5}, 0.5},
		{"odd, unsorted", []float64{0.9, 0.1, 0.5}, 0.5},
		{"even", []float64{4, 1, 2, 3}, 2.5},
		{"five ratios", []float64{0.84, 0.91, 0.86, 1.2, 0.7}, 0.86},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := append([]float64(nil), tc.xs...)
			if got := Median(tc.xs); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
			}
			for i := range orig {
				if orig[i] != tc.xs[i] {
					t.Fatalf("Median reordered its argument")
				}
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	b := NewTailBuffer(16)
	if got := b.Tail(); got != "" {
		t.Errorf("Tail of nothing = %q", got)
	}
	for _, s := range []string{"one\n", "two\n", "three\n", "four\n", "five\n"} {
		io.WriteString(b, s)
	}
	// Kept: the last 16 bytes, "three\nfour\nfive\n"; the buffer is full,
	// so its first line, which might have lost its start, is left out.
	if got := b.Tail(); got != "four\nfive" {
		t.Errorf("Tail = %q", got)
	}
	if lines, n := b.Counts(); lines != 5 || n != 24 {
		t.Errorf("Counts = %d, %d; want 5, 24", lines, n)
	}

	// Ten lines at the most, and a last line without its newline.
	b = NewTailBuffer(1 << 10)
	for i := range 12 {
		io.WriteString(b, strings.Repeat("x", i)+"\n")
	}
	io.WriteString(b, "end")
	lines := strings.Split(b.Tail(), "\n")
	if len(lines) != 10 || lines[0] != strings.Repeat("x", 3) || lines[9] != "end" {
		t.Errorf("Tail = %q", lines)
	}
}

// TestTailBufferConcurrent is for the race detector.
func TestTailBufferConcurrent(t *testing.T) {
	b := NewTailBuffer(64)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 100 {
				io.WriteString(b, "line\n")
				b.Tail()
			}
		}()
	}
	for range 4 {
		<-done
	}
	if lines, n := b.Counts(); lines != 400 || n != 2000 {
		t.Errorf("Counts = %d, %d; want 400, 2000", lines, n)
	}
}

func TestProcessCPU(t *testing.T) {
	c0 := ProcessCPU()
	if c0 < 0 {
		t.Fatalf("ProcessCPU = %v", c0)
	}
	// Burn CPU until the counter moves (its unit is a clock tick or finer).
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for ProcessCPU() == c0 && time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x ^= i
		}
	}
	if !cpuMeasured {
		if c := ProcessCPU(); c != 0 {
			t.Errorf("ProcessCPU = %v where it is not measured", c)
		}
		return
	}
	if c := ProcessCPU(); c <= c0 {
		t.Errorf("ProcessCPU did not grow over 5 s of work: %v then %v (%d)", c0, c, x)
	}
}

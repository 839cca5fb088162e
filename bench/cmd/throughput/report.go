package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

func us(ns float64) string { return fmt.Sprintf("%.1f", ns/1e3) }

func printHeader(w io.Writer) {
	fmt.Fprintf(w, "\n%-4s %-4s %10s %8s %8s %11s %11s %11s\n", "pair", "run", "req/s", "server", "client", "server", "server", "client")
	fmt.Fprintf(w, "%-4s %-4s %10s %8s %8s %11s %11s %11s\n", "", "", "", "cores", "cores", "µs/req", "allocs/req", "µs/req")
}

func printPair(w io.Writer, n int, p *Pair) {
	for _, which := range p.Order {
		r := &p.A
		if which == 'B' {
			r = &p.B
		}
		fmt.Fprintf(w, "%-4d %-4c %10.0f %8.2f %8.2f %11s %11.1f %11s", n, which, r.PerSec, r.ServerCores, r.ClientCores,
			us(r.CPUPerReq), r.AllocsPerReq, us(r.ClientPerReq))
		if e := r.Errors(); e > 0 {
			fmt.Fprintf(w, "  %d ERRORS (%s)", e, r.FirstError)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "  (%s)", r.Note)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-4d %-4s %10.3f", n, "A/B", p.Ratio)
	if p.CPURatio > 0 {
		fmt.Fprintf(w, "   (from CPU per request: %.3f)", p.CPURatio)
	}
	fmt.Fprintln(w)
}

func printSummary(w io.Writer, cfg config, res *Result) {
	m := res.Median
	var ratios []string
	for _, p := range res.Pairs {
		ratios = append(ratios, fmt.Sprintf("%.3f", p.Ratio))
	}
	fmt.Fprintf(w, "\nmedian of %d pair(s): A %.0f req/s, B %.0f req/s; A/B %.3f (pairs: %s)\n",
		len(res.Pairs), m.APerSec, m.BPerSec, m.Ratio, strings.Join(ratios, " "))
	if m.ACPUPerReq > 0 {
		d := m.ACPUPerReq - m.BCPUPerReq
		fmt.Fprintf(w, "server CPU per request (medians): A %s µs, B %s µs; A − B %s µs, %.0f%% of A's; heap allocations per request A %.1f (%.0f B), B %.1f (%.0f B)\n",
			us(m.ACPUPerReq), us(m.BCPUPerReq), us(d), 100*d/m.ACPUPerReq, m.AAllocsReq, m.ABytesReq, m.BAllocsReq, m.BBytesReq)
		fmt.Fprintf(w, "load generator CPU per request (medians): A %s µs, B %s µs\n", us(m.AClientPerRq), us(m.BClientPerRq))
		fmt.Fprintf(w, "A/B from CPU per request, server and load generator (median): %.3f\n", m.CPURatio)
	}
	fmt.Fprintf(w, "requests without 200 and the expected body: %d; took %v\n", res.Errors, res.Elapsed.Round(100*time.Millisecond))
}

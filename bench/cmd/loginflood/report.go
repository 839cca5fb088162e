package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func printRun(w io.Writer, cfg config, n int, r *Run) {
	fmt.Fprintf(w, "\nrun %d (alice's login before the baseline: %s)\n", n, ms(r.Login))
	b, f := r.Baseline, r.Flood
	row := func(name, a, b string) { fmt.Fprintf(w, "  %-32s %12s %12s\n", name, a, b) }
	row("", "baseline", "flood")
	row("verified GET/s", fmt.Sprintf("%.0f", b.GET.PerSec), fmt.Sprintf("%.0f", f.GET.PerSec))
	row("GET p50", ms(b.GET.P50), ms(f.GET.P50))
	row("GET p99", ms(b.GET.P99), ms(f.GET.P99))
	row("GET max", ms(b.GET.Max), ms(f.GET.Max))
	row("GET errors (non-200/transport)", fmt.Sprintf("%d/%d", sum(b.GETStatuses), b.GETTransport), fmt.Sprintf("%d/%d", sum(f.GETStatuses), f.GETTransport))
	row("ratio (flood ÷ baseline GET/s)", "", fmt.Sprintf("%.3f", r.Ratio))
	l := r.Logins
	for _, c := range classNames {
		row("logins/s "+c, "", fmt.Sprintf("%.1f", l.PerSec[c]))
	}
	row("login p50", "", ms(l.Latency.P50))
	row("login p99", "", ms(l.Latency.P99))
	row("login max", "", ms(l.Latency.Max))
	if b.Server != nil {
		row("server max RSS", fmt.Sprintf("%.1f MiB", float64(b.Server.MaxRSSKiB)/1024), fmt.Sprintf("%.1f MiB", float64(f.Server.MaxRSSKiB)/1024))
		row("server max threads / open fds", fmt.Sprintf("%d / %d", b.Server.MaxThreads, b.Server.MaxFDs), fmt.Sprintf("%d / %d", f.Server.MaxThreads, f.Server.MaxFDs))
		row("server CPU (cores)", fmt.Sprintf("%.2f", b.Server.Cores), fmt.Sprintf("%.2f", f.Server.Cores))
	}
	row("load generator CPU (cores)", fmt.Sprintf("%.2f", b.LoadgenCores), fmt.Sprintf("%.2f", f.LoadgenCores))
	v := l.Violations
	fmt.Fprintf(w, "  violations: wrong-password 200s %d, bad 5xx %d, unexpected status %d, 429/503 without Retry-After %d, hangs (> %v) %d; transport errors %d\n",
		v.WrongPassword200, v.Bad5xx, v.Unexpected, v.NoRetryAfter, cfg.hang, v.Hangs, l.TransportErrors)
	for _, g := range r.Genuine {
		fmt.Fprintf(w, "  genuine %s (%s from %s, from %v into the flood): ", g.Name, g.User, g.Source, g.Start)
		if g.LoggedIn {
			fmt.Fprintf(w, "logged in after %s, %d attempt(s)", ms(g.After), g.Attempts)
			if !g.TokenOK {
				fmt.Fprint(w, ", but its token FAILED a verified GET")
			}
		} else {
			fmt.Fprintf(w, "NOT logged in (%s), %d attempt(s)", g.Problem, g.Attempts)
		}
		fmt.Fprintf(w, " [%s]", statusList(g.Statuses))
		if gv := g.Viol; gv != (Violations{}) {
			fmt.Fprintf(w, " violations %+v", gv)
		}
		fmt.Fprintln(w)
	}
	if cfg.verbose {
		fmt.Fprintf(w, "  flood logins per second (%s):\n", strings.Join(classNames[:], "/"))
		for i, s := range l.Timeline {
			fmt.Fprintf(w, "    %3ds  %v\n", i, s)
		}
	}
}

func printSummary(w io.Writer, cfg config, res *Result) {
	m := res.Median
	what := "run 1"
	if len(res.Runs) > 1 {
		what = fmt.Sprintf("median of %d runs", len(res.Runs))
	}
	fmt.Fprintf(w, "\nsummary (%s): verified GET/s %.0f → %.0f under flood, ratio %.3f; p99 %s → %s\n",
		what, m.BaselineGET, m.FloodGET, m.Ratio, ms(m.BaselineP99), ms(m.FloodP99))
	v := res.Violations
	fmt.Fprintf(w, "violations (all runs, genuine users included): wrong-password 200s %d, bad 5xx %d, unexpected status %d, missing Retry-After %d, hangs %d; verified GETs refused %d\n",
		v.WrongPassword200, v.Bad5xx, v.Unexpected, v.NoRetryAfter, v.Hangs, res.GETErrors)
	if res.Started {
		fmt.Fprintf(w, "server log: %d lines, %d bytes\n", res.ServerLog.Lines, res.ServerLog.Bytes)
	}
	fmt.Fprintf(w, "took %v", res.Elapsed.Round(100*time.Millisecond))
	if cfg.smoke {
		fmt.Fprint(w, " (smoke: figures not asserted)")
	}
	fmt.Fprintln(w)
}

func sum(m map[int]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

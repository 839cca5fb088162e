package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loopback is the only network this program sends traffic to or from.
var loopback = netip.MustParsePrefix("127.0.0.0/8")

// localhost is the source of the API clients and of the returning user.
var localhost = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// sourceAddr returns the source address of flooder i (from 0): 127.0.0.2,
// 127.0.0.3, … 127.0.0.254, then 127.0.1.1 … 127.0.1.254 and so on. It never
// returns 127.0.0.1 (the API clients and the returning user), an address
// ending in .0 or .255, or one in 127.0.3.0/24 (kept for genuine clients
// from new addresses); it returns false when i is past the addresses it
// hands out (well beyond any sane flood).
func sourceAddr(i int) (netip.Addr, bool) {
	if i < 0 {
		return netip.Addr{}, false
	}
	const perBlock = 254 // last octet 1..254
	n := i + 1           // skip 127.0.0.1
	block := n / perBlock
	host := n%perBlock + 1
	// Third octet 3 of second octet 0 is the genuine clients' block.
	if block >= 3 {
		block++
	}
	second, third := block/256, block%256
	if second > 255 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{127, byte(second), byte(third), byte(host)}), true
}

// newAddressClient returns the source address of the genuine client "from a
// new address" in run (from 1): 127.0.3.run, an address no flooder uses and
// no earlier run of this process logged in from.
func newAddressClient(run int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, 3, byte(1 + (run-1)%254)})
}

// checkServerURL parses a -server URL and returns its base (scheme and
// host). It refuses anything but http to an IPv4 address in 127.0.0.0/8
// ("localhost" is taken as 127.0.0.1) with a port.
func checkServerURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("-server %q: scheme must be http", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("-server %q: want only http://host:port", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		return "", fmt.Errorf("-server %q: no port", raw)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "", fmt.Errorf("-server %q: bad port", raw)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() || !loopback.Contains(a) {
		return "", fmt.Errorf("-server %q: host must be an IPv4 address in 127.0.0.0/8: this program sends traffic to loopback only", raw)
	}
	return "http://" + net.JoinHostPort(a.String(), port), nil
}

// parseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3): a number of
// seconds or an HTTP date. It returns false for an empty or unreadable
// value. A date in the past is 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		s, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(0, t.Sub(now)), true
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted, by the
// nearest-rank method, or 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Latency is a summary of request latencies.
type Latency struct {
	Count  int           `json:"count"`
	PerSec float64       `json:"per_sec"`
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
	Max    time.Duration `json:"max_ns"`
}

func summarize(samples []time.Duration, elapsed time.Duration) Latency {
	slices.Sort(samples)
	l := Latency{Count: len(samples), P50: percentile(samples, 50), P99: percentile(samples, 99)}
	if len(samples) > 0 {
		l.Max = samples[len(samples)-1]
	}
	if elapsed > 0 {
		l.PerSec = float64(len(samples)) / elapsed.Seconds()
	}
	return l
}

// Login answer classes, in report order.
const (
	class200 = iota
	class401
	class429
	class503
	classOther
	nClasses
)

var classNames = [nClasses]string{"200", "401", "429", "503", "other"}

func classOf(status int) int {
	switch status {
	case http.StatusOK:
		return class200
	case http.StatusUnauthorized:
		return class401
	case http.StatusTooManyRequests:
		return class429
	case http.StatusServiceUnavailable:
		return class503
	}
	return classOther
}

// Violations are answers to wrong-password logins that break the login
// endpoint's promises.
type Violations struct {
	WrongPassword200 int64 `json:"wrong_password_200"` // a wrong password logged in
	Bad5xx           int64 `json:"bad_5xx"`            // 5xx other than 503
	Unexpected       int64 `json:"unexpected_status"`  // not 200, 401, 429, 503 or 5xx
	NoRetryAfter     int64 `json:"no_retry_after"`     // 429 or 503 without a readable Retry-After
	Hangs            int64 `json:"hangs"`              // answered (or not) after more than the hang bound
}

// hard reports whether v holds a correctness violation (anything but hangs,
// which depend on timing).
func (v Violations) hard() bool {
	return v.WrongPassword200+v.Bad5xx+v.Unexpected+v.NoRetryAfter > 0
}

func (v *Violations) add(o Violations) {
	v.WrongPassword200 += o.WrongPassword200
	v.Bad5xx += o.Bad5xx
	v.Unexpected += o.Unexpected
	v.NoRetryAfter += o.NoRetryAfter
	v.Hangs += o.Hangs
}

// loginStats accounts for the flood's login answers. Safe for concurrent
// use.
type loginStats struct {
	start time.Time
	hang  time.Duration

	mu        sync.Mutex
	counts    [nClasses]int64
	perSecond [][nClasses]int64
	latencies []time.Duration
	viol      Violations
	transport int64 // requests that failed without an answer
	statuses  map[int]int64
}

func newLoginStats(start time.Time, phase, hang time.Duration) *loginStats {
	return &loginStats{
		start:     start,
		hang:      hang,
		perSecond: make([][nClasses]int64, int(phase/time.Second)+1),
		statuses:  make(map[int]int64),
	}
}

// record accounts for the answer to a wrong-password login sent at sent and
// answered after d.
func (s *loginStats) record(sent time.Time, d time.Duration, status int, retryAfter string) {
	c := classOf(status)
	_, raOK := parseRetryAfter(retryAfter, sent.Add(d))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[c]++
	s.statuses[status]++
	sec := min(max(int(sent.Add(d).Sub(s.start)/time.Second), 0), len(s.perSecond)-1)
	s.perSecond[sec][c]++
	s.latencies = append(s.latencies, d)
	switch {
	case c == class200:
		s.viol.WrongPassword200++
	case (c == class429 || c == class503) && !raOK:
		s.viol.NoRetryAfter++
	case c == classOther && status >= 500:
		s.viol.Bad5xx++
	case c == classOther:
		s.viol.Unexpected++
	}
	if d > s.hang {
		s.viol.Hangs++
	}
}

// failed accounts for a login that got no answer after d; stopped says the
// phase ended under it (not a failure unless it had already hung).
func (s *loginStats) failed(d time.Duration, stopped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !stopped {
		s.transport++
	}
	if d > s.hang {
		s.viol.Hangs++
	}
}

// LoginSummary is the flood's login answers over one phase.
type LoginSummary struct {
	Counts          map[string]int64   `json:"counts"`
	PerSec          map[string]float64 `json:"per_sec"`
	Statuses        map[int]int64      `json:"statuses"`
	Timeline        [][nClasses]int64  `json:"timeline"` // per second, classes as in counts
	Latency         Latency            `json:"latency"`
	Violations      Violations         `json:"violations"`
	TransportErrors int64              `json:"transport_errors"`
}

func (s *loginStats) summary(elapsed time.Duration) LoginSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := LoginSummary{
		Counts:          make(map[string]int64),
		PerSec:          make(map[string]float64),
		Statuses:        s.statuses,
		Timeline:        slices.Clone(s.perSecond),
		Latency:         summarize(s.latencies, elapsed),
		Violations:      s.viol,
		TransportErrors: s.transport,
	}
	for c, n := range s.counts {
		sum.Counts[classNames[c]] = n
		if elapsed > 0 {
			sum.PerSec[classNames[c]] = float64(n) / elapsed.Seconds()
		}
	}
	return sum
}

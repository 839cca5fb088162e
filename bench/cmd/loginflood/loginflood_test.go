package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", ms(7), 50, 7 * time.Millisecond},
		{"one sample p99", ms(7), 99, 7 * time.Millisecond},
		{"two samples p50", ms(1, 9), 50, 1 * time.Millisecond},
		{"odd p50", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"100 p50", hundred, 50, 50 * time.Millisecond},
		{"100 p99", hundred, 99, 99 * time.Millisecond},
		{"100 p100", hundred, 100, 100 * time.Millisecond},
		{"tiny p", hundred, 0.001, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	s := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}
	l := summarize(s, 2*time.Second)
	if l.Count != 4 || l.PerSec != 2 || l.P50 != 2*time.Millisecond || l.P99 != 4*time.Millisecond || l.Max != 4*time.Millisecond {
		t.Errorf("summarize = %+v", l)
	}
}

func TestSourceAddr(t *testing.T) {
	for i, want := range map[int]string{
		0:   "127.0.0.2",
		1:   "127.0.0.3",
		252: "127.0.0.254",
		253: "127.0.1.1",
		506: "127.0.1.254",
		507: "127.0.2.1",
		761: "127.0.4.1", // 127.0.3.x is the genuine clients'
	} {
		a, ok := sourceAddr(i)
		if !ok || a.String() != want {
			t.Errorf("sourceAddr(%d) = %v, %v; want %s", i, a, ok, want)
		}
	}
	genuine := netip.MustParsePrefix("127.0.3.0/24")
	seen := make(map[netip.Addr]int)
	for i := range 100_000 {
		a, ok := sourceAddr(i)
		if !ok {
			t.Fatalf("sourceAddr(%d) ran out", i)
		}
		b := a.As4()
		switch {
		case !loopback.Contains(a):
			t.Fatalf("sourceAddr(%d) = %v, outside %v", i, a, loopback)
		case a == localhost:
			t.Fatalf("sourceAddr(%d) = 127.0.0.1, the API clients' address", i)
		case genuine.Contains(a):
			t.Fatalf("sourceAddr(%d) = %v, in the genuine clients' block", i, a)
		case b[3] == 0 || b[3] == 255:
			t.Fatalf("sourceAddr(%d) = %v ends in .0 or .255", i, a)
		}
		if j, dup := seen[a]; dup {
			t.Fatalf("sourceAddr(%d) = sourceAddr(%d) = %v", i, j, a)
		}
		seen[a] = i
	}
	for _, i := range []int{-1, 256 * 256 * 254} {
		if a, ok := sourceAddr(i); ok {
			t.Errorf("sourceAddr(%d) = %v, true; want false", i, a)
		}
	}
}

func TestNewAddressClient(t *testing.T) {
	genuine := netip.MustParsePrefix("127.0.3.0/24")
	seen := map[netip.Addr]bool{}
	for run := 1; run <= 20; run++ {
		a := newAddressClient(run)
		if !genuine.Contains(a) || a.As4()[3] == 0 || seen[a] {
			t.Errorf("newAddressClient(%d) = %v", run, a)
		}
		seen[a] = true
	}
	if a := newAddressClient(1); a.String() != "127.0.3.1" {
		t.Errorf("newAddressClient(1) = %v, want 127.0.3.1", a)
	}
}

func TestCheckServerURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for a refusal
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"http://127.9.8.7:1", "http://127.9.8.7:1"},
		{"http://localhost:8080", "http://127.0.0.1:8080"},
		{"http://LOCALHOST:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1", ""},
		{"http://127.0.0.1:0", ""},
		{"http://127.0.0.1:99999", ""},
		{"https://127.0.0.1:8443", ""},
		{"http://10.0.0.1:8080", ""},
		{"http://192.168.1.1:80", ""},
		{"http://[::1]:8080", ""},
		{"http://[::ffff:127.0.0.1]:8080", ""},
		{"http://example.com:80", ""},
		{"http://127.0.0.1.example.com:80", ""},
		{"http://user:pw@127.0.0.1:8080", ""},
		{"http://127.0.0.1:8080/api", ""},
		{"http://127.0.0.1:8080?x=1", ""},
		{"127.0.0.1:8080", ""},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := checkServerURL(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Errorf("checkServerURL(%q) = %q, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("checkServerURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"0", 0, true},
		{" 30 ", 30 * time.Second, true},
		{"120", 2 * time.Minute, true},
		{"", 0, false},
		{"  ", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"1s", 0, false},
		{"soon", 0, false},
		{"99999999999", 0, false},
		{"Tue, 24 Nov 2026 02:00:05 GMT", 5 * time.Second, true},
		{"Tue, 24 Nov 2026 01:59:00 GMT", 0, true},
		{"Tuesday, 24-Nov-26 02:00:10 GMT", 10 * time.Second, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLoginStats(t *testing.T) {
	start := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	s := newLoginStats(start, 3*time.Second, time.Second)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	fast := 10 * time.Millisecond
	s.record(at(0), fast, 401, "")
	s.record(at(100), fast, 401, "")
	s.record(at(1100), fast, 429, "3")
	s.record(at(1200), fast, 429, "")                   // no Retry-After
	s.record(at(1300), 1500*time.Millisecond, 503, "1") // hang
	s.record(at(2100), fast, 503, "soon")               // unreadable Retry-After
	s.record(at(2200), fast, 200, "")                   // a wrong password logged in
	s.record(at(2300), fast, 500, "")
	s.record(at(2400), fast, 400, "")
	s.record(at(9000), fast, 401, "") // late: goes to the last second
	s.failed(2*time.Second, true)     // cut by the phase end after hanging
	s.failed(fast, true)              // cut by the phase end: nothing
	s.failed(fast, false)             // connection refused

	sum := s.summary(2 * time.Second)
	wantCounts := map[string]int64{"200": 1, "401": 3, "429": 2, "503": 2, "other": 2}
	for k, v := range wantCounts {
		if sum.Counts[k] != v {
			t.Errorf("Counts[%s] = %d, want %d", k, sum.Counts[k], v)
		}
	}
	if sum.PerSec["401"] != 1.5 {
		t.Errorf("PerSec[401] = %v, want 1.5", sum.PerSec["401"])
	}
	if sum.Statuses[500] != 1 || sum.Statuses[400] != 1 {
		t.Errorf("Statuses = %v", sum.Statuses)
	}
	want := Violations{WrongPassword200: 1, Bad5xx: 1, Unexpected: 1, NoRetryAfter: 2, Hangs: 2}
	if sum.Violations != want {
		t.Errorf("Violations = %+v, want %+v", sum.Violations, want)
	}
	if !sum.Violations.hard() || (Violations{Hangs: 3}).hard() {
		t.Error("hard() wrong")
	}
	if sum.TransportErrors != 1 {
		t.Errorf("TransportErrors = %d, want 1", sum.TransportErrors)
	}
	wantTimeline := [][nClasses]int64{
		{0, 2, 0, 0, 0},
		{0, 0, 2, 0, 0},
		{1, 0, 0, 2, 2}, // the hang is counted when answered, at 2.8 s
		{0, 1, 0, 0, 0},
	}
	if len(sum.Timeline) != len(wantTimeline) {
		t.Fatalf("Timeline = %v, want %v", sum.Timeline, wantTimeline)
	}
	for i := range wantTimeline {
		if sum.Timeline[i] != wantTimeline[i] {
			t.Errorf("Timeline[%d] = %v, want %v", i, sum.Timeline[i], wantTimeline[i])
		}
	}
	if sum.Latency.Count != 10 || sum.Latency.Max != 1500*time.Millisecond {
		t.Errorf("Latency = %+v", sum.Latency)
	}
}

func TestClassOf(t *testing.T) {
	for status, want := range map[int]int{200: class200, 401: class401, 429: class429, 503: class503, 500: classOther, 400: classOther, 302: classOther} {
		if got := classOf(status); got != want {
			t.Errorf("classOf(%d) = %d, want %d", status, got, want)
		}
	}
}

func TestStatusList(t *testing.T) {
	if got := statusList(map[int]int{200: 1, 503: 3, 429: 1}); got != "503×3 200×1 429×1" {
		t.Errorf("statusList = %q", got)
	}
	if got := statusList(nil); got != "" {
		t.Errorf("statusList(nil) = %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(config) bool
		fails bool
	}{
		{"defaults", nil, func(c config) bool {
			return c.duration == 10*time.Second && c.clients == 16 && c.flooders == 200 && c.runs == 1 && c.timeout > 2*c.duration
		}, false},
		{"smoke", []string{"-smoke"}, func(c config) bool {
			return c.duration == 2*time.Second && c.clients == 4 && c.flooders == 20 && c.runs == 1
		}, false},
		{"smoke keeps explicit flags", []string{"-flooders", "50", "-smoke"}, func(c config) bool {
			return c.duration == 2*time.Second && c.flooders == 50
		}, false},
		{"server", []string{"-server", "http://localhost:9000/"}, func(c config) bool { return c.server == "http://127.0.0.1:9000" }, false},
		{"remote server", []string{"-server", "http://10.1.2.3:80"}, nil, true},
		{"zero clients", []string{"-clients", "0"}, nil, true},
		{"short phase", []string{"-duration", "10ms"}, nil, true},
		{"too many flooders", []string{"-flooders", "100000"}, nil, true},
		{"argument", []string{"extra"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseFlags(tc.args, io.Discard)
			if tc.fails {
				if err == nil {
					t.Errorf("parseFlags(%q) succeeded: %+v", tc.args, c)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Errorf("parseFlags(%q) = %+v, %v", tc.args, c, err)
			}
		})
	}
}

// fakeLogin is a login route that answers the first n logins with 503 and
// Retry-After: 0, then 200 with a token, and a secure route that wants it.
func fakeLogin(t *testing.T, busy int) (*httptest.Server, *int) {
	var mu sync.Mutex
	calls := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/login", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Username, Password string }
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch {
		case req.Password != demoPassword:
			w.WriteHeader(http.StatusUnauthorized)
		case n <= busy:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			io.WriteString(w, `{"access_token":"tok"}`)
		}
	})
	mux.HandleFunc("GET /api/secure-data", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestGenuineLogin(t *testing.T) {
	srv, calls := fakeLogin(t, 2)
	g := &Genuine{User: returnUser}
	genuineLogin(t.Context(), g, srv.URL, demoPassword, localhost, 5*time.Second, 5*time.Second)
	if !g.LoggedIn || !g.TokenOK || g.Attempts != 3 || *calls != 3 || g.Statuses[503] != 2 || g.Statuses[200] != 1 {
		t.Errorf("genuineLogin: %+v after %d calls", g, *calls)
	}
	if g.Viol != (Violations{}) {
		t.Errorf("violations %+v", g.Viol)
	}

	g = &Genuine{User: returnUser}
	genuineLogin(t.Context(), g, srv.URL, "wrong", localhost, 5*time.Second, 5*time.Second)
	if g.LoggedIn || g.Viol.Unexpected != 1 || g.Attempts != 1 {
		t.Errorf("genuineLogin with a refused password: %+v", g)
	}
}

func TestFloodersUseTheirAddressesAndFreshUsernames(t *testing.T) {
	var mu sync.Mutex
	users := map[string]bool{}
	addrs := map[string]bool{}
	dup := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Username, Password string }
		json.NewDecoder(r.Body).Decode(&req)
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		dup = dup || users[req.Username]
		users[req.Username] = true
		addrs[host] = true
		mu.Unlock()
		if req.Password == demoPassword {
			t.Errorf("flooder sent the right password")
		}
		w.Header().Set("Retry-After", "30") // ignored
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	stats := newLoginStats(time.Now(), time.Second, time.Second)
	runFlooders(ctx, []string{srv.URL}, "test", 3, 5*time.Second, stats)
	srv.Close() // waits for the handlers of requests cut at the end

	// The server may have seen requests whose answers the phase end cut.
	sum := stats.summary(200 * time.Millisecond)
	if sum.Counts["429"] < 3 || sum.Counts["429"] > int64(len(users)) || dup {
		t.Errorf("%d answers, %d distinct usernames, duplicates %v", sum.Counts["429"], len(users), dup)
	}
	if sum.Violations != (Violations{}) || sum.TransportErrors != 0 {
		t.Errorf("violations %+v, transport errors %d", sum.Violations, sum.TransportErrors)
	}
	var got []string
	for a := range addrs {
		got = append(got, a)
	}
	want := "127.0.0.2 127.0.0.3 127.0.0.4"
	if len(got) != 3 || !strings.Contains(want, got[0]) || !strings.Contains(want, got[1]) || !strings.Contains(want, got[2]) {
		t.Errorf("source addresses %v, want %s", got, want)
	}
}

func TestClientRefusesNonLoopback(t *testing.T) {
	c := newClient(localhost, time.Second)
	defer closeClient(c)
	_, err := c.Get("http://192.0.2.1:80/")
	if err == nil || !strings.Contains(err.Error(), "refusing to dial") {
		t.Errorf("GET to 192.0.2.1: %v, want a refusal", err)
	}
}

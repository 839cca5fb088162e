package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the server child, as the program's
// own executable is outside tests.
func TestMain(m *testing.M) {
	if v, ok := os.LookupEnv(childEnv); ok {
		os.Exit(childMain(v))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole program as CI does: the child, the preflight,
// interleaved runs and the report.
func TestSmoke(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"-smoke"}, &out, &errb)
	t.Logf("stdout:\n%s\nstderr:\n%s", &out, &errb)
	if code != 0 {
		t.Fatalf("run -smoke = %d, want 0", code)
	}
	for _, want := range []string{"median of 2 pair(s)", "1    A/B", "2    A/B", "requests without 200 and the expected body: 0", "ok (smoke"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Pair 2 runs B first.
	if i, j := strings.Index(out.String(), "2    B"), strings.Index(out.String(), "2    A "); i < 0 || j < 0 || i > j {
		t.Errorf("pair 2 is not B then A")
	}
}

func TestPairOrder(t *testing.T) {
	var got []string
	for i := range 4 {
		got = append(got, pairOrder(i))
	}
	if s := strings.Join(got, ","); s != "AB,BA,AB,BA" {
		t.Errorf("orders %s", s)
	}
}

// pairs makes pairs with the given A and B req/s.
func pairs(ab ...float64) []Pair {
	var ps []Pair
	for i := 0; i+1 < len(ab); i += 2 {
		p := Pair{Order: pairOrder(i / 2)}
		p.A.PerSec, p.B.PerSec = ab[i], ab[i+1]
		p.ratios()
		ps = append(ps, p)
	}
	return ps
}

func TestMediansAndJudge(t *testing.T) {
	cfg := config{minRatio: 0.85}
	res := &Result{Pairs: pairs(90, 100, 80, 100, 95, 100, 70, 100, 99, 100)}
	res.Median = medians(res.Pairs)
	if res.Median.Ratio != 0.9 || res.Median.APerSec != 90 || res.Median.BPerSec != 100 {
		t.Errorf("medians %+v", res.Median)
	}
	if code, v := judge(cfg, res); code != 0 || !strings.HasPrefix(v, "PASS") {
		t.Errorf("judge = %d %q, want a pass", code, v)
	}

	// CPU per request: A 30+10 µs, B 26+10: 0.9.
	p := Pair{}
	p.A.PerSec, p.B.PerSec = 1, 1
	p.A.CPUPerReq, p.A.ClientPerReq, p.B.CPUPerReq, p.B.ClientPerReq = 30e3, 10e3, 26e3, 10e3
	p.ratios()
	if p.Ratio != 1 || p.CPURatio != 0.9 {
		t.Errorf("ratios %v, %v; want 1, 0.9", p.Ratio, p.CPURatio)
	}

	// Median ratio 0.8: fails, except in -smoke.
	res = &Result{Pairs: pairs(80, 100, 90, 100, 70, 100)}
	res.Median = medians(res.Pairs)
	if code, v := judge(cfg, res); code != 1 || !strings.Contains(v, "below -min-ratio") {
		t.Errorf("judge = %d %q, want a failure", code, v)
	}
	if code, _ := judge(config{minRatio: 0.85, smoke: true}, res); code != 0 {
		t.Errorf("judge in smoke = %d, want 0", code)
	}

	// Any error fails, smoke or not.
	res = &Result{Pairs: pairs(100, 100), Errors: 1}
	res.Median = medians(res.Pairs)
	for _, smoke := range []bool{false, true} {
		if code, v := judge(config{minRatio: 0.85, smoke: smoke}, res); code != 1 || !strings.Contains(v, "1 request(s)") {
			t.Errorf("judge with an error (smoke %v) = %d %q", smoke, code, v)
		}
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
			return c.runs == 5 && c.duration == 3*time.Second && c.conns == 8 && c.minRatio == 0.85 && c.timeout > planned(c)
		}, false},
		{"smoke", []string{"-smoke"}, func(c config) bool {
			return c.runs == 2 && c.duration == 200*time.Millisecond && c.warmup == 100*time.Millisecond && c.conns == 2 && planned(c) <= time.Second
		}, false},
		{"smoke keeps explicit flags", []string{"-conns", "4", "-smoke"}, func(c config) bool { return c.conns == 4 && c.runs == 2 }, false},
		{"too long for the token", []string{"-runs", "50", "-duration", "1m"}, nil, true},
		{"zero runs", []string{"-runs", "0"}, nil, true},
		{"short run", []string{"-duration", "1ms"}, nil, true},
		{"no connections", []string{"-conns", "0"}, nil, true},
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

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080":        true,
		"127.0.0.1:0":           false,
		"127.0.0.2:8080":        false,
		"10.0.0.1:80":           false,
		"[::1]:8080":            false,
		"localhost:8080":        false,
		"example.com:80":        false,
		"127.0.0.1":             false,
		"0.0.0.0:8080":          false,
		"[::ffff:127.0.0.1]:80": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
	if _, err := dialLoopback(t.Context(), "192.0.2.1:80"); err == nil || !strings.Contains(err.Error(), "127.0.0.1 only") {
		t.Errorf("dialLoopback to 192.0.2.1: %v, want a refusal", err)
	}
}

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		status  int
		body    string
		closing bool
		fails   bool
	}{
		{"200", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{}\n", 200, "{}\n", false, false},
		{"401", "HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\nno", 401, "no", false, false},
		{"closing", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 200, "", true, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 0, "", false, true},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nabc", 0, "", false, true},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", 0, "", false, true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, "", false, true},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, "", false, true},
		{"garbage", "hello\r\n", 0, "", false, true},
		{"empty", "", 0, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, closing, err := readResponse(bufio.NewReader(strings.NewReader(tc.in)), nil)
			if tc.fails {
				if err == nil {
					t.Errorf("readResponse = %d %q, want an error", status, body)
				}
				return
			}
			if err != nil || status != tc.status || string(body) != tc.body || closing != tc.closing {
				t.Errorf("readResponse = %d %q %v %v", status, body, closing, err)
			}
		})
	}

	// Two answers back to back on one connection.
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nbc"))
	buf := make([]byte, 0, 1)
	for _, want := range []string{"a", "bc"} {
		_, body, _, err := readResponse(br, buf)
		if err != nil || string(body) != want {
			t.Errorf("readResponse = %q %v, want %q", body, err, want)
		}
	}
}

func TestBuildRequest(t *testing.T) {
	got := string(buildRequest("127.0.0.1:41234", "Bearer x.y.z"))
	want := "GET /api/user/profile HTTP/1.1\r\nHost: 127.0.0.1:41234\r\nUser-Agent: jwtguard-throughput\r\nAccept: application/json\r\nAuthorization: Bearer x.y.z\r\n\r\n"
	if got != want {
		t.Errorf("buildRequest = %q", got)
	}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(got)))
	if err != nil || req.Header.Get("Authorization") != "Bearer x.y.z" || req.URL.Path != route {
		t.Errorf("net/http reads it as %+v, %v", req, err)
	}
	if strings.Contains(string(buildRequest("127.0.0.1:1", "")), "Authorization") {
		t.Error("request without a token has an Authorization header")
	}
}

func TestTamper(t *testing.T) {
	tok := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLW9mLTMyLWJ5dGVzLi4uLi4uLi4uLi4"
	got, err := tamper(tok)
	if err != nil || got == tok || len(got) != len(tok) || got[:strings.LastIndexByte(tok, '.')] != tok[:strings.LastIndexByte(tok, '.')] {
		t.Errorf("tamper = %q, %v", got, err)
	}
	if _, err := tamper("no-dots"); err == nil {
		t.Error("tamper of a token without a signature succeeded")
	}
}

// TestLoadCountsErrors: every answer but 200 with the expected body is
// counted, and the run stops by its duration.
func TestLoadCountsErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "good":
			io.WriteString(w, "body\n")
		case "other":
			io.WriteString(w, "other\n")
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		auth                    string
		ok, status401, wrongBod bool
	}{
		{"good", true, false, false},
		{"bad", false, true, false},
		{"other", false, false, true},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			start := time.Now()
			l := load(t.Context(), target{addr: addr, req: buildRequest(addr, tc.auth), want: []byte("body\n")}, 2, 100*time.Millisecond, 1_000_000)
			if el := time.Since(start); el > 5*time.Second || l.Elapsed < 100*time.Millisecond {
				t.Errorf("run took %v (measured %v)", el, l.Elapsed)
			}
			if (l.OK > 0) != tc.ok || (l.Statuses[401] > 0) != tc.status401 || (l.WrongBody > 0) != tc.wrongBod || l.Transport != 0 {
				t.Errorf("load = %+v", l)
			}
			if (l.Errors() == 0) != tc.ok {
				t.Errorf("Errors() = %d", l.Errors())
			}
		})
	}

	// -max-requests stops a run before its duration.
	l := load(t.Context(), target{addr: addr, req: buildRequest(addr, "good"), want: []byte("body\n")}, 2, time.Minute, 10)
	if !l.Capped || l.OK != 10 || l.Elapsed > 10*time.Second {
		t.Errorf("capped load = %+v", l)
	}

	// A server that is gone is a transport error, not a hang.
	srv.Close()
	l = load(t.Context(), target{addr: addr, req: buildRequest(addr, "good"), want: []byte("body\n")}, 2, 100*time.Millisecond, 10)
	if l.Transport == 0 || l.FirstError == "" {
		t.Errorf("load against a closed server = %+v", l)
	}
}

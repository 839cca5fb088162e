package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// newClient returns an HTTP client whose connections come from source (in
// 127.0.0.0/8) and may go to 127.0.0.0/8 only. It keeps connections alive,
// uses no proxy and follows no redirect.
func newClient(source netip.Addr, timeout time.Duration) *http.Client {
	d := &net.Dialer{
		LocalAddr: &net.TCPAddr{IP: source.AsSlice()},
		Timeout:   5 * time.Second,
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil || !loopback.Contains(ap.Addr().Unmap()) {
				return nil, fmt.Errorf("refusing to dial %s: not in %s", addr, loopback)
			}
			return d.DialContext(ctx, "tcp4", addr)
		},
		MaxIdleConns:        4,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func closeClient(c *http.Client) { c.Transport.(*http.Transport).CloseIdleConnections() }

// loginAnswer is one answer to a login.
type loginAnswer struct {
	status     int
	retryAfter string
	token      string // on 200
}

// login posts username and password to base's login route.
func login(ctx context.Context, c *http.Client, base, username, password string) (loginAnswer, error) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/auth/login", strings.NewReader(string(body)))
	if err != nil {
		return loginAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return loginAnswer{}, err
	}
	defer resp.Body.Close()
	a := loginAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode == http.StatusOK {
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tr); err != nil {
			return a, fmt.Errorf("login answer: %w", err)
		}
		a.token = tr.AccessToken
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return a, nil
}

// get sends a verified GET to base's secure route and returns the status.
func get(ctx context.Context, c *http.Client, base, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/secure-data", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// apiResult is what the API clients saw in one phase.
type apiResult struct {
	samples   []time.Duration // latencies of 200 answers
	statuses  map[int]int64   // non-200 answers
	transport int64           // requests without an answer
}

// runAPIClients runs n clients from 127.0.0.1 that loop verified GETs with
// token until ctx is done, client i on bases[i % len(bases)].
func runAPIClients(ctx context.Context, bases []string, token string, n int, timeout time.Duration) apiResult {
	results := make([]apiResult, n)
	var wg sync.WaitGroup
	for i := range n {
		base := bases[i%len(bases)]
		wg.Go(func() {
			c := newClient(localhost, timeout)
			defer closeClient(c)
			r := apiResult{samples: make([]time.Duration, 0, 4096), statuses: make(map[int]int64)}
			for ctx.Err() == nil {
				t0 := time.Now()
				status, err := get(ctx, c, base, token)
				d := time.Since(t0)
				switch {
				case err != nil && ctx.Err() != nil:
				case err != nil:
					r.transport++
					sleepCtx(ctx, 10*time.Millisecond)
				case status == http.StatusOK:
					r.samples = append(r.samples, d)
				default:
					r.statuses[status]++
				}
			}
			results[i] = r
		})
	}
	wg.Wait()
	all := apiResult{statuses: make(map[int]int64)}
	for _, r := range results {
		all.samples = append(all.samples, r.samples...)
		for s, k := range r.statuses {
			all.statuses[s] += k
		}
		all.transport += r.transport
	}
	return all
}

// runFlooders runs n attackers, flooder i from sourceAddr(i) to
// bases[i % len(bases)], each posting logins with a fresh username and a
// wrong password back to back, ignoring Retry-After, until ctx is done.
func runFlooders(ctx context.Context, bases []string, tag string, n int, timeout time.Duration, stats *loginStats) {
	var wg sync.WaitGroup
	for i := range n {
		src, _ := sourceAddr(i) // n was checked
		base := bases[i%len(bases)]
		wg.Go(func() {
			c := newClient(src, timeout)
			defer closeClient(c)
			for k := 0; ctx.Err() == nil; k++ {
				user := fmt.Sprintf("flood-%s-%d-%d", tag, i, k)
				sent := time.Now()
				a, err := login(ctx, c, base, user, fmt.Sprintf("wrong-%d", k))
				d := time.Since(sent)
				switch {
				case err != nil && ctx.Err() != nil:
					stats.failed(d, true)
				case err != nil && a.status == 0:
					stats.failed(d, false)
					sleepCtx(ctx, 10*time.Millisecond) // do not spin on a refused connection
				default:
					stats.record(sent, d, a.status, a.retryAfter)
				}
			}
		})
	}
	wg.Wait()
}

// Genuine is one genuine user's login during the flood.
type Genuine struct {
	Name     string          `json:"name"`
	User     string          `json:"user"`
	Source   string          `json:"source"`
	Start    time.Duration   `json:"start_ns"` // into the flood
	LoggedIn bool            `json:"logged_in"`
	After    time.Duration   `json:"after_ns"` // from Start to the 200
	Attempts int             `json:"attempts"`
	Statuses map[int]int     `json:"statuses"`
	TokenOK  bool            `json:"token_ok"` // the token it got passed a verified GET
	Viol     Violations      `json:"violations"`
	Problem  string          `json:"problem,omitempty"`
	waits    []time.Duration // Retry-After waits honoured
}

// genuineLogin logs in as user with the right password from source,
// honouring Retry-After on 429 and 503, until it gets a token or ctx is
// done.
func genuineLogin(ctx context.Context, g *Genuine, base, password string, source netip.Addr, timeout, hang time.Duration) {
	g.Source = source.String()
	g.Statuses = make(map[int]int)
	c := newClient(source, timeout)
	defer closeClient(c)
	start := time.Now()
	for ctx.Err() == nil {
		g.Attempts++
		t0 := time.Now()
		a, err := login(ctx, c, base, g.User, password)
		d := time.Since(t0)
		if d > hang {
			g.Viol.Hangs++
		}
		if err != nil {
			if ctx.Err() != nil {
				g.Attempts--
				break
			}
			g.Problem = err.Error()
			sleepCtx(ctx, time.Second)
			continue
		}
		g.Statuses[a.status]++
		switch a.status {
		case http.StatusOK:
			g.LoggedIn = true
			g.After = time.Since(start)
			status, err := get(ctx, c, base, a.token)
			g.TokenOK = err == nil && status == http.StatusOK
			return
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			wait, ok := parseRetryAfter(a.retryAfter, time.Now())
			if !ok {
				g.Viol.NoRetryAfter++
				wait = time.Second
			}
			g.waits = append(g.waits, wait)
			sleepCtx(ctx, wait)
		case http.StatusUnauthorized:
			g.Problem = "401 for the right password"
			g.Viol.Unexpected++
			return
		default:
			if a.status >= 500 {
				g.Viol.Bad5xx++
			} else {
				g.Viol.Unexpected++
			}
			g.Problem = fmt.Sprintf("status %d", a.status)
			sleepCtx(ctx, time.Second)
		}
	}
	if !g.LoggedIn && g.Problem == "" {
		g.Problem = "not logged in when the flood ended"
	}
}

// statusList formats a status count map as "503×2 429×1", most frequent
// first.
func statusList(m map[int]int) string {
	type sc struct{ s, n int }
	var l []sc
	for s, n := range m {
		l = append(l, sc{s, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || l[i].n == l[j].n && l[i].s < l[j].s })
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d×%d", e.s, e.n)
	}
	return b.String()
}

// sleepCtx sleeps for d or until ctx is done, reporting whether it slept
// the whole d.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errNoToken: the baseline login did not succeed.
var errNoToken = errors.New("baseline login failed")

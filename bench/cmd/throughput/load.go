package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/bench/internal/loadtest"
)

// The load generator: a lean HTTP/1.1 client of its own. Each connection
// sends one fixed request, reads the answer (status line, headers,
// Content-Length body), checks it and sends the next, as wrk does without
// pipelining. Most of what it costs a request is the kernel's: on the
// machine of BENCHMARKS.md, 12–17 µs of CPU, where net/http's client
// takes 24–28 µs.

// localhost is the only address this program listens on or sends to.
var localhost = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// maxBody bounds the body of an answer this client reads.
const maxBody = 1 << 20

// checkLoopback refuses any address but 127.0.0.1 with a port.
func checkLoopback(hostport string) error {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return fmt.Errorf("address %q: %w", hostport, err)
	}
	if ap.Addr() != localhost || ap.Port() == 0 {
		return fmt.Errorf("address %q: this program talks to 127.0.0.1 only", hostport)
	}
	return nil
}

// dialLoopback connects to addr, which must be on 127.0.0.1.
func dialLoopback(ctx context.Context, addr string) (net.Conn, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp4", addr)
}

// buildRequest returns the GET of route to addr, with an Authorization
// header unless authorization is "".
func buildRequest(addr, authorization string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: jwtguard-throughput\r\nAccept: application/json\r\n", route, addr)
	if authorization != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// readResponse reads one HTTP/1.1 answer from br, its body into buf's
// storage (grown if need be). closing tells that the server will close the
// connection after it. Answers without a Content-Length are errors: the
// routes measured here always send one.
func readResponse(br *bufio.Reader, buf []byte) (status int, body []byte, closing bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, fmt.Errorf("reading the status line: %w", err)
	}
	if len(line) < 14 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) || line[12] != ' ' {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return status, nil, false, fmt.Errorf("reading the headers: %w", err)
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return status, nil, false, fmt.Errorf("bad header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || length >= 0 {
				return status, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return status, nil, false, fmt.Errorf("Transfer-Encoding %q: not read by this client", value)
		case bytes.EqualFold(name, []byte("Connection")):
			closing = closing || bytes.Contains(bytes.ToLower(value), []byte("close"))
		}
	}
	if length < 0 {
		return status, nil, closing, errors.New("answer without Content-Length")
	}
	if length > maxBody {
		return status, nil, closing, fmt.Errorf("Content-Length %d over %d", length, maxBody)
	}
	if cap(buf) < length {
		buf = make([]byte, length)
	}
	body = buf[:length]
	if _, err := io.ReadFull(br, body); err != nil {
		return status, nil, closing, fmt.Errorf("reading the body: %w", err)
	}
	return status, body, closing, nil
}

// once sends req to addr on a connection of its own and returns the
// answer's status and body.
func once(ctx context.Context, addr string, req []byte) (int, []byte, error) {
	c, err := dialLoopback(ctx, addr)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		return 0, nil, err
	}
	status, body, _, err := readResponse(bufio.NewReader(c), nil)
	return status, body, err
}

// target is a server and the request sent to it.
type target struct {
	addr string // 127.0.0.1:port
	req  []byte
	want []byte // the body of every answer
}

// Load is the outcome of one run of load against one server.
type Load struct {
	OK         int64         `json:"ok"` // 200 with the expected body
	Elapsed    time.Duration `json:"elapsed_ns"`
	PerSec     float64       `json:"req_per_sec"` // OK ÷ Elapsed
	Statuses   map[int]int64 `json:"non_200,omitempty"`
	WrongBody  int64         `json:"wrong_body"` // 200 with another body
	Transport  int64         `json:"transport_errors"`
	FirstError string        `json:"first_error,omitempty"`
	Capped     bool          `json:"capped"` // stopped by -max-requests before the duration
	ClientCPU  time.Duration `json:"client_cpu_ns"`
}

// Errors counts the requests that did not get the expected answer.
func (l *Load) Errors() int64 {
	n := l.WrongBody + l.Transport
	for _, k := range l.Statuses {
		n += k
	}
	return n
}

// load runs conns connections, each looping t's request, for d or until
// maxRequests have been sent or ctx is done. Every answer must be 200 with
// t.want as its body; anything else is counted. A connection stops at its
// first transport or protocol error.
func load(ctx context.Context, t target, conns int, d time.Duration, maxRequests int64) Load {
	var res Load
	fail := func(err error) Load {
		res.Transport++
		if res.FirstError == "" {
			res.FirstError = err.Error()
		}
		return res
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for range conns {
		c, err := dialLoopback(dctx, t.addr)
		if err != nil {
			return fail(err)
		}
		cs = append(cs, c)
	}
	// Nothing waits past the run by more than this.
	hardEnd := time.Now().Add(d + 10*time.Second)
	for _, c := range cs {
		c.SetDeadline(hardEnd)
	}

	var stop, capped atomic.Bool
	var sent atomic.Int64
	type tally struct {
		ok, wrongBody, transport int64
		statuses                 map[int]int64
		err                      error
	}
	tallies := make([]tally, conns)
	cpu0 := loadtest.ProcessCPU()
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	unwatch := context.AfterFunc(ctx, func() {
		stop.Store(true)
		for _, c := range cs {
			c.SetDeadline(time.Now())
		}
	})
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			tl := &tallies[i]
			br := bufio.NewReaderSize(c, 4096)
			buf := make([]byte, 0, len(t.want)+512)
			for !stop.Load() {
				if sent.Add(1) > maxRequests {
					capped.Store(true)
					stop.Store(true)
					break
				}
				if _, err := c.Write(t.req); err != nil {
					tl.transport, tl.err = tl.transport+1, err
					break
				}
				status, body, closing, err := readResponse(br, buf)
				switch {
				case err != nil:
					tl.transport, tl.err = tl.transport+1, err
				case status != 200:
					if tl.statuses == nil {
						tl.statuses = make(map[int]int64)
					}
					tl.statuses[status]++
				case !bytes.Equal(body, t.want):
					tl.wrongBody++
					if tl.err == nil {
						tl.err = fmt.Errorf("200 with another body: %q", body)
					}
				default:
					tl.ok++
				}
				if err != nil {
					break
				}
				if closing {
					tl.transport, tl.err = tl.transport+1, fmt.Errorf("the server closed the connection after a %d", status)
					break
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.ClientCPU = loadtest.ProcessCPU() - cpu0
	timer.Stop()
	unwatch()
	for _, tl := range tallies {
		res.OK += tl.ok
		res.WrongBody += tl.wrongBody
		res.Transport += tl.transport
		for s, n := range tl.statuses {
			if res.Statuses == nil {
				res.Statuses = make(map[int]int64)
			}
			res.Statuses[s] += n
		}
		if tl.err != nil && res.FirstError == "" {
			res.FirstError = tl.err.Error()
		}
	}
	if res.FirstError == "" {
		for s := range res.Statuses {
			res.FirstError = fmt.Sprintf("status %d", s)
			break
		}
	}
	res.Capped = capped.Load()
	if res.Elapsed > 0 {
		res.PerSec = float64(res.OK) / res.Elapsed.Seconds()
	}
	return res
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Tests of the server as its users run it: a process of its own, built
// from this package, that a test can kill.

var (
	buildOnce   sync.Once
	builtServer string
	buildErr    error
)

// serverBinary builds the server once per test binary and returns its
// path.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jwtguard-server-")
		if err != nil {
			buildErr = err
			return
		}
		builtServer = filepath.Join(dir, "server")
		out, err := exec.Command("go", "build", "-o", builtServer, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtServer
}

// A process is a running server.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string // http://ADDR
	log  *lockedBuffer
	done chan struct{} // closed when the process has ended
	once sync.Once
}

// startProcess starts the server with args and the environment variables
// env (KEY=value; nothing else of the test's environment but PATH and
// HOME), waits until it listens, and kills it when t ends.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(serverBinary(t), append([]string{"-addr", "127.0.0.1:0", "-password-cpu-share", "0"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, log: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "Listening on "); ok {
				listening <- url
				break
			}
		}
		io.Copy(io.Discard, stdout) // the pipe is drained before Wait
		cmd.Wait()
		close(p.done)
	}()
	select {
	case p.base = <-listening:
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not start within 30 s; log:\n%s", p.log.String())
	}
	return p
}

// kill kills the server with SIGKILL, as a crash or the OOM killer
// would, and waits for it to end.
func (p *process) kill() {
	p.once.Do(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
}

// post posts body to the server's path with the bearer token tok (none
// when empty), without failing the test on a transport error, which a
// killed server gives.
func (p *process) post(path, tok, body string) (status int, answer []byte, err error) {
	status, _, answer, err = p.do("POST", path, tok, body)
	return status, answer, err
}

// request is post for any method, returning the answer's header.
func (p *process) request(method, path, tok, body string) (status int, header http.Header, err error) {
	status, header, _, err = p.do(method, path, tok, body)
	return status, header, err
}

func (p *process) do(method, path, tok, body string) (status int, header http.Header, answer []byte, err error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, answer, err
}

// refresh rotates the refresh token tok: the new pair on 200, else the
// status and body; err for a transport error.
func (p *process) refresh(tok string) (tr jwtguard.TokenResponse, status int, body []byte, err error) {
	status, body, err = p.post("/api/auth/refresh", "", `{"refresh_token":"`+tok+`"}`)
	if err == nil && status == http.StatusOK {
		err = json.Unmarshal(body, &tr)
	}
	return tr, status, body, err
}

// login logs username in with password and returns the token pair; it
// fails the test on anything but 200.
func (p *process) login(username, password string) jwtguard.TokenResponse {
	p.t.Helper()
	status, body, err := p.post("/api/auth/login", "", `{"username":"`+username+`","password":"`+password+`"}`)
	var tr jwtguard.TokenResponse
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tr) != nil {
		p.t.Fatalf("login %s at %s: %d %s %v; log:\n%s", username, p.base, status, body, err, p.log.String())
	}
	return tr
}

// get GETs path with the bearer token tok and returns the status.
func (p *process) get(path, tok string) int {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A family is one client's session in a stream of rotations: the refresh
// token it holds (that of the last answer that reached it), those it
// spent before, and the one it presented when the server died, whose
// answer was lost.
type family struct {
	current string
	spent   []string
	lost    bool   // the last refresh got no answer
	access  string // the access token of the family's last rotation checked
}

// rotateUntilKilled runs n clients, each rotating its family's refresh
// token on servers[i%len(servers)] then the next server, in turn, as fast
// as it can; after `before` rotations in all, it kills victim, and each
// client stops at its first refresh without an answer, or when 4·before
// rotations are done in all. It returns the families. Any answer but 200
// or a transport error fails the test.
func rotateUntilKilled(t *testing.T, servers []*process, victim *process, n, before int) []*family {
	t.Helper()
	fams := make([]*family, n)
	for i := range fams {
		fams[i] = &family{current: servers[0].login("alice", demoPassword).RefreshToken}
	}
	var (
		mu      sync.Mutex
		rotated int
		killed  bool
	)
	var wg sync.WaitGroup
	for i, f := range fams {
		wg.Go(func() {
			for k := i; ; k++ {
				srv := servers[k%len(servers)]
				tr, status, body, err := srv.refresh(f.current)
				if err != nil {
					f.lost = true
					return
				}
				if status != http.StatusOK {
					t.Errorf("family %d: refresh %d at %s: %d %s", i, k, srv.base, status, body)
					return
				}
				f.spent = append(f.spent, f.current)
				f.current = tr.RefreshToken
				mu.Lock()
				rotated++
				kill := rotated == before && !killed
				killed = killed || kill
				enough := rotated >= 4*before
				mu.Unlock()
				if kill {
					victim.kill()
				}
				if enough {
					return
				}
			}
		})
	}
	wg.Wait()
	if !killed {
		t.Fatalf("the stream ended after %d rotations, before the kill", rotated)
	}
	return fams
}

// checkFamilies checks the families on srv after a kill: the token of a
// family whose last answer reached its client rotates; one whose answer
// was lost either rotates (the rotation never committed) or is refused
// (it did, and the client holds a spent token); and no spent token of any
// family rotates again, but revokes its family as reuse.
func checkFamilies(t *testing.T, srv *process, fams []*family) (lostCommitted, lostNot int) {
	t.Helper()
	for i, f := range fams {
		tr, status, body, err := srv.refresh(f.current)
		switch {
		case err != nil:
			t.Fatalf("family %d: %v", i, err)
		case status == http.StatusOK:
			if f.lost {
				lostNot++
			}
			f.spent = append(f.spent, f.current)
			f.current = tr.RefreshToken
			if got := srv.get("/api/user/profile", tr.AccessToken); got != http.StatusOK {
				t.Errorf("family %d: the access token of the rotation after the kill: %d; want 200", i, got)
			}
			f.access = tr.AccessToken
		case f.lost && status == http.StatusBadRequest:
			lostCommitted++
		default:
			t.Errorf("family %d (answer lost: %v): the token held after the kill: %d %s; want 200", i, f.lost, status, body)
		}
	}
	// Then every spent token once: each is refused (and, as reuse,
	// revokes its family, so this comes last).
	for i, f := range fams {
		for j, tok := range f.spent {
			if _, status, body, err := srv.refresh(tok); err != nil || status != http.StatusBadRequest || !bytes.Contains(body, []byte("invalid_grant")) {
				t.Errorf("family %d: spent token %d of %d: %d %s %v; want 400 invalid_grant", i, j, len(f.spent), status, body, err)
			}
		}
		if f.access != "" {
			if got := srv.get("/api/user/profile", f.access); got != http.StatusUnauthorized {
				t.Errorf("family %d: its access token after the reuse of a spent token: %d; want 401", i, got)
			}
		}
	}
	return lostCommitted, lostNot
}

// TestSIGKILLDuringRotations kills the server with SIGKILL in the middle of
// a stream of rotations of many families on its SQLite database, restarts
// it on the same data directory, and finds every family as its client
// left it: no family lost, no refresh token valid twice.
func TestSIGKILLDuringRotations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	dir := t.TempDir()
	args := []string{"-data-dir", dir}
	a := startProcess(t, nil, args...)
	fams := rotateUntilKilled(t, []*process{a}, a, 8, 200)
	b := startProcess(t, nil, args...)
	committed, not := checkFamilies(t, b, fams)
	t.Logf("%d families; of those whose answer the kill lost, %d rotations had committed and %d had not", len(fams), committed, not)
}

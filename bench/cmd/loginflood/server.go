package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// serverSecret is the fixed JWT_SECRET of the server this program starts.
const serverSecret = "loginflood-fixed-secret-for-load-tests-only-0123456789"

const serverPackage = "github.com/jwtguard/jwtguard/examples/server"

// findRepo returns the root of the jwtguard repository: dir when set, else
// the directory of the go.work or go.mod that the go command sees from here
// (the parent one when that is the bench module's).
func findRepo(ctx context.Context, dir string) (string, error) {
	isRoot := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "examples", "server", "main.go"))
		return err == nil
	}
	if dir != "" {
		if !isRoot(dir) {
			return "", fmt.Errorf("-repo %s: no examples/server/main.go there", dir)
		}
		return dir, nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOWORK", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f = strings.TrimSpace(f)
		if f == "" || f == "off" || f == os.DevNull {
			continue
		}
		for d := filepath.Dir(f); ; d = filepath.Dir(d) {
			if isRoot(d) {
				return d, nil
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return "", errors.New("cannot find the jwtguard repository from here; name it with -repo")
}

// server is the example server, built and started by this program.
type server struct {
	cmd  *exec.Cmd
	url  string
	pid  int
	log  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its Wait error, once done
}

// buildServer builds the example server of the repository at repo into dir.
func buildServer(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, serverPackage)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", serverPackage, err, out)
	}
	return bin, nil
}

// startServer starts bin on 127.0.0.1 (a free port) with a fixed
// JWT_SECRET and waits for its "Listening on" line.
func startServer(ctx context.Context, bin string) (*server, error) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	env := []string{"JWT_SECRET=" + serverSecret}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JWT_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	s := &server{cmd: cmd, log: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stderr = s.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.pid = cmd.Process.Pid
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Listening on "); ok {
				select {
				case urls <- strings.TrimSpace(rest):
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case u := <-urls:
		base, err := checkServerURL(u)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("server printed %q: %w", u, err)
		}
		s.url = base
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("server exited before listening: %v\n%s", s.err, s.log.tail())
	case <-t.C:
		s.stop()
		return nil, errors.New("server did not print its address within 30 s")
	case <-ctx.Done():
		s.stop()
		return nil, context.Cause(ctx)
	}
}

// stop interrupts the server, waits up to 5 s for it to shut down, then
// kills it. It reports whether it had to kill it.
func (s *server) stop() (killed bool) {
	select {
	case <-s.done:
		return false
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-s.done:
		return false
	case <-t.C:
	}
	s.cmd.Process.Kill()
	<-s.done
	return true
}

// exited reports whether the server process has exited.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// tailBuffer keeps the last max bytes written to it and counts lines. Safe
// for concurrent use.
type tailBuffer struct {
	max int

	mu    sync.Mutex
	buf   []byte
	lines int64
	bytes int64
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines += int64(bytes.Count(p, []byte{'\n'}))
	b.bytes += int64(len(p))
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// tail returns the last few lines written.
func (b *tailBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(b.buf)
	if i := strings.IndexByte(s, '\n'); len(b.buf) == b.max && i >= 0 {
		s = s[i+1:] // drop a partial first line
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-10):], "\n")
}

// counts returns the lines and bytes written so far.
func (b *tailBuffer) counts() (lines, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lines, b.bytes
}

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/bench/internal/loadtest"
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
	proc *loadtest.Process // its stderr in proc.Log
	url  string
	pid  int
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
// JWT_SECRET and its data in dataDir, and waits for its "Listening on"
// line.
func startServer(ctx context.Context, bin, dataDir string) (*server, error) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data-dir", dataDir)
	env := []string{"JWT_SECRET=" + serverSecret}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JWT_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	proc, err := loadtest.Start(cmd, 64<<10)
	if err != nil {
		return nil, err
	}
	s := &server{proc: proc, pid: cmd.Process.Pid}
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
	case <-proc.Done():
		return nil, fmt.Errorf("server exited before listening: %v\n%s", proc.Err(), proc.Log.Tail())
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
	return s.proc.Stop(5*time.Second, func() { s.proc.Cmd.Process.Signal(os.Interrupt) })
}

// exited reports whether the server process has exited.
func (s *server) exited() bool { return s.proc.Exited() }

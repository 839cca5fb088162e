package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
// JWT_SECRET, its data in dataDir and the variables extra (KEY=value;
// this program's JWT_, REDIS_URL, DATABASE_URL and GOMAXPROCS are not
// passed on), and waits for its "Listening on" line.
func startServer(ctx context.Context, bin, dataDir string, extra []string) (*server, error) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data-dir", dataDir)
	env := []string{"JWT_SECRET=" + serverSecret}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "JWT_") && k != "REDIS_URL" && k != "DATABASE_URL" && k != "GOMAXPROCS" {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, extra...)
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

// readProcs samples the servers and sums what they use.
func readProcs(srvs []*server) (procSample, error) {
	var sum procSample
	for _, srv := range srvs {
		s, err := readProc(srv.pid)
		if err != nil {
			return sum, err
		}
		sum.rssKiB += s.rssKiB
		sum.threads += s.threads
		sum.fds += s.fds
		sum.cpu += s.cpu
	}
	return sum, nil
}

// redisServer is a redis-server started by this program for the replicas
// to share, durable as the Redis store requires (AOF on, no eviction).
type redisServer struct {
	proc *loadtest.Process
	url  string
}

// startRedis starts redis-server from PATH on a free port of 127.0.0.1,
// its files in dir, and waits until it answers PING.
func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("-replicas needs a Redis: install redis-server (apt-get install redis-server) or name one with -redis: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--dir", dir,
		"--appendonly", "yes", "--maxmemory-policy", "noeviction", "--save", "")
	proc, err := loadtest.Start(cmd, 16<<10)
	if err != nil {
		return nil, err
	}
	rs := &redisServer{proc: proc, url: "redis://" + addr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := pingRedis(addr); err == nil {
			return rs, nil
		} else if time.Now().After(deadline) || proc.Exited() || ctx.Err() != nil {
			rs.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer PING: %v\n%s", addr, err, proc.Log.Tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pingRedis sends PING to the Redis at addr and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// stop stops the Redis server (SIGTERM, then SIGKILL after 5 s).
func (rs *redisServer) stop() {
	rs.proc.Stop(5*time.Second, func() { rs.proc.Cmd.Process.Signal(syscall.SIGTERM) })
}

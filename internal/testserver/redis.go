package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// redisBinary is the Redis server the tests start, from Debian's
// redis-server package.
const redisBinary = "redis-server"

// redisInstall says how to install redisBinary.
const redisInstall = "apt-get install redis-server"

// redisReady bounds how long a new server may take to answer PING.
const redisReady = 10 * time.Second

// redisTries is how many ports a start tries before it gives up: another
// process may take a port between FreePort and the server's listen.
const redisTries = 5

// A RedisServer is a redis-server process of the tests' own, listening on
// 127.0.0.1 and keeping its files in a temporary directory. By default it
// is configured as jwtguard's Redis store requires (AOF persistence on,
// maxmemory-policy noeviction) and makes no RDB snapshots.
type RedisServer struct {
	// Addr is the server's host:port.
	Addr string
	// URL is the server's redis:// URL (database 0).
	URL string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	dir    string
	log    string
	once   sync.Once
}

// StartRedis starts a server of t's own, with extraArgs after the default
// arguments (a later argument overrides an earlier one, as in a Redis
// configuration file: "--appendonly", "no" turns persistence off), and
// kills it when t ends. It skips t (fails it under CI) when redis-server
// is not installed, and fails t when the server does not start.
func StartRedis(t testing.TB, extraArgs ...string) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath(redisBinary); err != nil {
		Missing(t, redisBinary, redisInstall)
	}
	s, err := startRedis(t.TempDir(), extraArgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	return s
}

var shared struct {
	sync.Mutex
	s   *RedisServer
	err error
}

// Redis returns the URL of the test binary's shared server, which it
// starts on first use and Main stops when the tests end. Tests keep apart
// by a key prefix (or a database number) of their own. It skips t (fails
// it under CI) when redis-server is not installed, and fails t when the
// server did not start.
func Redis(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath(redisBinary); err != nil {
		Missing(t, redisBinary, redisInstall)
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil && shared.err == nil {
		dir, err := os.MkdirTemp("", "jwtguard-redis-")
		if err != nil {
			shared.err = fmt.Errorf("testserver: %w", err)
		} else if shared.s, shared.err = startRedis(dir, nil); shared.err != nil {
			os.RemoveAll(dir)
		} else {
			atExit(func() { shared.s.Kill(); os.RemoveAll(dir) })
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.s.URL
}

// startRedis starts a server keeping its files in dir, on a free port,
// trying a new port when the server exits before it answers (the port was
// taken meanwhile).
func startRedis(dir string, extraArgs []string) (*RedisServer, error) {
	var last error
	for try := range redisTries {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s, err := launchRedis(dir, port, try, extraArgs)
		if err == nil {
			return s, nil
		}
		last = err
		if !errors.Is(err, errExited) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("testserver: redis-server did not start in %d tries: %w", redisTries, last)
}

var errExited = errors.New("redis-server exited")

// launchRedis starts one server on port and waits until it answers PING.
func launchRedis(dir string, port, try int, extraArgs []string) (*RedisServer, error) {
	logPath := fmt.Sprintf("%s/redis-%d.log", dir, try)
	log, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	defer log.Close() // the process has its own descriptor
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--appendonly", "yes",
		"--maxmemory-policy", "noeviction",
		"--save", "",
		"--daemonize", "no",
	}, extraArgs...)
	s := &RedisServer{Addr: addr, URL: "redis://" + addr + "/0", dir: dir, log: logPath, exited: make(chan struct{})}
	s.cmd = command(log, redisBinary, args...)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("testserver: starting redis-server: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(redisReady)
	for {
		err := ping(addr)
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%w before answering on %s: %s", errExited, addr, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Kill()
			return nil, fmt.Errorf("testserver: redis-server did not answer PING on %s within %v (%v): %s", addr, redisReady, err, tail(logPath))
		}
	}
}

// ping sends PING to the server at addr and reads its PONG, within a
// second.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// tail is the end of the log at path, for an error message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}

// Kill kills the server at once (SIGKILL, as a crash or a lost machine
// would end it) and waits for the process to exit. A server killed
// already is left alone.
func (s *RedisServer) Kill() {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.exited
	})
}

// Log returns what the server has written to its log so far (its end),
// for a test's failure message.
func (s *RedisServer) Log() string { return tail(s.log) }

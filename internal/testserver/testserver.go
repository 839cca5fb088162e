// Package testserver starts throwaway database servers for jwtguard's
// tests (PostgreSQL, Redis) from the binaries installed on the machine:
// each in a temporary directory, listening on a random loopback port, and
// stopped when the test binary ends. A test whose binary is missing is
// skipped with a message saying what to install, except under CI (the
// CI variable set), where it fails: CI installs the binaries, and a skip
// there would let a green run hide a suite that never ran.
//
// One server of each kind is started per test binary, on first use, and
// shared by its tests, which keep apart by a database, schema or key
// prefix of their own. A package that uses the package calls [Main] from
// its TestMain, so that the servers stop when the tests end; the servers
// also die with the test binary if it is killed (Linux).
package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// Main runs m's tests, stops the servers they started, and exits with the
// tests' status. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testserver.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	stopAll()
	os.Exit(code)
}

var (
	stopMu sync.Mutex
	stops  []func()
)

// atExit registers stop to run when Main's tests end, latest first.
func atExit(stop func()) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stops = append(stops, stop)
}

func stopAll() {
	stopMu.Lock()
	defer stopMu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	stops = nil
}

// Missing skips t because what names is not installed, with install
// saying how to install it; under CI it fails t instead.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI must run the tests that need it (%s)", what, install)
	}
	t.Skipf("skipping: %s is not installed (%s; CI does)", what, install)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. A
// server started on it may still lose it to another process; callers
// retry on a new port when the server fails to listen.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testserver: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command returns cmd for a server process that dies with the test binary
// (see dieWithParent) and writes its output to log.
func command(log *os.File, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	dieWithParent(cmd)
	return cmd
}

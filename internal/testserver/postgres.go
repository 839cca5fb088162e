package testserver

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pgMissing and pgInstall are what Missing says when PostgreSQL's binaries
// are not found.
const (
	pgMissing = "PostgreSQL (initdb, postgres, psql)"
	pgInstall = "apt-get install postgresql"
)

// pgReadyTimeout bounds how long a new server may take to accept
// connections.
const pgReadyTimeout = 60 * time.Second

// A PostgresServer is a throwaway PostgreSQL server: a cluster in a
// temporary directory, run by its postgres binary as a child of the test
// binary, listening on 127.0.0.1 only, on a random port, with trust
// authentication for the superuser "postgres" and fsync off. Its methods
// are safe for concurrent use.
type PostgresServer struct {
	bin  pgBinaries
	dir  string // the temporary directory: data/, the sockets, the log
	port int

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	stopped bool
	dbs     int
}

// Postgres returns the URL of a new, empty database (its owner the
// superuser "postgres", no password) on the test binary's shared
// PostgreSQL server, which the first call starts and [Main] stops. The
// database is dropped when t ends. When PostgreSQL is not installed it
// calls [Missing], which skips t (fails it under CI).
func Postgres(t testing.TB) string {
	t.Helper()
	srv, err := sharedPostgres()
	if errors.Is(err, errPgMissing) {
		Missing(t, pgMissing, pgInstall)
	}
	if err != nil {
		t.Fatalf("testserver: starting PostgreSQL: %v", err)
	}
	return srv.NewDatabase(t)
}

// StartPostgres starts a PostgreSQL server of t's own, which t may stop,
// kill or freeze, and which is stopped when t ends. When PostgreSQL is
// not installed it calls [Missing].
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	bin, err := findPostgres()
	if errors.Is(err, errPgMissing) {
		Missing(t, pgMissing, pgInstall)
	}
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	srv, err := startPostgres(bin)
	if err != nil {
		t.Fatalf("testserver: starting PostgreSQL: %v", err)
	}
	t.Cleanup(srv.remove)
	return srv
}

var sharedPG = sync.OnceValues(func() (*PostgresServer, error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	srv, err := startPostgres(bin)
	if err != nil {
		return nil, err
	}
	atExit(srv.remove)
	return srv, nil
})

func sharedPostgres() (*PostgresServer, error) { return sharedPG() }

// Port is the TCP port the server listens on, at 127.0.0.1.
func (s *PostgresServer) Port() int { return s.port }

// URL is the connection URL of database db on the server, as the
// superuser "postgres".
func (s *PostgresServer) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates a new, empty database on the server and returns its
// URL; the database is dropped when t ends (unless the server is down by
// then).
func (s *PostgresServer) NewDatabase(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	s.dbs++
	name := fmt.Sprintf("test_%d_%s", s.dbs, strings.ToLower(rand.Text()[:8]))
	s.mu.Unlock()
	if err := s.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		down := s.stopped
		s.mu.Unlock()
		if !down {
			// FORCE ends connections a test left open (PostgreSQL 13+).
			if err := s.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
				t.Logf("testserver: %v", err)
			}
		}
	})
	return s.URL(name)
}

// Exec runs one SQL command on the server's postgres database, as the
// superuser, with psql.
func (s *PostgresServer) Exec(sql string) error {
	cmd := exec.Command(s.bin.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", "postgres", "-c", sql)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("psql -c %q: %v: %s", sql, err, bytes.TrimSpace(out))
	}
	return nil
}

// Stop shuts the server down (a fast shutdown: connections are ended)
// and waits for it to exit. Stopping a stopped server does nothing.
func (s *PostgresServer) Stop() { s.halt(false) }

// Kill kills the server with SIGKILL (its backends exit as soon as they
// see it gone) and waits for it to exit.
func (s *PostgresServer) Kill() { s.halt(true) }

// Freeze stops the server and its backends with SIGSTOP: connections
// stay open and nothing answers them, as with a database host that
// vanished from the network. Thaw undoes it; Stop, Kill and the end of
// the test thaw it too.
func (s *PostgresServer) Freeze() error { return s.signalGroup(sigStop) }

// Thaw resumes a frozen server (SIGCONT).
func (s *PostgresServer) Thaw() error { return s.signalGroup(sigCont) }

func (s *PostgresServer) signalGroup(sig int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("testserver: the PostgreSQL server is stopped")
	}
	return signalGroup(s.cmd, sig)
}

// halt ends the server, politely unless kill, then by force after 10
// seconds, and waits for it.
func (s *PostgresServer) halt(kill bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	signalGroup(s.cmd, sigCont)
	if kill {
		// The postmaster and its backends at once, as when the host
		// goes away: a backend left alive answers its connection until
		// it notices that the postmaster is gone.
		signalGroup(s.cmd, sigKill)
	} else {
		s.cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	// Backends left behind by a kill see their postmaster gone and exit;
	// what a frozen group still holds goes now.
	signalGroup(s.cmd, sigKill)
}

// remove stops the server and deletes its directory.
func (s *PostgresServer) remove() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// pgBinaries are the paths of the programs a server needs.
type pgBinaries struct{ initdb, postgres, psql string }

var errPgMissing = errors.New("testserver: PostgreSQL's initdb, postgres and psql are not installed")

// findPostgres finds initdb and postgres on PATH, or else in the bin
// directory of the highest version under /usr/lib/postgresql (Debian's
// layout, which does not put them on PATH), and psql beside them or on
// PATH.
func findPostgres() (pgBinaries, error) {
	var b pgBinaries
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if pg, err := exec.LookPath("postgres"); err == nil {
			b.initdb, b.postgres = initdb, pg
		}
	}
	if b.initdb == "" {
		dir := debianBin()
		if dir == "" {
			return b, errPgMissing
		}
		b.initdb, b.postgres = filepath.Join(dir, "initdb"), filepath.Join(dir, "postgres")
	}
	// psql beside initdb (after its symbolic links), or on PATH.
	if real, err := filepath.EvalSymlinks(b.initdb); err == nil {
		if p := filepath.Join(filepath.Dir(real), "psql"); isExecutable(p) {
			b.psql = p
		}
	}
	if b.psql == "" {
		p, err := exec.LookPath("psql")
		if err != nil {
			return b, errPgMissing
		}
		b.psql = p
	}
	return b, nil
}

// debianBin is /usr/lib/postgresql/<highest version>/bin when it holds
// initdb and postgres, or "".
func debianBin() string {
	entries, _ := os.ReadDir("/usr/lib/postgresql")
	var versions []int
	for _, e := range entries {
		if v, err := strconv.Atoi(strings.SplitN(e.Name(), ".", 2)[0]); err == nil {
			versions = append(versions, v)
		}
	}
	slices.Sort(versions)
	for _, v := range slices.Backward(versions) {
		dir := fmt.Sprintf("/usr/lib/postgresql/%d/bin", v)
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir
		}
	}
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// startPostgres makes a cluster in a new temporary directory and starts a
// server on it, on a new port each time one is lost to another process.
func startPostgres(bin pgBinaries) (*PostgresServer, error) {
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	// Under os.TempDir (sticky and world-writable), not t.TempDir, whose
	// parents are 0700 root's: the server's user must reach its files.
	dir, err := os.MkdirTemp("", "jwtguard-pg-")
	if err != nil {
		return nil, err
	}
	if err := owner.own(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &PostgresServer{bin: bin, dir: dir}
	if err := s.initdb(owner); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for try := 0; ; try++ {
		err := s.start(owner)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortLost) || try == 4 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// initdb makes the cluster in s.dir/data.
func (s *PostgresServer) initdb(owner runner) error {
	log, err := os.Create(filepath.Join(s.dir, "initdb.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := command(log, s.bin.initdb, "-D", filepath.Join(s.dir, "data"), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	owner.apply(cmd)
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		return fmt.Errorf("initdb: %v:\n%s", err, out)
	}
	return nil
}

var errPortLost = errors.New("testserver: the port was taken")

// start starts the server on a free port and waits until it accepts
// connections; errPortLost when another process took the port first.
func (s *PostgresServer) start(owner runner) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.dir, fmt.Sprintf("postgres-%d.log", port))
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := command(log, s.bin.postgres, "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		"-c", "max_connections=200",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "logging_collector=off")
	owner.apply(cmd)
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(pgReadyTimeout)
	for {
		out, _ := os.ReadFile(logPath)
		switch {
		case bytes.Contains(out, []byte("database system is ready to accept connections")):
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
				c.Close()
				s.port, s.cmd, s.exited = port, cmd, exited
				return nil
			}
		case isClosed(exited):
			if bytes.Contains(out, []byte("could not bind")) || bytes.Contains(out, []byte("already in use")) {
				return errPortLost
			}
			return fmt.Errorf("postgres exited before it accepted connections:\n%s", out)
		case time.Now().After(deadline):
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("postgres did not accept connections within %v:\n%s", pgReadyTimeout, out)
		}
		time.Sleep(20 * time.Millisecond) // polling the log of a starting server
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

package testserver

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// (TestMain, which runs Main, is redis_test.go's.)

// psqlURL runs sql on the database at url and returns what it printed.
func psqlURL(t *testing.T, url, sql string) (string, error) {
	t.Helper()
	bin, err := findPostgres()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin.psql, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// startupConn opens a connection to the server at port as the superuser,
// in PostgreSQL's protocol 3.0, and reads up to its first ReadyForQuery.
func startupConn(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	params := "user\x00postgres\x00database\x00postgres\x00\x00"
	msg := binary.BigEndian.AppendUint32(nil, uint32(8+len(params)))
	msg = binary.BigEndian.AppendUint32(msg, 3<<16)
	if _, err := c.Write(append(msg, params...)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for {
		kind, err := r.ReadByte()
		if err != nil {
			t.Fatalf("reading the server's startup answer: %v", err)
		}
		var n [4]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Discard(int(binary.BigEndian.Uint32(n[:])) - 4); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case 'E':
			t.Fatal("the server refused the connection")
		case 'Z':
			if r.Buffered() > 0 {
				t.Fatal("the server sent more than its startup answer")
			}
			return c
		}
	}
}

// Two calls of Postgres give two databases of one server, each empty.
func TestPostgres(t *testing.T) {
	a, b := Postgres(t), Postgres(t)
	if a == b {
		t.Fatalf("two calls of Postgres gave one database: %s", a)
	}
	if _, err := psqlURL(t, a, "CREATE TABLE t (x int)"); err != nil {
		t.Fatalf("CREATE TABLE on %s: %v", a, err)
	}
	if out, err := psqlURL(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 't'"); err != nil || out != "0" {
		t.Errorf("the table of one database is in the other: %q, %v", out, err)
	}
	if out, err := psqlURL(t, a, "SHOW listen_addresses"); err != nil || out != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, %v; want 127.0.0.1", out, err)
	}
}

// A dedicated server freezes (connections open, nothing answers), thaws
// and stops.
func TestStartPostgres(t *testing.T) {
	s := StartPostgres(t)
	url := s.NewDatabase(t)
	if out, err := psqlURL(t, url, "SELECT 1"); err != nil || out != "1" {
		t.Fatalf("SELECT 1 = %q, %v", out, err)
	}
	backend := startupConn(t, s.Port())
	defer backend.Close()
	if err := s.Freeze(); err != nil {
		t.Fatal(err)
	}
	// A connection open before the freeze gets no answer.
	query := "SELECT 1\x00"
	msg := append([]byte{'Q'}, binary.BigEndian.AppendUint32(nil, uint32(4+len(query)))...)
	if _, err := backend.Write(append(msg, query...)); err != nil {
		t.Fatal(err)
	}
	backend.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := backend.Read(make([]byte, 1)); err == nil {
		t.Error("a frozen server's backend answered a query")
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port()), time.Second)
	if err != nil {
		t.Fatalf("dialling a frozen server: %v (the kernel still accepts its connections)", err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	c.Write([]byte{0, 0, 0, 8, 4, 210, 22, 47}) // an SSLRequest
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a frozen server answered")
	}
	c.Close()
	if err := s.Thaw(); err != nil {
		t.Fatal(err)
	}
	backend.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := backend.Read(make([]byte, 1)); err != nil {
		t.Errorf("the backend does not answer once thawed: %v", err)
	}
	if out, err := psqlURL(t, url, "SELECT 2"); err != nil || out != "2" {
		t.Fatalf("SELECT 2 after thawing = %q, %v", out, err)
	}
	s.Stop()
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port()), time.Second); err == nil {
		c.Close()
		t.Error("the stopped server still accepts connections")
	}
	s.Stop() // again: nothing
}

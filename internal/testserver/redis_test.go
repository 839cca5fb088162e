package testserver_test

import (
	"net"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// A dedicated server answers on its address until it is killed; the
// shared one is one server for the whole test binary.
func TestRedis(t *testing.T) {
	s := testserver.StartRedis(t)
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	c.Close()
	s.Kill()
	s.Kill() // a second Kill is harmless
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the killed server at %s still accepts connections", s.Addr)
	}
	if a, b := testserver.Redis(t), testserver.Redis(t); a != b || a == "" {
		t.Errorf("Redis = %q, then %q; want one shared URL", a, b)
	}
}

package redis_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/redis"
	"github.com/jwtguard/jwtguard/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// prefix is a key prefix of t's own, so that tests sharing the server
// see nothing of each other's.
func prefix(t testing.TB) string {
	return "test:" + strings.ReplaceAll(t.Name(), "/", ":") + ":" + rand.Text()[:8] + ":"
}

// open opens a Store on the shared server under a prefix of t's own,
// closed when t ends; it returns the prefix too.
func open(t testing.TB, opts ...redis.Option) (*redis.Store, string) {
	t.Helper()
	p := prefix(t)
	return openURL(t, testserver.Redis(t), append([]redis.Option{redis.WithPrefix(p)}, opts...)...), p
}

// openURL opens a Store on the server at url, closed when t ends.
func openURL(t testing.TB, url string, opts ...redis.Option) *redis.Store {
	t.Helper()
	s, err := redis.Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("Open(%s) = %v", url, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	return s
}

func TestSessions(t *testing.T) {
	storetest.Sessions(t, func(t *testing.T) jwtguard.SessionStore {
		s, _ := open(t)
		return s
	})
}

func TestThrottle(t *testing.T) {
	storetest.Throttle(t, func(t *testing.T) jwtguard.Throttle {
		s, _ := open(t)
		return s
	})
}

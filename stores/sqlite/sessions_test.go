package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/stores/sqlite"
	"github.com/jwtguard/jwtguard/storetest"
)

// open opens a Store on a new database file in t's temporary directory,
// closed when t ends.
func open(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwtguard.db")
	return openPath(t, path, opts...), path
}

// openPath opens a Store on the file at path, closed when t ends.
func openPath(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
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

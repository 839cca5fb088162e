package postgres_test

import (
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/storetest"
)

// TestSessions runs the conformance suite, each subtest on a schema of its
// own in one database.
func TestSessions(t *testing.T) {
	url := testserver.Postgres(t)
	storetest.Sessions(t, func(t *testing.T) jwtguard.SessionStore {
		s, _ := open(t, url)
		return s
	})
}

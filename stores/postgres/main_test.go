package postgres_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/postgres"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// open opens a Store on a new schema of the database at url, closed when t
// ends.
func open(t testing.TB, url string, opts ...postgres.Option) (*postgres.Store, string) {
	t.Helper()
	schema := "test_" + strings.ToLower(rand.Text()[:10])
	return openSchema(t, url, schema, opts...), schema
}

// openSchema opens a Store on the schema of the database at url, closed
// when t ends.
func openSchema(t testing.TB, url, schema string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(schema %s) = %v", schema, err)
	}
	t.Cleanup(s.Close)
	return s
}

// openErr is Open of schema at url, its Store closed when t ends.
func openErr(t testing.TB, url, schema string, opts ...postgres.Option) (*postgres.Store, error) {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err == nil {
		t.Cleanup(s.Close)
	}
	return s, err
}

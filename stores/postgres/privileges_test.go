package postgres_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/storetest"
)

// The privileges the package documentation states suffice: an owner with
// CREATE on the database migrates; a role with USAGE on the schema and
// SELECT, INSERT, UPDATE and DELETE on its tables opens the up-to-date
// schema and does everything else, and cannot open a new schema.
func TestPrivileges(t *testing.T) {
	url := testserver.Postgres(t)
	c := rawConn(t, url)
	ctx := t.Context()
	suffix := strings.ToLower(rand.Text()[:8])
	owner, app := "owner_"+suffix, "app_"+suffix
	db := c.Config().Database
	for _, sql := range []string{
		"CREATE ROLE " + owner + " LOGIN",
		"CREATE ROLE " + app + " LOGIN",
		"GRANT CREATE ON DATABASE " + pgx.Identifier{db}.Sanitize() + " TO " + owner,
	} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	as := func(role string) string { return strings.Replace(url, "postgres@", role+"@", 1) }
	schema := "priv_" + suffix

	if _, err := openErr(t, as(app), schema); err == nil {
		t.Fatal("Open of a new schema by a role without CREATE on the database = nil error")
	} else {
		t.Logf("the app role's Open of a new schema: %v", err)
	}

	openSchema(t, as(owner), schema).Close()
	q := pgx.Identifier{schema}.Sanitize()
	for _, sql := range []string{
		"GRANT USAGE ON SCHEMA " + q + " TO " + app,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + q + " TO " + app,
	} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	s := openSchema(t, as(app), schema)
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "alice", PasswordHash: testHash()}); err != nil {
		t.Fatalf("CreateUser as the app role = %v", err)
	}
	if err := s.SetPasswordHash(ctx, "u-1", testHash()); err != nil {
		t.Errorf("SetPasswordHash as the app role = %v", err)
	}
	sess, h := login(t, s, "u-1", t0)
	h = rotate(t, s, h, t0.Add(time.Minute)) // and sweeps
	if err := s.DenyAccessToken(ctx, "jti", t0.Add(time.Hour)); err != nil {
		t.Errorf("DenyAccessToken as the app role = %v", err)
	}
	if err := s.RevokeUserSessions(ctx, "u-1", t0.Add(2*time.Minute)); err != nil {
		t.Errorf("RevokeUserSessions as the app role = %v", err)
	}
	if r, err := s.Revoked(ctx, sess.ID, "jti", t0.Add(3*time.Minute)); err != nil || !r {
		t.Errorf("Revoked as the app role = %v, %v; want true", r, err)
	}
	// A sweep two days on deletes as the app role.
	login(t, s, "u-2", t0.Add(9*24*time.Hour))
	_, h2 := login(t, s, "u-2", t0.Add(9*24*time.Hour))
	rotate(t, s, h2, t0.Add(9*24*time.Hour+time.Minute))
	if _, err := s.LookupSession(ctx, h); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
		t.Errorf("LookupSession of a session the app role's sweep should have deleted = %v", err)
	}
}

// The Store works with the query modes a connection pooler in transaction
// mode needs (no prepared statements kept on a connection).
func TestQueryExecModes(t *testing.T) {
	url := testserver.Postgres(t)
	for _, mode := range []string{"exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			u := url + "&default_query_exec_mode=" + mode
			storetest.Sessions(t, func(t *testing.T) jwtguard.SessionStore { s, _ := open(t, u); return s })
			storetest.Users(t, func(t *testing.T) jwtguard.UserWriter { s, _ := open(t, u); return s })
		})
	}
}

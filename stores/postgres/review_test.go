package postgres_test

import (
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/stores/postgres"
)

// Finding 1: a key=value connection string whose password has an escaped
// space or quote (libpq's and pgx's syntax: password=a\ b, password='a\'b')
// defeats pgx's best-effort redaction, which stops at the backslash, and
// parseError's check, which looks for the whole raw value: the tail of the
// password was quoted in Open's error (and so in the example server's
// start-up error for DATABASE_URL).
func TestReviewOpenErrorsEscapedPassword(t *testing.T) {
	const tail = "Tail0fTheSecret"
	for _, tc := range []struct{ what, conn string }{
		{"an escaped space", `host=127.0.0.1 port=x password=s3cret\ ` + tail},
		{"an escaped quote in a quoted value", `host=127.0.0.1 port=x password='s3c\'` + tail + `'`},
		{"an escaped space, spaces around =", `host=127.0.0.1 port=x password = s3cret\ ` + tail},
		{"sslpassword with an escaped space", `host=127.0.0.1 port=x sslpassword=s3cret\ ` + tail},
	} {
		s, err := postgres.Open(t.Context(), tc.conn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) = nil error", tc.what)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, tail) {
			t.Errorf("Open(%s) = %q: it quotes part of the password", tc.what, msg)
		}
	}
}

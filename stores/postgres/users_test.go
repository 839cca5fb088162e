package postgres_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/postgres"
	"github.com/jwtguard/jwtguard/storetest"
)

// testHash is a bcrypt hash at the lowest cost, made once.
var testHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return h
})

// TestUsers runs the UserWriter conformance suite, each subtest on a
// schema of its own in one database.
func TestUsers(t *testing.T) {
	url := testserver.Postgres(t)
	storetest.Users(t, func(t *testing.T) jwtguard.UserWriter {
		s, _ := open(t, url)
		return s
	})
}

// Of concurrent creations of one username (in any letter case), from two
// Stores (two pools, as two replicas have) on one schema, exactly one
// succeeds; the others are ErrUserExists.
func TestCreateUserAcrossStores(t *testing.T) {
	url := testserver.Postgres(t)
	a, schema := open(t, url)
	b := openSchema(t, url, schema)
	stores := []*postgres.Store{a, b}
	const n = 16
	for round := range 8 {
		name := fmt.Sprintf("user%d", round)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			u := jwtguard.User{ID: fmt.Sprintf("%d-%d", round, i), Username: name, PasswordHash: testHash()}
			if i%3 == 0 {
				u.Username = strings.ToUpper(name)
			}
			wg.Go(func() {
				<-start
				errs[i] = stores[i%2].CreateUser(t.Context(), u)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, jwtguard.ErrUserExists):
				t.Errorf("round %d: CreateUser %d = %v; want nil or ErrUserExists", round, i, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d concurrent CreateUser of %q on two Stores succeeded; want exactly 1", round, won, n, name)
		}
	}
}

// Strings that PostgreSQL's text cannot hold are not found, and a user
// holding one is refused, not stored.
func TestUsersTextLimits(t *testing.T) {
	s, _ := open(t, testserver.Postgres(t))
	ctx := t.Context()
	for _, bad := range []string{"a\x00b", "\xff\xfe"} {
		if _, err := s.LookupUser(ctx, bad); !errors.Is(err, jwtguard.ErrUserNotFound) {
			t.Errorf("LookupUser(%q) = %v; want ErrUserNotFound", bad, err)
		}
		if _, err := s.LookupUserByID(ctx, bad); !errors.Is(err, jwtguard.ErrUserNotFound) {
			t.Errorf("LookupUserByID(%q) = %v; want ErrUserNotFound", bad, err)
		}
		if err := s.SetPasswordHash(ctx, bad, testHash()); !errors.Is(err, jwtguard.ErrUserNotFound) {
			t.Errorf("SetPasswordHash(%q) = %v; want ErrUserNotFound", bad, err)
		}
		if err := s.CreateUser(ctx, jwtguard.User{ID: "u-" + bad, Username: "name" + bad, PasswordHash: testHash()}); err == nil {
			t.Errorf("CreateUser(a username with %q) = nil; want an error", bad)
		}
	}
}

package sqlite_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
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

// TestUsers runs the UserWriter conformance suite, a new file for each
// subtest.
func TestUsers(t *testing.T) {
	storetest.Users(t, func(t *testing.T) jwtguard.UserWriter {
		s, _ := open(t)
		return s
	})
}

// Of concurrent creations of one username (in any letter case), from two
// Stores on one file, exactly one succeeds; the others are ErrUserExists.
func TestCreateUserConcurrent(t *testing.T) {
	a, path := open(t)
	b := openPath(t, path)
	const n = 16
	for round := range 8 {
		name := fmt.Sprintf("user%d", round)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			s := a
			if i%2 == 1 {
				s = b
			}
			u := jwtguard.User{ID: fmt.Sprintf("%d-%d", round, i), Username: name, PasswordHash: testHash()}
			if i%3 == 0 {
				u.Username = strings.ToUpper(name)
			}
			wg.Go(func() {
				<-start
				errs[i] = s.CreateUser(t.Context(), u)
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
			t.Errorf("round %d: %d of %d concurrent CreateUser of %q succeeded; want exactly 1", round, won, n, name)
		}
	}
}

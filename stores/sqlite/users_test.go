package sqlite_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

// testHash is a bcrypt hash at the lowest cost, made once.
var testHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return h
})

func TestUserLookups(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	alice := jwtguard.User{ID: "u-1", Username: "Alice", PasswordHash: testHash(), Roles: []string{"admin", "user"}}
	bob := jwtguard.User{ID: "u-2", Username: "bob", PasswordHash: testHash(), Disabled: true}
	for _, u := range []jwtguard.User{alice, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s) = %v", u.Username, err)
		}
	}
	same := func(what string, got, want jwtguard.User) {
		t.Helper()
		if got.ID != want.ID || got.Username != want.Username || string(got.PasswordHash) != string(want.PasswordHash) ||
			!slices.Equal(got.Roles, want.Roles) || got.Disabled != want.Disabled {
			t.Errorf("%s = %+v; want %+v", what, got, want)
		}
	}
	for _, tc := range []struct {
		name string
		want jwtguard.User
	}{
		{"Alice", alice}, {"alice", alice}, {"ALICE", alice}, {"aLiCe", alice},
		{"bob", bob}, {"BOB", bob},
	} {
		u, err := s.LookupUser(ctx, tc.name)
		if err != nil {
			t.Errorf("LookupUser(%q) = %v", tc.name, err)
			continue
		}
		same(fmt.Sprintf("LookupUser(%q)", tc.name), u, tc.want)
	}
	for _, want := range []jwtguard.User{alice, bob} {
		u, err := s.LookupUserByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("LookupUserByID(%q) = %v", want.ID, err)
		}
		same(fmt.Sprintf("LookupUserByID(%q)", want.ID), u, want)
	}
	for _, name := range []string{"carol", "alic", "alice ", ""} {
		if _, err := s.LookupUser(ctx, name); !errors.Is(err, jwtguard.ErrUserNotFound) {
			t.Errorf("LookupUser(%q) = %v; want ErrUserNotFound", name, err)
		}
	}
	for _, id := range []string{"u-3", "U-1", ""} {
		if _, err := s.LookupUserByID(ctx, id); !errors.Is(err, jwtguard.ErrUserNotFound) {
			t.Errorf("LookupUserByID(%q) = %v; want ErrUserNotFound (IDs match exactly)", id, err)
		}
	}
	// What a lookup returns is the caller's.
	u, _ := s.LookupUser(ctx, "alice")
	u.Roles[0], u.PasswordHash[0] = "changed", 'X'
	u, _ = s.LookupUser(ctx, "alice")
	same("LookupUser after changing what it returned", u, alice)
}

func TestCreateUserExists(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "alice", PasswordHash: testHash()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		u    jwtguard.User
	}{
		{"the same username", jwtguard.User{ID: "u-2", Username: "alice", PasswordHash: testHash()}},
		{"the username in upper case", jwtguard.User{ID: "u-2", Username: "ALICE", PasswordHash: testHash()}},
		{"the username in mixed case", jwtguard.User{ID: "u-2", Username: "AlIcE", PasswordHash: testHash()}},
		{"the same ID", jwtguard.User{ID: "u-1", Username: "bob", PasswordHash: testHash()}},
	} {
		if err := s.CreateUser(ctx, tc.u); !errors.Is(err, jwtguard.ErrUserExists) {
			t.Errorf("CreateUser(%s) = %v; want ErrUserExists", tc.name, err)
		}
	}
	if _, err := s.LookupUser(ctx, "bob"); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("LookupUser(bob) after the refused CreateUser = %v; want ErrUserNotFound", err)
	}
	if _, err := s.LookupUserByID(ctx, "u-2"); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("LookupUserByID(u-2) after the refused CreateUsers = %v; want ErrUserNotFound", err)
	}
}

// Usernames are one user exactly when strings.EqualFold says so, beyond
// ASCII too.
func TestUsernamesFoldAsEqualFold(t *testing.T) {
	pairs := [][2]string{
		{"kim", "\u212aim"},              // Kelvin sign
		{"sam", "\u017fam"},              // long s
		{"\u00e5sa", "\u212bSA"},         // Ångström sign
		{"\u03c3\u03b1", "\u03a3\u0391"}, // Greek
		{"\u03c3x", "\u03c2x"},           // final sigma
		{"\u01c5x", "\u01c6x"},           // title case ǅ
		{"stra\u00dfe", "STRASSE"},       // EqualFold does not expand ß
		{"\u0131d", "Id"},                // dotless i is not I
		{"\u0130d", "id"},                // dotted I is not i
		{"caf\u00e9", "cafe\u0301"},      // composed and decomposed: two names
	}
	for _, p := range pairs {
		t.Run(p[0]+"/"+p[1], func(t *testing.T) {
			s, _ := open(t)
			ctx := t.Context()
			if err := s.CreateUser(ctx, jwtguard.User{ID: "1", Username: p[0], PasswordHash: testHash()}); err != nil {
				t.Fatal(err)
			}
			err := s.CreateUser(ctx, jwtguard.User{ID: "2", Username: p[1], PasswordHash: testHash()})
			_, lookupErr := s.LookupUser(ctx, p[1])
			if want := strings.EqualFold(p[0], p[1]); want {
				if !errors.Is(err, jwtguard.ErrUserExists) {
					t.Errorf("CreateUser(%q) after %q = %v; want ErrUserExists (strings.EqualFold)", p[1], p[0], err)
				}
			} else if err != nil {
				t.Errorf("CreateUser(%q) after %q = %v; want it stored (strings.EqualFold is false)", p[1], p[0], err)
			}
			if lookupErr != nil {
				t.Errorf("LookupUser(%q) = %v", p[1], lookupErr)
			}
		})
	}
}

func TestCreateUserRefusesBadUsers(t *testing.T) {
	s, _ := open(t)
	for _, tc := range []struct {
		name string
		u    jwtguard.User
	}{
		{"no ID", jwtguard.User{Username: "alice", PasswordHash: testHash()}},
		{"no username", jwtguard.User{ID: "1", PasswordHash: testHash()}},
		{"no hash", jwtguard.User{ID: "1", Username: "alice"}},
		{"a plaintext password", jwtguard.User{ID: "1", Username: "alice", PasswordHash: []byte("password123")}},
		{"a hash that is not bcrypt", jwtguard.User{ID: "1", Username: "alice", PasswordHash: []byte("$argon2id$" + strings.Repeat("x", 50))}},
	} {
		if err := s.CreateUser(t.Context(), tc.u); err == nil {
			t.Errorf("CreateUser(a user with %s) = nil; want an error", tc.name)
		}
	}
	if _, err := s.LookupUserByID(t.Context(), "1"); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("LookupUserByID(1) after the refusals = %v; want ErrUserNotFound", err)
	}
}

func TestSetPasswordHash(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, jwtguard.User{ID: "u-1", Username: "alice", PasswordHash: testHash()}); err != nil {
		t.Fatal(err)
	}
	h2, err := bcrypt.GenerateFromPassword([]byte("another password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "u-1", h2); err != nil {
		t.Fatalf("SetPasswordHash = %v", err)
	}
	for _, lookup := range []func() (jwtguard.User, error){
		func() (jwtguard.User, error) { return s.LookupUser(ctx, "ALICE") },
		func() (jwtguard.User, error) { return s.LookupUserByID(ctx, "u-1") },
	} {
		if u, err := lookup(); err != nil || string(u.PasswordHash) != string(h2) || u.Username != "alice" {
			t.Errorf("lookup after SetPasswordHash = %+v, %v; want the new hash", u, err)
		}
	}
	if err := s.SetPasswordHash(ctx, "u-2", h2); !errors.Is(err, jwtguard.ErrUserNotFound) {
		t.Errorf("SetPasswordHash(an unknown ID) = %v; want ErrUserNotFound", err)
	}
	if err := s.SetPasswordHash(ctx, "u-1", []byte("not a hash")); err == nil {
		t.Error("SetPasswordHash(not a hash) = nil; want an error")
	}
	if u, _ := s.LookupUserByID(ctx, "u-1"); string(u.PasswordHash) != string(h2) {
		t.Error("the refused SetPasswordHash changed the hash")
	}
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

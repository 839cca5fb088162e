package jwtguard_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard"
	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	h, err := jwtguard.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost(h); cost != jwtguard.DefaultBcryptCost || jwtguard.DefaultBcryptCost < 10 {
		t.Errorf("cost %d, want DefaultBcryptCost (%d, at least 10)", cost, jwtguard.DefaultBcryptCost)
	}
	if bcrypt.CompareHashAndPassword(h, []byte("correct horse")) != nil {
		t.Error("hash does not verify")
	}
	if _, err := jwtguard.HashPassword(strings.Repeat("a", 73)); !errors.Is(err, jwtguard.ErrPasswordTooLong) {
		t.Errorf("73 bytes: %v, want ErrPasswordTooLong", err)
	}
	if _, err := jwtguard.HashPasswordWithCost(strings.Repeat("a", 72), 4); err != nil {
		t.Errorf("72 bytes: %v", err)
	}
	if _, err := jwtguard.HashPassword(""); err == nil {
		t.Error("empty password hashed")
	}
	for _, cost := range []int{3, 32} {
		if _, err := jwtguard.HashPasswordWithCost("pw", cost); err == nil {
			t.Errorf("cost %d accepted", cost)
		}
	}
}

func TestMemoryStore(t *testing.T) {
	h := ltHash(t, "password123")
	t.Run("refuses bad users", func(t *testing.T) {
		for name, u := range map[string]jwtguard.User{
			"no ID":        {Username: "a", PasswordHash: h},
			"no username":  {ID: "1", PasswordHash: h},
			"no hash":      {ID: "1", Username: "a"},
			"not a bcrypt": {ID: "1", Username: "a", PasswordHash: []byte("password123")},
		} {
			if _, err := jwtguard.NewMemoryStore(u); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		for name, hash := range ltBadHashes(t) {
			err := new(jwtguard.MemoryStore).Put(jwtguard.User{ID: "1", Username: "a", PasswordHash: hash})
			if err == nil {
				t.Errorf("hash %s: accepted", name)
			} else if len(hash) > 20 && strings.Contains(err.Error(), string(hash[7:29])) {
				t.Errorf("hash %s: the error quotes the hash: %v", name, err)
			}
		}
		u := jwtguard.User{ID: "1", Username: "a", PasswordHash: h}
		if _, err := jwtguard.NewMemoryStore(u, u); err == nil {
			t.Error("duplicate username accepted")
		}
	})
	t.Run("lookup returns copies", func(t *testing.T) {
		var s jwtguard.MemoryStore // the zero value is usable
		roles := []string{"user"}
		if err := s.Put(jwtguard.User{ID: "1", Username: "alice", PasswordHash: h, Roles: roles}); err != nil {
			t.Fatal(err)
		}
		roles[0] = "admin" // the caller's slice is not the store's
		u, err := s.LookupUser(context.Background(), "alice")
		if err != nil || u.ID != "1" || u.Roles[0] != "user" {
			t.Fatalf("LookupUser = %+v, %v", u, err)
		}
		u.Roles[0] = "admin"
		u.PasswordHash[0] = 'x'
		again, _ := s.LookupUser(context.Background(), "alice")
		if again.Roles[0] != "user" || again.PasswordHash[0] != '$' {
			t.Error("changing a looked-up user changed the store")
		}
		if _, err := s.LookupUser(context.Background(), "bob"); !errors.Is(err, jwtguard.ErrUserNotFound) {
			t.Errorf("unknown user: %v, want ErrUserNotFound", err)
		}
	})
	t.Run("concurrent use", func(t *testing.T) {
		s, _ := jwtguard.NewMemoryStore()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				name := string(rune('a' + i))
				for range 100 {
					s.Put(jwtguard.User{ID: name, Username: name, PasswordHash: h})
					s.LookupUser(context.Background(), name)
				}
			})
		}
		wg.Wait()
	})
}

func TestUserStoreFunc(t *testing.T) {
	var got string
	f := jwtguard.UserStoreFunc(func(ctx context.Context, username string) (jwtguard.User, error) {
		got = username
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	})
	var s jwtguard.UserStore = f
	if _, err := s.LookupUser(context.Background(), "zoe"); !errors.Is(err, jwtguard.ErrUserNotFound) || got != "zoe" {
		t.Errorf("got %q, %v", got, err)
	}
}

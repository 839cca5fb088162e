package jwtguard_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	h, err := jwtguard.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost(h); cost != 10 {
		t.Errorf("cost %d, want 10", cost)
	}
	if bcrypt.CompareHashAndPassword(h, []byte("correct horse")) != nil {
		t.Error("hash does not verify")
	}
	if _, err := jwtguard.HashPassword(strings.Repeat("a", 73)); err == nil || !strings.Contains(err.Error(), "longer than 72 bytes") {
		t.Errorf("73 bytes: %v, want a refusal", err)
	}
	if _, err := jwtguard.HashPassword(strings.Repeat("a", 72)); err != nil {
		t.Errorf("72 bytes: %v", err)
	}
	if _, err := jwtguard.HashPassword(""); err == nil {
		t.Error("empty password hashed")
	}
}

// TestMemoryStoreUsers: the memory store passes the UserWriter
// conformance suite.
func TestMemoryStoreUsers(t *testing.T) {
	storetest.Users(t, func(t *testing.T) jwtguard.UserWriter {
		s, err := jwtguard.NewMemoryStore()
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
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
			_, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "a", PasswordHash: hash})
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
		roles := []string{"user"}
		s, err := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "alice", PasswordHash: h, Roles: roles})
		if err != nil {
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
		s, _ := jwtguard.NewMemoryStore(jwtguard.User{ID: "1", Username: "alice", PasswordHash: h})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					if u, err := s.LookupUser(context.Background(), "alice"); err != nil || u.ID != "1" {
						t.Errorf("LookupUser = %+v, %v", u, err)
					}
				}
			})
		}
		wg.Wait()
	})
}

package storetest_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

// storetest.Users tested against itself, as Sessions is: a careful user
// store passes it, and each mutant fails the subtests of the rule it
// breaks.

// TestUsersReference: the careful user store passes every subtest.
func TestUsersReference(t *testing.T) {
	storetest.Users(t, func(t *testing.T) jwtguard.UserWriter { return newUsers("") })
}

const userMutantEnv = "STORETEST_USER_MUTANT"

// TestUserMutantChild runs the user suite against one mutant, in the
// process that TestUserMutants starts; it is skipped otherwise.
func TestUserMutantChild(t *testing.T) {
	bug := os.Getenv(userMutantEnv)
	if bug == "" {
		t.Skip("run by TestUserMutants")
	}
	if bug == "none" {
		bug = ""
	}
	storetest.Users(t, func(t *testing.T) jwtguard.UserWriter { return newUsers(bug) })
}

// userMutants maps each bug of the user store to subtests it must fail.
var userMutants = map[string][]string{
	"fold-none":           {"Lookup/CaseFolded", "Exists/OtherCase", "Exists/EqualFold", "SetPasswordHash/Replaces"},
	"fold-lower":          {"Exists/EqualFold"},
	"fold-ascii":          {"Exists/EqualFold"},
	"fold-upper":          {"Exists/EqualFold"},
	"fold-turkish":        {"Exists/EqualFold"},
	"fold-width":          {"Exists/EqualFold"},
	"name-as-key":         {"Lookup/AsStored", "Lookup/CaseFolded"},
	"id-folded":           {"Lookup/IDExact", "SetPasswordHash/UnknownID"},
	"lookup-trims":        {"Lookup/NotFound"},
	"lookup-other-error":  {"Lookup/NotFound", "Lookup/IDExact"},
	"drops-disabled":      {"Lookup/AsStored"},
	"drops-roles":         {"Lookup/AsStored", "Lookup/CaseFolded"},
	"dup-name":            {"Exists/SameName", "Exists/OtherCase", "Exists/EqualFold"},
	"dup-id":              {"Exists/SameID"},
	"refusal-stores":      {"Exists/SameName", "Exists/OtherCase", "Exists/SameID"},
	"exists-other-error":  {"Exists/SameName", "Exists/OtherCase", "Exists/SameID", "Exists/EqualFold", "Create/Concurrent"},
	"incomplete-accepted": {"Create/RefusesIncomplete"},
	"hash-unchecked":      {"Create/RefusesBadHash"},
	"nonatomic":           {"Create/Concurrent"},
	"set-ignored":         {"SetPasswordHash/Replaces"},
	"set-by-id-only":      {"SetPasswordHash/Replaces"},
	"set-everyone":        {"SetPasswordHash/Replaces"},
	"set-unknown-nil":     {"SetPasswordHash/UnknownID"},
	"set-unchecked":       {"SetPasswordHash/RefusesBadHash"},
	"keeps-given":         {"Copies/Create"},
	"hands-out-own":       {"Copies/Lookup"},
	"keeps-given-hash":    {"Copies/SetPasswordHash"},
}

// TestUserMutants: each mutant fails the subtests of the rule it breaks,
// and every subtest fails for some mutant.
func TestUserMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process for each mutant")
	}
	run := func(t *testing.T, bug string) ([]string, []string) {
		return childOf(t, "TestUserMutantChild", userMutantEnv, bug)
	}
	all, failed := run(t, "none")
	if len(failed) > 0 {
		t.Fatalf("the careful store fails %v", failed)
	}
	caught := map[string]bool{}
	for _, want := range userMutants {
		for _, name := range want {
			if !slices.Contains(all, name) {
				t.Errorf("mutants expect a failure of %s, which the suite does not have", name)
			}
			caught[name] = true
		}
	}
	for _, name := range all {
		if !caught[name] {
			t.Errorf("no mutant fails %s", name)
		}
	}
	bugs := make([]string, 0, len(userMutants))
	for bug := range userMutants {
		bugs = append(bugs, bug)
	}
	sort.Strings(bugs)
	for _, bug := range bugs {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			passed, failed := run(t, bug)
			if len(passed)+len(failed) != len(all) {
				t.Errorf("mutant %s: %d of the suite's %d subtests ran", bug, len(passed)+len(failed), len(all))
			}
			for _, name := range userMutants[bug] {
				if !slices.Contains(failed, name) {
					t.Errorf("mutant %s passes %s", bug, name)
				}
			}
			t.Logf("fails %s", strings.Join(failed, " "))
		})
	}
}

// ---- the careful user store and its mutants ----

type users struct {
	bug    string
	mu     sync.Mutex
	byName map[string]*jwtguard.User
	byID   map[string]*jwtguard.User
}

func newUsers(bug string) *users {
	return &users{bug: bug, byName: map[string]*jwtguard.User{}, byID: map[string]*jwtguard.User{}}
}

func (s *users) is(bug string) bool { return s.bug == bug }

// key is the username's key: jwtguard.UsernameKey, or a mutant's fold.
func (s *users) key(name string) string {
	switch {
	case s.is("fold-none"):
		return name
	case s.is("fold-lower"):
		return strings.ToLower(name)
	case s.is("fold-upper"):
		return strings.ToUpper(name)
	case s.is("fold-ascii"):
		return strings.Map(func(r rune) rune {
			if 'A' <= r && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, name)
	case s.is("fold-turkish"):
		return jwtguard.UsernameKey(strings.NewReplacer("\u0131", "i", "\u0130", "i").Replace(name))
	case s.is("fold-width"):
		return jwtguard.UsernameKey(strings.Map(func(r rune) rune {
			if 0xff41 <= r && r <= 0xff5a {
				return r - 0xff41 + 'a'
			}
			return r
		}, name))
	case s.is("lookup-trims"):
		return jwtguard.UsernameKey(strings.TrimSpace(name))
	}
	return jwtguard.UsernameKey(name)
}

func (s *users) idKey(id string) string {
	if s.is("id-folded") {
		return strings.ToLower(id)
	}
	return id
}

var errMutant = errors.New("a mutant's error")

func (s *users) LookupUser(_ context.Context, name string) (jwtguard.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out(s.byName[s.key(name)])
}

func (s *users) LookupUserByID(_ context.Context, id string) (jwtguard.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out(s.byID[s.idKey(id)])
}

func (s *users) out(p *jwtguard.User) (jwtguard.User, error) {
	if p == nil {
		if s.is("lookup-other-error") {
			return jwtguard.User{}, errMutant
		}
		return jwtguard.User{}, jwtguard.ErrUserNotFound
	}
	if s.is("hands-out-own") {
		return *p, nil
	}
	u := *p
	u.PasswordHash, u.Roles = slices.Clone(u.PasswordHash), slices.Clone(u.Roles)
	return u, nil
}

func checkHash(h []byte) error {
	if len(h) != 60 {
		return errors.New("not a 60-byte bcrypt hash")
	}
	_, err := bcrypt.Cost(h)
	return err
}

func (s *users) CreateUser(_ context.Context, u jwtguard.User) error {
	if (u.ID == "" || u.Username == "") && !s.is("incomplete-accepted") {
		return errors.New("a user needs an ID and a username")
	}
	if err := checkHash(u.PasswordHash); err != nil && !s.is("hash-unchecked") {
		return err
	}
	exists := jwtguard.ErrUserExists
	if s.is("exists-other-error") {
		exists = errMutant
	}
	name, id := s.key(u.Username), s.idKey(u.ID)
	if s.is("nonatomic") {
		// The check and the insert in two steps, another goroutine free
		// to run between them.
		s.mu.Lock()
		_, taken := s.byName[name]
		s.mu.Unlock()
		if taken {
			return exists
		}
		for range 100 {
			runtime.Gosched()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byName[name]; taken && !s.is("dup-name") && !s.is("nonatomic") {
		if s.is("refusal-stores") {
			s.byID[id] = &u
		}
		return exists
	}
	if _, taken := s.byID[id]; taken && !s.is("dup-id") {
		if s.is("refusal-stores") {
			s.byName[name] = &u
		}
		return exists
	}
	if !s.is("keeps-given") {
		u.PasswordHash, u.Roles = slices.Clone(u.PasswordHash), slices.Clone(u.Roles)
	}
	if s.is("drops-disabled") {
		u.Disabled = false
	}
	if s.is("drops-roles") {
		u.Roles = nil
	}
	if s.is("name-as-key") {
		u.Username = name
	}
	s.byName[name], s.byID[id] = &u, &u
	return nil
}

func (s *users) SetPasswordHash(_ context.Context, id string, hash []byte) error {
	if err := checkHash(hash); err != nil && !s.is("set-unchecked") {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byID[s.idKey(id)]
	if !ok {
		if s.is("set-unknown-nil") {
			return nil
		}
		return jwtguard.ErrUserNotFound
	}
	if s.is("set-ignored") {
		return nil
	}
	if s.is("set-everyone") {
		for _, q := range s.byID {
			v := *q
			v.PasswordHash = slices.Clone(hash)
			s.byName[s.key(v.Username)], s.byID[s.idKey(v.ID)] = &v, &v
		}
		return nil
	}
	u := *p
	if s.is("keeps-given-hash") {
		u.PasswordHash = hash
	} else {
		u.PasswordHash = slices.Clone(hash)
	}
	s.byID[s.idKey(id)] = &u
	if !s.is("set-by-id-only") {
		s.byName[s.key(u.Username)] = &u
	}
	return nil
}

package storetest

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

// Users runs the UserWriter conformance tests against stores made by
// newStore (a fresh, empty store for each subtest). Each subtest is named
// Group/Rule and each of its failures begins with the rule it checks; see
// the package documentation.
func Users(t *testing.T, newStore func(t *testing.T) jwtguard.UserWriter) {
	for _, g := range userSuite {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := newStore(t)
					if s == nil {
						t.Fatal("newStore returned nil")
					}
					tc.run(&userEnv{t: t, rule: tc.rule, s: s})
				})
			}
		})
	}
}

type userTest struct {
	name string
	rule string
	run  func(e *userEnv)
}

var userSuite = []struct {
	name  string
	tests []userTest
}{
	{"Lookup", []userTest{
		{"AsStored", "LookupUser and LookupUserByID return the user as CreateUser was given it: ID, username in its letter case, hash, roles, Disabled", testUserLookupAsStored},
		{"CaseFolded", "LookupUser finds the user whatever the letter case of the username", testUserLookupCaseFolded},
		{"NotFound", "LookupUser of a username no user has, as strings.EqualFold compares, is ErrUserNotFound", testUserLookupNotFound},
		{"IDExact", "LookupUserByID matches IDs exactly: another ID, or the ID in another letter case, is ErrUserNotFound", testUserLookupIDExact},
	}},
	{"Exists", []userTest{
		{"SameName", "CreateUser of a username that exists is ErrUserExists and stores nothing", testUserExistsSameName},
		{"OtherCase", "CreateUser of a username that exists in another letter case is ErrUserExists and stores nothing", testUserExistsOtherCase},
		{"SameID", "CreateUser of an ID that exists is ErrUserExists and stores nothing", testUserExistsSameID},
		{"EqualFold", "usernames are one user exactly when strings.EqualFold says so, beyond ASCII too", testUserExistsEqualFold},
	}},
	{"Create", []userTest{
		{"RefusesIncomplete", "CreateUser fails for a user without an ID or a username, and stores nothing", testUserCreateRefusesIncomplete},
		{"RefusesBadHash", "CreateUser fails for a PasswordHash that is not a bcrypt hash (a plaintext password), and stores nothing", testUserCreateRefusesBadHash},
		{"Concurrent", "of concurrent CreateUser calls of one username (in any letter case), exactly one succeeds; the others are ErrUserExists", testUserCreateConcurrent},
	}},
	{"SetPasswordHash", []userTest{
		{"Replaces", "SetPasswordHash replaces the hash that both lookups return, and nothing else", testUserSetReplaces},
		{"UnknownID", "SetPasswordHash of an ID no user has is ErrUserNotFound", testUserSetUnknownID},
		{"RefusesBadHash", "SetPasswordHash fails for a hash that is not a bcrypt hash, and changes nothing", testUserSetRefusesBadHash},
	}},
	{"Copies", []userTest{
		{"Create", "changing the user passed to CreateUser afterwards changes nothing stored", testUserCopiesCreate},
		{"Lookup", "changing a user a lookup returned changes nothing stored", testUserCopiesLookup},
		{"SetPasswordHash", "changing the hash passed to SetPasswordHash afterwards changes nothing stored", testUserCopiesSet},
	}},
}

// A userEnv is one subtest's store and the helpers that check it.
type userEnv struct {
	t    *testing.T
	rule string
	s    jwtguard.UserWriter
}

func (e *userEnv) errorf(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf("%s: %s", e.rule, fmt.Sprintf(format, args...))
}

func (e *userEnv) fatalf(format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("%s: %s", e.rule, fmt.Sprintf(format, args...))
}

// bcryptHash is a bcrypt hash at the lowest cost of password.
func bcryptHash(password string) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return h
}

// The suite's two password hashes, made once.
var (
	hashA = sync.OnceValue(func() []byte { return bcryptHash("correct horse battery staple") })
	hashB = sync.OnceValue(func() []byte { return bcryptHash("another password altogether") })
)

func (e *userEnv) alice() jwtguard.User {
	return jwtguard.User{ID: "u-1", Username: "Alice", PasswordHash: hashA(), Roles: []string{"admin", "user"}}
}

func (e *userEnv) create(u jwtguard.User) {
	e.t.Helper()
	if err := e.s.CreateUser(e.t.Context(), u); err != nil {
		e.fatalf("CreateUser(%q, ID %q) = %v", u.Username, u.ID, err)
	}
}

// same fails unless got is want (roles nil and empty alike).
func (e *userEnv) same(what string, got jwtguard.User, err error, want jwtguard.User) {
	e.t.Helper()
	switch {
	case err != nil:
		e.errorf("%s = %v; want user %q", what, err, want.ID)
	case got.ID != want.ID || got.Username != want.Username || string(got.PasswordHash) != string(want.PasswordHash) ||
		!slices.Equal(got.Roles, want.Roles) || got.Disabled != want.Disabled:
		e.errorf("%s = %+v; want %+v", what, got, want)
	}
}

// absent fails unless neither lookup finds the user of name and id.
func (e *userEnv) absent(what, name, id string) {
	e.t.Helper()
	if name != "" {
		if u, err := e.s.LookupUser(e.t.Context(), name); !errors.Is(err, jwtguard.ErrUserNotFound) {
			e.errorf("%s: LookupUser(%q) = %+v, %v; want ErrUserNotFound", what, name, u, err)
		}
	}
	if id != "" {
		if u, err := e.s.LookupUserByID(e.t.Context(), id); !errors.Is(err, jwtguard.ErrUserNotFound) {
			e.errorf("%s: LookupUserByID(%q) = %+v, %v; want ErrUserNotFound", what, id, u, err)
		}
	}
}

func testUserLookupAsStored(e *userEnv) {
	ctx := e.t.Context()
	alice := e.alice()
	bob := jwtguard.User{ID: "u-2", Username: "bob", PasswordHash: hashB(), Disabled: true}
	e.create(alice)
	e.create(bob)
	for _, u := range []jwtguard.User{alice, bob} {
		got, err := e.s.LookupUser(ctx, u.Username)
		e.same(fmt.Sprintf("LookupUser(%q)", u.Username), got, err, u)
		got, err = e.s.LookupUserByID(ctx, u.ID)
		e.same(fmt.Sprintf("LookupUserByID(%q)", u.ID), got, err, u)
	}
}

func testUserLookupCaseFolded(e *userEnv) {
	alice := e.alice()
	e.create(alice)
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		got, err := e.s.LookupUser(e.t.Context(), name)
		e.same(fmt.Sprintf("LookupUser(%q)", name), got, err, alice)
	}
}

func testUserLookupNotFound(e *userEnv) {
	e.create(e.alice())
	for _, name := range []string{"carol", "alic", "alice ", " alice", "alicé", ""} {
		e.absent("a username no user has", name, "")
	}
}

func testUserLookupIDExact(e *userEnv) {
	e.create(e.alice())
	for _, id := range []string{"u-2", "U-1", "u-1 ", "u", ""} {
		if u, err := e.s.LookupUserByID(e.t.Context(), id); !errors.Is(err, jwtguard.ErrUserNotFound) {
			e.errorf("LookupUserByID(%q) = %+v, %v; want ErrUserNotFound (IDs match exactly)", id, u, err)
		}
	}
}

// refuseExists fails unless CreateUser(u) is ErrUserExists and stored
// nothing under u's other key.
func (e *userEnv) refuseExists(what string, u jwtguard.User, otherName, otherID string) {
	e.t.Helper()
	if err := e.s.CreateUser(e.t.Context(), u); !errors.Is(err, jwtguard.ErrUserExists) {
		e.errorf("CreateUser(%s: %q, ID %q) = %v; want ErrUserExists", what, u.Username, u.ID, err)
	}
	e.absent("after the refused CreateUser", otherName, otherID)
}

func testUserExistsSameName(e *userEnv) {
	e.create(e.alice())
	e.refuseExists("the same username", jwtguard.User{ID: "u-2", Username: "Alice", PasswordHash: hashB()}, "", "u-2")
}

func testUserExistsOtherCase(e *userEnv) {
	e.create(e.alice())
	for i, name := range []string{"alice", "ALICE", "aLiCe"} {
		id := fmt.Sprintf("u-%d", i+2)
		e.refuseExists("the username in another letter case", jwtguard.User{ID: id, Username: name, PasswordHash: hashB()}, "", id)
	}
	if u, err := e.s.LookupUser(e.t.Context(), "alice"); err != nil || u.ID != "u-1" || string(u.PasswordHash) != string(hashA()) {
		e.errorf("LookupUser(alice) after the refusals = %+v, %v; want the first user, unchanged", u, err)
	}
}

func testUserExistsSameID(e *userEnv) {
	e.create(e.alice())
	e.refuseExists("the same ID", jwtguard.User{ID: "u-1", Username: "bob", PasswordHash: hashB()}, "bob", "")
	if u, err := e.s.LookupUserByID(e.t.Context(), "u-1"); err != nil || u.Username != "Alice" {
		e.errorf("LookupUserByID(u-1) after the refusal = %+v, %v; want Alice, unchanged", u, err)
	}
}

// foldPairs are usernames that strings.EqualFold does or does not take
// for one, beyond ASCII.
var foldPairs = [][2]string{
	{"kim", "\u212aim"},              // Kelvin sign
	{"sam", "\u017fam"},              // long s
	{"\u00e5sa", "\u212bSA"},         // Ångström sign
	{"\u03c3\u03b1", "\u03a3\u0391"}, // Greek
	{"\u03c3x", "\u03c2x"},           // final sigma
	{"\u01c5x", "\u01c6x"},           // title case ǅ
	{"\u0434\u0430", "\u0414\u0410"}, // Cyrillic
	{"stra\u00dfe", "STRASSE"},       // EqualFold does not expand ß
	{"\u0131d", "Id"},                // dotless i is not I
	{"\u0130d", "id"},                // dotted I is not i
	{"caf\u00e9", "cafe\u0301"},      // composed and decomposed: two names
	{"\uff41b", "ab"},                // a full-width letter is another letter
}

func testUserExistsEqualFold(e *userEnv) {
	// All pairs in one store, kept apart by a suffix of their own (which
	// changes nothing that EqualFold says of a pair).
	for i, p := range foldPairs {
		ctx := e.t.Context()
		s := e.s
		p = [2]string{p[0] + fmt.Sprint(i), p[1] + fmt.Sprint(i)}
		first := jwtguard.User{ID: fmt.Sprintf("%d-a", i), Username: p[0], PasswordHash: hashA()}
		second := jwtguard.User{ID: fmt.Sprintf("%d-b", i), Username: p[1], PasswordHash: hashB()}
		if err := s.CreateUser(ctx, first); err != nil {
			e.fatalf("CreateUser(%q) = %v", p[0], err)
		}
		err := s.CreateUser(ctx, second)
		got, lookupErr := s.LookupUser(ctx, p[1])
		if strings.EqualFold(p[0], p[1]) {
			if !errors.Is(err, jwtguard.ErrUserExists) {
				e.errorf("CreateUser(%q) after %q = %v; want ErrUserExists (strings.EqualFold is true)", p[1], p[0], err)
			}
			e.same(fmt.Sprintf("LookupUser(%q) after %q", p[1], p[0]), got, lookupErr, first)
		} else {
			if err != nil {
				e.errorf("CreateUser(%q) after %q = %v; want it stored (strings.EqualFold is false)", p[1], p[0], err)
			}
			e.same(fmt.Sprintf("LookupUser(%q) after %q", p[1], p[0]), got, lookupErr, second)
		}
	}
}

func testUserCreateRefusesIncomplete(e *userEnv) {
	for _, tc := range []struct {
		what string
		u    jwtguard.User
	}{
		{"no ID", jwtguard.User{Username: "alice", PasswordHash: hashA()}},
		{"no username", jwtguard.User{ID: "u-1", PasswordHash: hashA()}},
	} {
		if err := e.s.CreateUser(e.t.Context(), tc.u); err == nil {
			e.errorf("CreateUser(a user with %s) = nil; want an error", tc.what)
		}
	}
	e.absent("after the refusals", "alice", "u-1")
}

func testUserCreateRefusesBadHash(e *userEnv) {
	for _, tc := range []struct {
		what string
		hash []byte
	}{
		{"no hash", nil},
		{"a plaintext password", []byte("password123")},
		{"a hash that is not bcrypt", []byte("$argon2id$" + strings.Repeat("x", 50))},
		{"a bcrypt hash cut short", hashA()[:59]},
	} {
		if err := e.s.CreateUser(e.t.Context(), jwtguard.User{ID: "u-1", Username: "alice", PasswordHash: tc.hash}); err == nil {
			e.errorf("CreateUser(a user with %s) = nil; want an error", tc.what)
		}
	}
	e.absent("after the refusals", "alice", "u-1")
}

func testUserCreateConcurrent(e *userEnv) {
	const n = 16
	for round := range 8 {
		name := fmt.Sprintf("user%d", round)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			u := jwtguard.User{ID: fmt.Sprintf("%d-%d", round, i), Username: name, PasswordHash: hashA()}
			if i%3 == 0 {
				u.Username = strings.ToUpper(name)
			}
			wg.Go(func() {
				<-start
				errs[i] = e.s.CreateUser(e.t.Context(), u)
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
				e.errorf("round %d: CreateUser %d = %v; want nil or ErrUserExists", round, i, err)
			}
		}
		if won != 1 {
			e.fatalf("round %d: %d of %d concurrent CreateUser calls of %q succeeded; want exactly 1", round, won, n, name)
		}
	}
}

func testUserSetReplaces(e *userEnv) {
	ctx := e.t.Context()
	alice := e.alice()
	e.create(alice)
	bob := jwtguard.User{ID: "u-2", Username: "bob", PasswordHash: hashA()}
	e.create(bob)
	if err := e.s.SetPasswordHash(ctx, "u-1", hashB()); err != nil {
		e.fatalf("SetPasswordHash(u-1) = %v", err)
	}
	want := alice
	want.PasswordHash = hashB()
	got, err := e.s.LookupUser(ctx, "ALICE")
	e.same("LookupUser(ALICE) after SetPasswordHash", got, err, want)
	got, err = e.s.LookupUserByID(ctx, "u-1")
	e.same("LookupUserByID(u-1) after SetPasswordHash", got, err, want)
	got, err = e.s.LookupUser(ctx, "bob")
	e.same("LookupUser(bob), another user, after SetPasswordHash(u-1)", got, err, bob)
}

func testUserSetUnknownID(e *userEnv) {
	e.create(e.alice())
	for _, id := range []string{"u-2", "U-1"} {
		if err := e.s.SetPasswordHash(e.t.Context(), id, hashB()); !errors.Is(err, jwtguard.ErrUserNotFound) {
			e.errorf("SetPasswordHash(%q) = %v; want ErrUserNotFound", id, err)
		}
	}
	got, err := e.s.LookupUserByID(e.t.Context(), "u-1")
	e.same("LookupUserByID(u-1) after SetPasswordHash of other IDs", got, err, e.alice())
}

func testUserSetRefusesBadHash(e *userEnv) {
	e.create(e.alice())
	for _, h := range [][]byte{nil, []byte("not a hash"), []byte("$argon2id$" + strings.Repeat("x", 50))} {
		if err := e.s.SetPasswordHash(e.t.Context(), "u-1", h); err == nil {
			e.errorf("SetPasswordHash(u-1, %q) = nil; want an error", h)
		}
	}
	got, err := e.s.LookupUserByID(e.t.Context(), "u-1")
	e.same("LookupUserByID(u-1) after the refusals", got, err, e.alice())
}

func testUserCopiesCreate(e *userEnv) {
	u := e.alice()
	u.PasswordHash = slices.Clone(u.PasswordHash)
	u.Roles = slices.Clone(u.Roles)
	e.create(u)
	u.Roles[0], u.PasswordHash[7] = "changed", 'X'
	got, err := e.s.LookupUser(e.t.Context(), "alice")
	e.same("LookupUser after changing the user given to CreateUser", got, err, e.alice())
}

func testUserCopiesLookup(e *userEnv) {
	ctx := e.t.Context()
	e.create(e.alice())
	for _, lookup := range []func() (jwtguard.User, error){
		func() (jwtguard.User, error) { return e.s.LookupUser(ctx, "alice") },
		func() (jwtguard.User, error) { return e.s.LookupUserByID(ctx, "u-1") },
	} {
		u, err := lookup()
		if err != nil || len(u.Roles) == 0 || len(u.PasswordHash) < 8 {
			e.fatalf("lookup = %+v, %v", u, err)
		}
		u.Roles[0], u.PasswordHash[7] = "changed", 'X'
	}
	got, err := e.s.LookupUser(ctx, "alice")
	e.same("LookupUser after changing what lookups returned", got, err, e.alice())
	got, err = e.s.LookupUserByID(ctx, "u-1")
	e.same("LookupUserByID after changing what lookups returned", got, err, e.alice())
}

func testUserCopiesSet(e *userEnv) {
	ctx := e.t.Context()
	e.create(e.alice())
	h := slices.Clone(hashB())
	if err := e.s.SetPasswordHash(ctx, "u-1", h); err != nil {
		e.fatalf("SetPasswordHash = %v", err)
	}
	h[7] = 'X'
	want := e.alice()
	want.PasswordHash = hashB()
	got, err := e.s.LookupUserByID(ctx, "u-1")
	e.same("LookupUserByID after changing the hash given to SetPasswordHash", got, err, want)
}

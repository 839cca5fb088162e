package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Sessions runs the SessionStore conformance tests against stores made by
// newStore (a fresh, empty store for each subtest). Each subtest is named
// Group/Rule and each of its failures begins with the rule it checks; see
// the package documentation for the edges the suite decides and for what
// it asks of newStore.
func Sessions(t *testing.T, newStore func(t *testing.T) jwtguard.SessionStore) {
	for _, g := range suite {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := newStore(t)
					if s == nil {
						t.Fatal("newStore returned nil")
					}
					tc.run(&env{t: t, rule: tc.rule, ctx: t.Context(), s: s})
				})
			}
		})
	}
}

// The suite's clock. Every time passed to a store is t0 plus whole seconds,
// or an edge approached to within tick.
var t0 = time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)

const (
	tick     = time.Microsecond // the suite's smallest step: PostgreSQL's resolution
	lifetime = 7 * 24 * time.Hour
	grace    = 10 * time.Second // the grace window of the Grace and Concurrent tests
	workers  = 16               // goroutines presenting one token at once
	rounds   = 128              // sessions raced in each concurrency subtest
)

// at is t0+d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// when writes tm as its distance from t0.
func when(tm time.Time) string {
	if tm.IsZero() {
		return "zero"
	}
	return "t0+" + tm.Sub(t0).String()
}

type test struct {
	name string
	rule string // what a failure begins with
	run  func(e *env)
}

type group struct {
	name  string
	tests []test
}

var suite = []group{
	{"Create", []test{
		{"StoresAsGiven", "CreateSession stores the session as given", testCreateStoresAsGiven},
		{"DuplicateID", "CreateSession fails if a session of s.ID exists", testCreateDuplicateID},
		{"DuplicateHash", "CreateSession fails if a token of that hash exists", testCreateDuplicateHash},
		{"DuplicateSpentHash", "CreateSession fails if a token of that hash exists, spent or superseded", testCreateDuplicateSpentHash},
		{"EmptyID", "CreateSession fails for a session without an ID or a user ID (its access tokens' empty sid would never be checked)", testCreateEmptyID},
		{"NegativeIdle", "CreateSession fails for a session with a negative IdleTimeout", testCreateNegativeIdle},
		{"ZeroTime", "a store refuses the zero time (a RevokedAt of zero reads as not revoked): CreateSession without CreatedAt or ExpiresAt, RotateSession, RevokeSession and RevokeUserSessions at it fail and change nothing", testCreateZeroTime},
	}},
	{"Rotate", []test{
		{"ReturnsSession", "RotateSession returns the session as it now is: LastUsedAt = now, the rest unchanged", testRotateReturnsSession},
		{"NextRotates", "RotateSession makes next the session's current token", testRotateNextRotates},
		{"PresentedSpent", "RotateSession spends the token presented", testRotatePresentedSpent},
		{"Unknown", "a token no session has is ErrRefreshTokenInvalid and nothing changes", testRotateUnknown},
		{"NextIsPresented", "a next that the store already holds (the token presented) is an error and nothing changes", testRotateNextIsPresented},
		{"NextIsSpent", "a next that the store already holds (a spent token) is an error and nothing changes", testRotateNextIsSpent},
		{"NextIsOtherSessions", "a next that the store already holds (another session's token) is an error and nothing changes", testRotateNextIsOtherSessions},
	}},
	{"Reuse", []test{
		{"Refused", "a spent token presented again is ErrRefreshTokenReused", testReuseRefused},
		{"RevokesSession", "reuse revokes the session at now", testReuseRevokesSession},
		{"NewestTokenInvalid", "after reuse, the newest token of the session is ErrRefreshTokenInvalid", testReuseNewestTokenInvalid},
		{"Again", "every later presentation of a spent token is ErrRefreshTokenReused, and the session keeps its first RevokedAt", testReuseAgain},
		{"NoGraceSameInstant", "with grace 0 there is no window: a spent token presented at the instant of its rotation is reuse", testReuseNoGraceSameInstant},
		{"OnlyItsSession", "reuse revokes its own session and no other of the user", testReuseOnlyItsSession},
		{"AfterLogout", "a spent token of a revoked session is still reuse, and the session keeps its first RevokedAt", testReuseAfterLogout},
	}},
	{"Grace", []test{
		{"RetryRotates", "inside the grace window the spent token may be presented again: it is rotated again, to next", testGraceRetryRotates},
		{"RetryAgain", "inside the grace window each retry rotates again and supersedes the token before it", testGraceRetryAgain},
		{"SupersededRefused", "a superseded token presented inside the window is ErrRefreshTokenSuperseded and the session is kept", testGraceSupersededRefused},
		{"SupersededAfterSurvivor", "a superseded token is refused with ErrRefreshTokenSuperseded inside the window even after the surviving token rotated", testGraceSupersededAfterSurvivor},
		{"SupersededAfterWindow", "a superseded token presented after the window is reuse: ErrRefreshTokenReused and the session revoked", testGraceSupersededAfterWindow},
		{"SupersededEdgeInside", "the window contains now with now-rotation < grace: a superseded token a microsecond before its end is ErrRefreshTokenSuperseded", testGraceSupersededEdgeInside},
		{"SupersededEdgeAt", "the window ends at rotation+grace: a superseded token presented then is reuse", testGraceSupersededEdgeAt},
		{"PreviousEdgeInside", "the window contains now with now-rotation < grace: the spent token a microsecond before its end rotates again", testGracePreviousEdgeInside},
		{"PreviousEdgeAt", "the window ends at rotation+grace: the spent token presented then is reuse", testGracePreviousEdgeAt},
		{"PreviousAfterWindow", "the spent token presented after the window is reuse", testGracePreviousAfterWindow},
		{"OlderToken", "only the token the latest rotation spent may be retried: an older spent token inside the window is reuse", testGraceOlderToken},
		{"BeforeRotation", "the window is [rotation, rotation+grace): the spent token presented at a time before its rotation (clocks that disagree) is reuse", testGraceBeforeRotation},
	}},
	{"Concurrent", []test{
		{"NoGrace", "of concurrent rotations of the current token with grace 0, exactly one rotates; the others are ErrRefreshTokenReused and the session is revoked", testConcurrentNoGrace},
		{"Grace", "of concurrent rotations inside the grace window, each rotates, exactly one of the tokens they got stays usable, the others are ErrRefreshTokenSuperseded and the session is kept", testConcurrentGrace},
	}},
	{"Expiry", []test{
		{"AtExpiresAt", "a token of a session at its ExpiresAt is ErrRefreshTokenInvalid and nothing changes", testExpiryAtExpiresAt},
		{"AfterExpiresAt", "a token of a session past its ExpiresAt is ErrRefreshTokenInvalid", testExpiryAfterExpiresAt},
		{"NotExtended", "ExpiresAt is fixed at login and never moved by a refresh", testExpiryNotExtended},
		{"SpentToken", "a spent token of a session past its ExpiresAt is ErrRefreshTokenInvalid and nothing changes", testExpirySpentToken},
	}},
	{"Idle", []test{
		{"AtTimeout", "a token of a session idle for IdleTimeout since LastUsedAt is ErrRefreshTokenInvalid and nothing changes", testIdleAtTimeout},
		{"RefreshMovesLastUsedAt", "a refresh inside the idle timeout moves LastUsedAt, from which the timeout then runs", testIdleRefreshMovesLastUsedAt},
		{"Zero", "an IdleTimeout of 0 means no idle timeout", testIdleZero},
		{"SpentToken", "a spent token of a session idle for IdleTimeout is ErrRefreshTokenInvalid and nothing changes", testIdleSpentToken},
	}},
	{"Lookup", []test{
		{"Current", "LookupSession finds the session of its current token", testLookupCurrent},
		{"Spent", "LookupSession finds the session of a spent token", testLookupSpent},
		{"Superseded", "LookupSession finds the session of a superseded token", testLookupSuperseded},
		{"RevokedSession", "LookupSession finds a revoked session, RevokedAt set", testLookupRevokedSession},
		{"Unknown", "LookupSession of a token no session has is ErrRefreshTokenInvalid", testLookupUnknown},
	}},
	{"Revoke", []test{
		{"Refuses", "RevokeSession revokes the session at now: its token is then ErrRefreshTokenInvalid and Revoked reports it", testRevokeRefuses},
		{"KeepsFirstRevokedAt", "a session already revoked keeps its first RevokedAt", testRevokeKeepsFirstRevokedAt},
		{"UnknownID", "RevokeSession of an unknown id is not an error", testRevokeUnknownID},
		{"OnlyThatSession", "RevokeSession revokes that session and no other", testRevokeOnlyThatSession},
	}},
	{"RevokeUser", []test{
		{"AllSessions", "RevokeUserSessions revokes every session of the user at now", testRevokeUserAllSessions},
		{"NotOtherUsers", "RevokeUserSessions revokes no session of another user", testRevokeUserNotOtherUsers},
		{"KeepsFirstRevokedAt", "a session already revoked keeps its first RevokedAt", testRevokeUserKeepsFirstRevokedAt},
		{"UnknownUser", "RevokeUserSessions of a user without sessions is not an error", testRevokeUserUnknownUser},
		{"LaterLogin", "RevokeUserSessions revokes the sessions that exist, not the user's later logins", testRevokeUserLaterLogin},
		{"LaterLoginEdge", "a session of the user created a microsecond after the mark of RevokeUserSessions is stored and live", testRevokeUserLaterLoginEdge},
		{"MarkRefusesEarlierLogin", "after RevokeUserSessions at r, CreateSession of a session of that user created before r fails with ErrSessionRevoked and stores nothing", testRevokeUserMarkRefusesEarlierLogin},
		{"MarkRefusesLoginAtMark", "after RevokeUserSessions at r, CreateSession of a session of that user created at r fails with ErrSessionRevoked", testRevokeUserMarkRefusesLoginAtMark},
		{"MarkWithoutSessions", "RevokeUserSessions of a user without sessions marks them too: a session of theirs created before r fails with ErrSessionRevoked", testRevokeUserMarkWithoutSessions},
		{"MarkOnlyThatUser", "the mark of RevokeUserSessions is the user's: another user's session created before r is stored", testRevokeUserMarkOnlyThatUser},
		{"MarkKeepsLatest", "of two revocations of a user's sessions, the later mark holds whatever the order of the calls: a session created between them fails with ErrSessionRevoked", testRevokeUserMarkKeepsLatest},
		{"MarkKeptAnHour", "a store keeps the mark of RevokeUserSessions at r for an hour at least: after calls at r+1h-1µs, a session of the user created before r still fails with ErrSessionRevoked", testRevokeUserMarkKeptAnHour},
	}},
	{"Revoked", []test{
		{"DeniedBeforeUntil", "a jti denied until u is revoked before u", testRevokedDeniedBeforeUntil},
		{"NotAtUntil", "a jti denied until u is not revoked at u or after", testRevokedNotAtUntil},
		{"OtherJTI", "DenyAccessToken denies that jti and no other", testRevokedOtherJTI},
		{"EmptySID", "an empty sid is not checked; the jti still is", testRevokedEmptySID},
		{"EmptyJTI", "an empty jti is not checked", testRevokedEmptyJTI},
		{"UnknownSID", "an unknown sid is revoked (fail closed)", testRevokedUnknownSID},
		{"LiveSession", "a live session's sid with an undenied jti is not revoked", testRevokedLiveSession},
		{"RevokedSession", "a revoked session's sid is revoked, whatever the jti", testRevokedRevokedSession},
		{"CreatedRevoked", "a session created with RevokedAt set is revoked, as stored", testRevokedCreatedRevoked},
		{"BeforeRevokedAt", "a revoked session's sid is revoked at any now, one before its RevokedAt too: Verify asks as of now less its leeway", testRevokedBeforeRevokedAt},
		{"ExpiredSession", "the sid of a session at or past its ExpiresAt is revoked, whatever the jti", testRevokedExpiredSession},
	}},
	{"Copies", []test{
		{"KeyBinding", "stores keep KeyBinding as given", testCopiesKeyBinding},
		{"Create", "changing the session passed to CreateSession afterwards changes nothing stored", testCopiesCreate},
		{"Lookup", "changing a session LookupSession returned changes nothing stored", testCopiesLookup},
		{"Rotate", "changing a session RotateSession returned changes nothing stored", testCopiesRotate},
	}},
}

// An env is one subtest's store and the helpers that check it.
type env struct {
	t    *testing.T
	rule string
	ctx  context.Context
	s    jwtguard.SessionStore
}

func (e *env) errorf(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf("%s: %s", e.rule, fmt.Sprintf(format, args...))
}

func (e *env) fatalf(format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("%s: %s", e.rule, fmt.Sprintf(format, args...))
}

// hash is a new random token hash.
func (e *env) hash() jwtguard.TokenHash {
	var h jwtguard.TokenHash
	rand.Read(h[:])
	return h
}

// user is a new random user ID.
func (e *env) user() string { return "user-" + rand.Text() }

// session is a new session of user, started at now, with no idle timeout.
func (e *env) session(user string, now time.Time) jwtguard.Session {
	return jwtguard.Session{
		ID:         "sid-" + rand.Text(),
		UserID:     user,
		CreatedAt:  now,
		ExpiresAt:  now.Add(lifetime),
		LastUsedAt: now,
	}
}

// create stores s with a new first token and returns the token's hash.
func (e *env) create(s jwtguard.Session) jwtguard.TokenHash {
	e.t.Helper()
	h := e.hash()
	if err := e.s.CreateSession(e.ctx, s, h); err != nil {
		e.fatalf("CreateSession(session %s) = %v; want it stored", s.ID, err)
	}
	return h
}

// login creates a session of a new user at now.
func (e *env) login(now time.Time) (jwtguard.Session, jwtguard.TokenHash) {
	e.t.Helper()
	s := e.session(e.user(), now)
	return s, e.create(s)
}

// rotate presents h (which the messages call name) at now and fails the
// test unless it rotates; it returns the new token and the session.
func (e *env) rotate(name string, h jwtguard.TokenHash, now time.Time, grace time.Duration) (jwtguard.TokenHash, jwtguard.Session) {
	e.t.Helper()
	next := e.hash()
	got, err := e.s.RotateSession(e.ctx, h, next, now, grace)
	if err != nil {
		e.fatalf("RotateSession(%s) at %s, grace %v = %v; want it rotated", name, when(now), grace, err)
	}
	return next, got
}

// refuse presents h at now, expects want, and checks that the refused
// call stored nothing under its next.
func (e *env) refuse(name string, h jwtguard.TokenHash, now time.Time, grace time.Duration, want error) {
	e.t.Helper()
	next := e.hash()
	_, err := e.s.RotateSession(e.ctx, h, next, now, grace)
	if !errors.Is(err, want) {
		e.errorf("RotateSession(%s) at %s, grace %v = %v; want %s", name, when(now), grace, errString(err), errName(want))
	}
	if err == nil {
		return
	}
	if s, err := e.s.LookupSession(e.ctx, next); err == nil {
		e.errorf("RotateSession(%s) at %s was refused but stored its next token (in session %s)", name, when(now), s.ID)
	}
}

// lookup returns the session of h, failing the test when there is none.
func (e *env) lookup(name string, h jwtguard.TokenHash) jwtguard.Session {
	e.t.Helper()
	s, err := e.s.LookupSession(e.ctx, h)
	if err != nil {
		e.fatalf("LookupSession(%s) = %v; want its session", name, err)
	}
	return s
}

// revoked is Revoked(sid, jti, now), failing the test on an error.
func (e *env) revoked(sid, jti string, now time.Time) bool {
	e.t.Helper()
	r, err := e.s.Revoked(e.ctx, sid, jti, now)
	if err != nil {
		e.fatalf("Revoked(%q, %q, %s) = %v", sid, jti, when(now), err)
	}
	return r
}

// same reports how got differs from want, if it does.
func (e *env) same(what string, got, want jwtguard.Session) {
	e.t.Helper()
	if d := diff(got, want); d != "" {
		e.errorf("%s: %s", what, d)
	}
}

// wantRevoked checks that the session of h (with ID sid) was revoked at r.
func (e *env) wantRevoked(name string, h jwtguard.TokenHash, sid string, r time.Time) {
	e.t.Helper()
	if got := e.lookup(name, h).RevokedAt; !got.Equal(r) {
		e.errorf("session %s: RevokedAt = %s; want %s", sid, when(got), when(r))
	}
	if !e.revoked(sid, "", r) {
		e.errorf("Revoked(session %s, \"\", %s) = false; want true, the session is revoked", sid, when(r))
	}
}

// wantLive checks that the session of h (with ID sid) is not revoked at now.
func (e *env) wantLive(name string, h jwtguard.TokenHash, sid string, now time.Time) {
	e.t.Helper()
	if got := e.lookup(name, h).RevokedAt; !got.IsZero() {
		e.errorf("session %s: RevokedAt = %s; want zero, the session kept", sid, when(got))
	}
	if e.revoked(sid, "", now) {
		e.errorf("Revoked(session %s, \"\", %s) = true; want false, the session kept", sid, when(now))
	}
}

func errName(err error) string {
	switch err {
	case jwtguard.ErrRefreshTokenInvalid:
		return "ErrRefreshTokenInvalid"
	case jwtguard.ErrRefreshTokenReused:
		return "ErrRefreshTokenReused"
	case jwtguard.ErrRefreshTokenSuperseded:
		return "ErrRefreshTokenSuperseded"
	}
	return fmt.Sprint(err)
}

func errString(err error) string {
	if err == nil {
		return "nil (rotated)"
	}
	return fmt.Sprintf("%q", err.Error())
}

func diff(got, want jwtguard.Session) string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			d = append(d, fmt.Sprintf("%s = %s, want %s", name, when(g), when(w)))
		}
	}
	str("ID", got.ID, want.ID)
	str("UserID", got.UserID, want.UserID)
	tm("CreatedAt", got.CreatedAt, want.CreatedAt)
	tm("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	if got.IdleTimeout != want.IdleTimeout {
		d = append(d, fmt.Sprintf("IdleTimeout = %v, want %v", got.IdleTimeout, want.IdleTimeout))
	}
	tm("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	str("KeyBinding", got.KeyBinding, want.KeyBinding)
	tm("RevokedAt", got.RevokedAt, want.RevokedAt)
	return strings.Join(d, "; ")
}

// full is a session with every field set, as a DPoP-bound login would make.
func (e *env) full(now time.Time) jwtguard.Session {
	s := e.session(e.user(), now)
	s.IdleTimeout = 90 * time.Minute
	// RFC 7638's example thumbprint: mixed case, '-' and '_', to be kept
	// byte for byte.
	s.KeyBinding = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	return s
}

// ---- Create ----

func testCreateStoresAsGiven(e *env) {
	s := e.full(t0)
	h := e.create(s)
	e.same("LookupSession(first token) after CreateSession", e.lookup("the first token", h), s)

	bearer := e.session(e.user(), at(time.Second))
	h = e.create(bearer)
	e.same("LookupSession(first token) of a bearer session", e.lookup("the first token", h), bearer)
}

func testCreateDuplicateID(e *env) {
	s, h := e.login(t0)
	dup := e.session(e.user(), at(time.Minute))
	dup.ID = s.ID
	h2 := e.hash()
	if err := e.s.CreateSession(e.ctx, dup, h2); err == nil {
		e.errorf("CreateSession(a second session of ID %s) = nil; want an error", s.ID)
	}
	e.same("LookupSession(first session's token) after the duplicate", e.lookup("the first session's token", h), s)
	if got, err := e.s.LookupSession(e.ctx, h2); err == nil {
		e.errorf("the refused CreateSession stored its token (in session %s, user %s)", got.ID, got.UserID)
	}
}

func testCreateDuplicateHash(e *env) {
	s, h := e.login(t0)
	other := e.session(e.user(), at(time.Minute))
	if err := e.s.CreateSession(e.ctx, other, h); err == nil {
		e.errorf("CreateSession(another session, the first session's token) = nil; want an error")
	}
	e.same("LookupSession(the token) after the duplicate", e.lookup("the token", h), s)
	if !e.revoked(other.ID, "", at(time.Minute)) {
		e.errorf("Revoked(session %s, \"\", t0+1m) = false: the refused CreateSession stored the session (or the store does not fail closed)", other.ID)
	}
}

func testCreateEmptyID(e *env) {
	for _, tc := range []struct {
		name string
		edit func(*jwtguard.Session)
	}{
		{"an empty ID", func(s *jwtguard.Session) { s.ID = "" }},
		{"an empty user ID", func(s *jwtguard.Session) { s.UserID = "" }},
	} {
		s := e.session(e.user(), t0)
		tc.edit(&s)
		h := e.hash()
		if err := e.s.CreateSession(e.ctx, s, h); err == nil {
			e.errorf("CreateSession(a session with %s) = nil; want an error", tc.name)
		}
		if _, err := e.s.LookupSession(e.ctx, h); err == nil {
			e.errorf("CreateSession(a session with %s) failed but stored its token", tc.name)
		}
	}
}

func testCreateNegativeIdle(e *env) {
	s := e.session(e.user(), t0)
	s.IdleTimeout = -time.Second
	h := e.hash()
	if err := e.s.CreateSession(e.ctx, s, h); err == nil {
		e.errorf("CreateSession(a session with IdleTimeout -1s) = nil; want an error")
	}
	if _, err := e.s.LookupSession(e.ctx, h); err == nil {
		e.errorf("CreateSession(a session with IdleTimeout -1s) failed but stored its token")
	}
}

func testCreateZeroTime(e *env) {
	for _, tc := range []struct {
		name string
		edit func(*jwtguard.Session)
	}{
		{"no CreatedAt", func(s *jwtguard.Session) { s.CreatedAt, s.LastUsedAt = time.Time{}, time.Time{} }},
		{"no ExpiresAt", func(s *jwtguard.Session) { s.ExpiresAt = time.Time{} }},
	} {
		s := e.session(e.user(), t0)
		tc.edit(&s)
		if err := e.s.CreateSession(e.ctx, s, e.hash()); err == nil {
			e.errorf("CreateSession(a session with %s) = nil; want an error", tc.name)
		}
	}
	s, a := e.login(t0)
	if _, err := e.s.RotateSession(e.ctx, a, e.hash(), time.Time{}, grace); err == nil {
		e.errorf("RotateSession at the zero time = nil; want an error")
	}
	if err := e.s.RevokeSession(e.ctx, s.ID, time.Time{}); err == nil {
		e.errorf("RevokeSession at the zero time = nil; want an error")
	}
	if err := e.s.RevokeUserSessions(e.ctx, s.UserID, time.Time{}); err == nil {
		e.errorf("RevokeUserSessions at the zero time = nil; want an error")
	}
	e.same("the session after the calls at the zero time", e.lookup("the first token", a), s)
	e.rotate("the first token, after the calls at the zero time", a, r1, 0)
}

func testCreateDuplicateSpentHash(e *env) {
	s, a := e.login(t0)
	dup := func(name string, h jwtguard.TokenHash) {
		e.t.Helper()
		other := e.session(e.user(), at(2*time.Minute))
		if err := e.s.CreateSession(e.ctx, other, h); err == nil {
			e.errorf("CreateSession(another session, %s of session %s) = nil; want an error", name, s.ID)
		}
		if got := e.lookup(name, h); got.ID != s.ID {
			e.errorf("LookupSession(%s) after the duplicate = session %s; want %s", name, got.ID, s.ID)
		}
	}
	b, _ := e.rotate("the first token", a, at(time.Minute), grace)
	dup("a spent token", a)
	e.rotate("the first token, retried", a, at(time.Minute+time.Second), grace) // supersedes b
	dup("a superseded token", b)
}

// ---- Rotate ----

func testRotateReturnsSession(e *env) {
	s := e.full(t0)
	a := e.create(s)
	now := at(5 * time.Minute)
	b, got := e.rotate("the first token", a, now, 0)
	want := s
	want.LastUsedAt = now
	e.same("RotateSession's session", got, want)
	e.same("LookupSession(the new token)", e.lookup("the new token", b), want)

	now = at(10 * time.Minute)
	_, got = e.rotate("the new token", b, now, grace)
	want.LastUsedAt = now
	e.same("RotateSession's session at the second rotation", got, want)
}

func testRotateNextRotates(e *env) {
	s, h := e.login(t0)
	for i := 1; i <= 4; i++ {
		g := time.Duration(0)
		if i%2 == 0 {
			g = grace
		}
		var got jwtguard.Session
		h, got = e.rotate(fmt.Sprintf("the token of rotation %d", i-1), h, at(time.Duration(i)*time.Minute), g)
		if got.ID != s.ID {
			e.errorf("rotation %d returned session %s; want %s", i, got.ID, s.ID)
		}
	}
	if got := e.lookup("the newest token", h); got.ID != s.ID {
		e.errorf("LookupSession(the newest token) = session %s; want %s", got.ID, s.ID)
	}
}

func testRotatePresentedSpent(e *env) {
	_, a := e.login(t0)
	e.rotate("the first token", a, at(time.Minute), 0)
	next := e.hash()
	if _, err := e.s.RotateSession(e.ctx, a, next, at(2*time.Minute), 0); err == nil {
		e.errorf("RotateSession(the first token) rotated a second time; want it spent")
	} else if _, err := e.s.LookupSession(e.ctx, next); err == nil {
		e.errorf("RotateSession(the spent token) was refused but stored its next token")
	}
}

func testRotateUnknown(e *env) {
	s, a := e.login(t0)
	e.refuse("an unknown token", e.hash(), at(time.Minute), 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("an unknown token", e.hash(), at(time.Minute), grace, jwtguard.ErrRefreshTokenInvalid)
	e.same("the store's session after the unknown tokens", e.lookup("the first token", a), s)
}

// nextHeld presents h with next held already, expects an error, and checks
// that nothing changed: the session of h is as before.
func (e *env) nextHeld(name string, h, next jwtguard.TokenHash, now time.Time) {
	e.t.Helper()
	before := e.lookup(name, h)
	if _, err := e.s.RotateSession(e.ctx, h, next, now, 0); err == nil {
		e.errorf("RotateSession(%s, a next the store holds) = nil; want an error", name)
	}
	e.same("the session after the refused rotation", e.lookup(name, h), before)
}

func testRotateNextIsPresented(e *env) {
	s, a := e.login(t0)
	e.nextHeld("the first token", a, a, at(time.Minute))
	_, got := e.rotate("the first token after the refusal", a, at(2*time.Minute), 0)
	if !got.RevokedAt.IsZero() {
		e.errorf("session %s revoked at %s by the refused rotation", s.ID, when(got.RevokedAt))
	}
}

func testRotateNextIsSpent(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	e.nextHeld("the current token", b, a, at(2*time.Minute))
	_, got := e.rotate("the current token after the refusal", b, at(3*time.Minute), 0)
	if !got.RevokedAt.IsZero() {
		e.errorf("session %s revoked at %s by the refused rotation", s.ID, when(got.RevokedAt))
	}
}

func testRotateNextIsOtherSessions(e *env) {
	s, a := e.login(t0)
	other, z := e.login(t0)
	e.nextHeld("the first session's token", a, z, at(time.Minute))
	if got := e.lookup("the second session's token", z); got.ID != other.ID {
		e.errorf("LookupSession(the second session's token) = session %s; want %s", got.ID, other.ID)
	}
	_, got := e.rotate("the first session's token after the refusal", a, at(2*time.Minute), 0)
	if got.ID != s.ID {
		e.errorf("the first session's token rotated session %s; want %s", got.ID, s.ID)
	}
	e.rotate("the second session's token", z, at(2*time.Minute), 0)
}

// ---- Reuse ----

func testReuseRefused(e *env) {
	_, a := e.login(t0)
	e.rotate("the first token", a, at(time.Minute), 0)
	e.refuse("the spent token", a, at(2*time.Minute), 0, jwtguard.ErrRefreshTokenReused)
}

func testReuseRevokesSession(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	e.refuse("the spent token", a, at(2*time.Minute), 0, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", b, s.ID, at(2*time.Minute))
}

func testReuseNewestTokenInvalid(e *env) {
	_, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	e.refuse("the spent token", a, at(2*time.Minute), 0, jwtguard.ErrRefreshTokenReused)
	e.refuse("the newest token, after the reuse", b, at(3*time.Minute), 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("the newest token, after the reuse", b, at(3*time.Minute), grace, jwtguard.ErrRefreshTokenInvalid)
}

func testReuseAgain(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	e.refuse("the spent token", a, at(2*time.Minute), 0, jwtguard.ErrRefreshTokenReused)
	e.refuse("the spent token, again", a, at(3*time.Minute), 0, jwtguard.ErrRefreshTokenReused)
	e.refuse("the spent token, again", a, at(3*time.Minute), grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", b, s.ID, at(2*time.Minute))
}

func testReuseNoGraceSameInstant(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	e.refuse("the spent token, at the rotation's instant", a, at(time.Minute), 0, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", b, s.ID, at(time.Minute))
}

func testReuseOnlyItsSession(e *env) {
	user := e.user()
	s1, s2 := e.session(user, t0), e.session(user, t0)
	a1, a2 := e.create(s1), e.create(s2)
	e.rotate("the first session's token", a1, at(time.Minute), 0)
	e.refuse("the first session's spent token", a1, at(2*time.Minute), 0, jwtguard.ErrRefreshTokenReused)
	e.wantLive("the second session's token", a2, s2.ID, at(2*time.Minute))
	e.rotate("the second session's token", a2, at(3*time.Minute), 0)
}

func testReuseAfterLogout(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	if err := e.s.RevokeSession(e.ctx, s.ID, at(2*time.Minute)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	e.refuse("the spent token of the revoked session", a, at(3*time.Minute), 0, jwtguard.ErrRefreshTokenReused)
	e.refuse("the spent token of the revoked session", a, at(3*time.Minute), grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", b, s.ID, at(2*time.Minute))
	e.refuse("the newest token of the revoked session", b, at(3*time.Minute), 0, jwtguard.ErrRefreshTokenInvalid)
}

// ---- Grace ----

// r1 is the time of the first rotation of the Grace tests.
var r1 = at(time.Minute)

func testGraceRetryRotates(e *env) {
	s, a := e.login(t0)
	e.rotate("the first token", a, r1, grace)
	now := r1.Add(5 * time.Second)
	c, got := e.rotate("the spent token, retried inside the window", a, now, grace)
	if !got.LastUsedAt.Equal(now) || !got.RevokedAt.IsZero() {
		e.errorf("the retry returned LastUsedAt %s, RevokedAt %s; want %s, zero", when(got.LastUsedAt), when(got.RevokedAt), when(now))
	}
	e.rotate("the retry's token", c, now.Add(time.Second), grace)
	e.wantLive("the first token", a, s.ID, now.Add(time.Second))
}

func testGraceRetryAgain(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	c, _ := e.rotate("the spent token, retried", a, r1.Add(time.Second), grace)
	d, _ := e.rotate("the spent token, retried again", a, r1.Add(2*time.Second), grace)
	e.refuse("the first rotation's token", b, r1.Add(3*time.Second), grace, jwtguard.ErrRefreshTokenSuperseded)
	e.refuse("the first retry's token", c, r1.Add(3*time.Second), grace, jwtguard.ErrRefreshTokenSuperseded)
	e.wantLive("the second retry's token", d, s.ID, r1.Add(3*time.Second))
	e.rotate("the second retry's token", d, r1.Add(4*time.Second), grace)
}

func testGraceSupersededRefused(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	c, _ := e.rotate("the spent token, retried", a, r1.Add(time.Second), grace)
	e.refuse("the superseded token", b, r1.Add(2*time.Second), grace, jwtguard.ErrRefreshTokenSuperseded)
	e.wantLive("the retry's token", c, s.ID, r1.Add(2*time.Second))
	e.rotate("the retry's token", c, r1.Add(3*time.Second), grace)
}

func testGraceSupersededAfterSurvivor(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	c, _ := e.rotate("the spent token, retried", a, r1.Add(time.Second), grace)
	d, _ := e.rotate("the retry's token", c, r1.Add(2*time.Second), grace)
	e.refuse("the superseded token", b, r1.Add(3*time.Second), grace, jwtguard.ErrRefreshTokenSuperseded)
	e.wantLive("the newest token", d, s.ID, r1.Add(3*time.Second))
	e.rotate("the newest token", d, r1.Add(4*time.Second), grace)
}

func testGraceSupersededAfterWindow(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	c, _ := e.rotate("the spent token, retried", a, r1.Add(time.Second), grace)
	now := r1.Add(grace + time.Second) // past the end of either rotation's window
	e.refuse("the superseded token, after the window", b, now, grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the retry's token", c, s.ID, now)
	e.refuse("the retry's token, after the reuse", c, now.Add(time.Second), grace, jwtguard.ErrRefreshTokenInvalid)
}

func testGraceSupersededEdgeInside(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	c, _ := e.rotate("the spent token, retried at the same instant", a, r1, grace)
	now := r1.Add(grace - tick)
	e.refuse("the superseded token, a microsecond before the window's end", b, now, grace, jwtguard.ErrRefreshTokenSuperseded)
	e.wantLive("the retry's token", c, s.ID, now)
}

func testGraceSupersededEdgeAt(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	c, _ := e.rotate("the spent token, retried at the same instant", a, r1, grace)
	now := r1.Add(grace)
	e.refuse("the superseded token, at rotation+grace", b, now, grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the retry's token", c, s.ID, now)
}

func testGracePreviousEdgeInside(e *env) {
	s, a := e.login(t0)
	e.rotate("the first token", a, r1, grace)
	now := r1.Add(grace - tick)
	c, _ := e.rotate("the spent token, a microsecond before the window's end", a, now, grace)
	e.wantLive("the retry's token", c, s.ID, now)
}

func testGracePreviousEdgeAt(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	now := r1.Add(grace)
	e.refuse("the spent token, at rotation+grace", a, now, grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", b, s.ID, now)
	e.refuse("the newest token, after the reuse", b, now.Add(time.Second), grace, jwtguard.ErrRefreshTokenInvalid)
}

func testGracePreviousAfterWindow(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	now := r1.Add(time.Hour)
	e.refuse("the spent token, an hour after its rotation", a, now, grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", b, s.ID, now)
}

func testGraceOlderToken(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	c, _ := e.rotate("the second token", b, r1.Add(time.Second), grace)
	now := r1.Add(2 * time.Second)
	e.refuse("the first token, inside the window of both rotations", a, now, grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", c, s.ID, now)
	e.refuse("the newest token, after the reuse", c, now.Add(time.Second), grace, jwtguard.ErrRefreshTokenInvalid)
}

func testGraceBeforeRotation(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	now := r1.Add(-time.Second)
	e.refuse("the spent token, a second before its rotation", a, now, grace, jwtguard.ErrRefreshTokenReused)
	e.wantRevoked("the newest token", b, s.ID, now)
}

// ---- Concurrent ----

// race presents h from workers goroutines at once, each with its own next.
// The goroutines yield until all of them run and then start together,
// rather than one by one as a closed channel would wake them, so that
// calls overlap as often as the machine allows. A store whose check and
// update are not one atomic step can still pass a run: the rounds make
// that unlikely, and the race detector catches the unguarded memory
// accesses that such a store usually makes.
func (e *env) race(h jwtguard.TokenHash, now time.Time, grace time.Duration) ([]jwtguard.TokenHash, []jwtguard.Session, []error) {
	nexts := make([]jwtguard.TokenHash, workers)
	for i := range nexts {
		nexts[i] = e.hash()
	}
	got := make([]jwtguard.Session, workers)
	errs := make([]error, workers)
	var ready atomic.Int32
	var start atomic.Bool
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			ready.Add(1)
			for !start.Load() {
				runtime.Gosched()
			}
			got[i], errs[i] = e.s.RotateSession(e.ctx, h, nexts[i], now, grace)
		})
	}
	for ready.Load() < workers {
		runtime.Gosched()
	}
	start.Store(true)
	wg.Wait()
	return nexts, got, errs
}

func testConcurrentNoGrace(e *env) {
	for round := range rounds {
		s, a := e.login(t0)
		now := at(time.Minute)
		nexts, _, errs := e.race(a, now, 0)
		var winners []int
		others, other := 0, error(nil)
		for i, err := range errs {
			switch {
			case err == nil:
				winners = append(winners, i)
			case !errors.Is(err, jwtguard.ErrRefreshTokenReused):
				others++
				other = err
			}
		}
		if len(winners) != 1 {
			e.errorf("round %d: %d of %d concurrent RotateSession calls rotated; want exactly 1", round, len(winners), workers)
		}
		if others > 0 {
			e.errorf("round %d: %d losing RotateSession calls returned something else than ErrRefreshTokenReused, such as %v", round, others, errString(other))
		}
		if !e.revoked(s.ID, "", now) {
			e.errorf("round %d: Revoked(session %s, \"\", %s) = false after the reuse; want true", round, s.ID, when(now))
		}
		if got := e.lookup("the first token", a).RevokedAt; !got.Equal(now) {
			e.errorf("round %d: session %s RevokedAt = %s after the reuse; want %s", round, s.ID, when(got), when(now))
		}
		if len(winners) == 1 {
			e.refuse("the winner's token, after the reuse", nexts[winners[0]], now.Add(time.Second), 0, jwtguard.ErrRefreshTokenInvalid)
		}
		if e.t.Failed() {
			return
		}
	}
}

func testConcurrentGrace(e *env) {
	for round := range rounds {
		s, a := e.login(t0)
		now := at(time.Minute)
		nexts, got, errs := e.race(a, now, grace)
		failed, failure := 0, error(nil)
		for i, err := range errs {
			if err != nil {
				failed++
				failure = err
			} else if !got[i].LastUsedAt.Equal(now) || got[i].ID != s.ID {
				e.errorf("round %d: a concurrent rotation returned session %s with LastUsedAt %s; want %s, %s", round, got[i].ID, when(got[i].LastUsedAt), s.ID, when(now))
			}
		}
		if failed > 0 {
			e.errorf("round %d: %d of %d concurrent RotateSession calls inside the window failed, such as %v; want each rotated", round, failed, workers, errString(failure))
		}
		later := now.Add(time.Second)
		usable, others, other := 0, 0, error(nil)
		for i, n := range nexts {
			if errs[i] != nil {
				continue
			}
			_, err := e.s.RotateSession(e.ctx, n, e.hash(), later, grace)
			switch {
			case err == nil:
				usable++
			case !errors.Is(err, jwtguard.ErrRefreshTokenSuperseded):
				others++
				other = err
			}
		}
		if usable != 1 {
			e.errorf("round %d: %d of the tokens the concurrent rotations made rotated in turn; want exactly 1", round, usable)
		}
		if others > 0 {
			e.errorf("round %d: %d of the tokens the concurrent rotations made returned something else than ErrRefreshTokenSuperseded, such as %v", round, others, errString(other))
		}
		e.wantLive("the first token", a, s.ID, later)
		if e.t.Failed() {
			return
		}
	}
}

// ---- Expiry ----

func testExpiryAtExpiresAt(e *env) {
	s, a := e.login(t0)
	e.refuse("the first token, at ExpiresAt", a, s.ExpiresAt, 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("the first token, at ExpiresAt", a, s.ExpiresAt, grace, jwtguard.ErrRefreshTokenInvalid)
	e.same("the session after the refusal", e.lookup("the first token", a), s)
	// Not spent: it still rotates a microsecond before the end.
	e.rotate("the first token, a microsecond before ExpiresAt, after the refusal", a, s.ExpiresAt.Add(-tick), 0)
}

func testExpiryAfterExpiresAt(e *env) {
	s, a := e.login(t0)
	e.refuse("the first token, an hour past ExpiresAt", a, s.ExpiresAt.Add(time.Hour), 0, jwtguard.ErrRefreshTokenInvalid)
	b, _ := e.rotate("the first token", a, at(time.Hour), 0)
	e.refuse("a rotated token, a second past ExpiresAt", b, s.ExpiresAt.Add(time.Second), 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("a rotated token, a lifetime past ExpiresAt", b, s.ExpiresAt.Add(lifetime), grace, jwtguard.ErrRefreshTokenInvalid)
}

func testExpiryNotExtended(e *env) {
	s, a := e.login(t0)
	b, got := e.rotate("the first token", a, at(time.Hour), 0)
	if !got.ExpiresAt.Equal(s.ExpiresAt) {
		e.errorf("RotateSession's session has ExpiresAt %s; want %s, as at login", when(got.ExpiresAt), when(s.ExpiresAt))
	}
	c, got := e.rotate("the second token", b, s.ExpiresAt.Add(-time.Hour), 0)
	if !got.ExpiresAt.Equal(s.ExpiresAt) {
		e.errorf("RotateSession's session has ExpiresAt %s; want %s, as at login", when(got.ExpiresAt), when(s.ExpiresAt))
	}
	e.refuse("the newest token, at the login's ExpiresAt", c, s.ExpiresAt, 0, jwtguard.ErrRefreshTokenInvalid)
}

func testExpirySpentToken(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Hour), 0)
	before := e.lookup("the current token", b)
	e.refuse("the spent token, at ExpiresAt", a, s.ExpiresAt, 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("the spent token, past ExpiresAt", a, s.ExpiresAt.Add(time.Hour), grace, jwtguard.ErrRefreshTokenInvalid)
	e.same("the session after the refusals", e.lookup("the current token", b), before)
}

// ---- Idle ----

const idle = time.Hour

func testIdleAtTimeout(e *env) {
	s := e.session(e.user(), t0)
	s.IdleTimeout = idle
	a := e.create(s)
	e.refuse("the first token, IdleTimeout after login", a, t0.Add(idle), 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("the first token, IdleTimeout after login", a, t0.Add(idle), grace, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("the first token, a day after login", a, t0.Add(24*time.Hour), 0, jwtguard.ErrRefreshTokenInvalid)
	e.same("the session after the refusals", e.lookup("the first token", a), s)
	// Not spent: it still rotates a microsecond before the timeout.
	e.rotate("the first token, a microsecond before the timeout, after the refusals", a, t0.Add(idle-tick), 0)
}

func testIdleRefreshMovesLastUsedAt(e *env) {
	s := e.session(e.user(), t0)
	s.IdleTimeout = idle
	a := e.create(s)
	first := t0.Add(50 * time.Minute)
	b, got := e.rotate("the first token", a, first, 0)
	if !got.LastUsedAt.Equal(first) {
		e.errorf("RotateSession's session has LastUsedAt %s; want %s", when(got.LastUsedAt), when(first))
	}
	second := first.Add(50 * time.Minute) // past login+IdleTimeout, inside first+IdleTimeout
	c, _ := e.rotate("the second token, 50 minutes after the first refresh", b, second, 0)
	e.refuse("the newest token, IdleTimeout after the last refresh", c, second.Add(idle), 0, jwtguard.ErrRefreshTokenInvalid)
}

func testIdleZero(e *env) {
	s, a := e.login(t0) // IdleTimeout 0
	b, _ := e.rotate("the first token, 6 days after login", a, t0.Add(6*24*time.Hour), 0)
	e.rotate("the second token, a day later", b, s.ExpiresAt.Add(-tick), 0)
}

func testIdleSpentToken(e *env) {
	s := e.session(e.user(), t0)
	s.IdleTimeout = idle
	a := e.create(s)
	last := t0.Add(10 * time.Minute)
	b, _ := e.rotate("the first token", a, last, 0)
	before := e.lookup("the current token", b)
	e.refuse("the spent token, IdleTimeout after the last refresh", a, last.Add(idle), 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("the spent token, IdleTimeout after the last refresh", a, last.Add(idle), grace, jwtguard.ErrRefreshTokenInvalid)
	e.same("the session after the refusals", e.lookup("the current token", b), before)
	// Not revoked: the current token still rotates a microsecond before the timeout.
	e.rotate("the current token, a microsecond before the timeout, after the refusals", b, last.Add(idle-tick), 0)
}

// ---- Lookup ----

func testLookupCurrent(e *env) {
	_, a := e.login(t0)
	b, want := e.rotate("the first token", a, at(time.Minute), 0)
	e.same("LookupSession(the current token)", e.lookup("the current token", b), want)
}

func testLookupSpent(e *env) {
	_, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	_, want := e.rotate("the second token", b, at(2*time.Minute), 0)
	e.same("LookupSession(the first, spent, token)", e.lookup("the first, spent, token", a), want)
	e.same("LookupSession(the second, spent, token)", e.lookup("the second, spent, token", b), want)
}

func testLookupSuperseded(e *env) {
	_, a := e.login(t0)
	b, _ := e.rotate("the first token", a, r1, grace)
	_, want := e.rotate("the spent token, retried", a, r1.Add(time.Second), grace)
	e.same("LookupSession(the superseded token)", e.lookup("the superseded token", b), want)
}

func testLookupRevokedSession(e *env) {
	s, a := e.login(t0)
	if err := e.s.RevokeSession(e.ctx, s.ID, at(time.Minute)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	want := s
	want.RevokedAt = at(time.Minute)
	e.same("LookupSession(the token of the revoked session)", e.lookup("the token of the revoked session", a), want)
}

func testLookupUnknown(e *env) {
	e.login(t0)
	if got, err := e.s.LookupSession(e.ctx, e.hash()); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
		e.errorf("LookupSession(an unknown token) = session %q, %v; want ErrRefreshTokenInvalid", got.ID, err)
	}
}

// ---- Revoke ----

func testRevokeRefuses(e *env) {
	s, a := e.login(t0)
	b, _ := e.rotate("the first token", a, at(time.Minute), 0)
	if err := e.s.RevokeSession(e.ctx, s.ID, at(2*time.Minute)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	e.wantRevoked("the current token", b, s.ID, at(2*time.Minute))
	e.refuse("the current token of the revoked session", b, at(3*time.Minute), 0, jwtguard.ErrRefreshTokenInvalid)
	e.refuse("the current token of the revoked session", b, at(3*time.Minute), grace, jwtguard.ErrRefreshTokenInvalid)
	e.wantRevoked("the current token", b, s.ID, at(2*time.Minute))
}

func testRevokeKeepsFirstRevokedAt(e *env) {
	s, a := e.login(t0)
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute} {
		if err := e.s.RevokeSession(e.ctx, s.ID, at(d)); err != nil {
			e.errorf("RevokeSession at %s = %v; want nil", when(at(d)), err)
		}
	}
	e.wantRevoked("the token", a, s.ID, at(time.Minute))
}

func testRevokeUnknownID(e *env) {
	e.login(t0)
	if err := e.s.RevokeSession(e.ctx, "sid-"+rand.Text(), at(time.Minute)); err != nil {
		e.errorf("RevokeSession(an unknown id) = %v; want nil", err)
	}
}

func testRevokeOnlyThatSession(e *env) {
	user := e.user()
	s1, s2 := e.session(user, t0), e.session(user, t0)
	a1, a2 := e.create(s1), e.create(s2)
	if err := e.s.RevokeSession(e.ctx, s1.ID, at(time.Minute)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	e.wantLive("the other session's token", a2, s2.ID, at(time.Minute))
	e.rotate("the other session's token", a2, at(2*time.Minute), 0)
	e.wantRevoked("the revoked session's token", a1, s1.ID, at(time.Minute))
}

// ---- RevokeUser ----

// sessionsOf creates n sessions of user, rotating the token of every second
// one, and returns their current tokens.
func (e *env) sessionsOf(user string, n int) ([]jwtguard.Session, []jwtguard.TokenHash) {
	e.t.Helper()
	ss := make([]jwtguard.Session, n)
	hs := make([]jwtguard.TokenHash, n)
	for i := range n {
		ss[i] = e.session(user, at(time.Duration(i)*time.Second))
		hs[i] = e.create(ss[i])
		if i%2 == 1 {
			hs[i], _ = e.rotate("a session's first token", hs[i], at(time.Minute), 0)
		}
	}
	return ss, hs
}

func (e *env) revokeUser(user string, now time.Time) {
	e.t.Helper()
	if err := e.s.RevokeUserSessions(e.ctx, user, now); err != nil {
		e.fatalf("RevokeUserSessions at %s = %v", when(now), err)
	}
}

func testRevokeUserAllSessions(e *env) {
	user := e.user()
	ss, hs := e.sessionsOf(user, 3)
	now := at(time.Hour)
	e.revokeUser(user, now)
	for i := range ss {
		e.wantRevoked("a token of the user", hs[i], ss[i].ID, now)
		e.refuse("a token of the user", hs[i], now.Add(time.Second), 0, jwtguard.ErrRefreshTokenInvalid)
	}
}

func testRevokeUserNotOtherUsers(e *env) {
	user, other := e.user(), e.user()
	e.sessionsOf(user, 2)
	ss, hs := e.sessionsOf(other, 2)
	now := at(time.Hour)
	e.revokeUser(user, now)
	for i := range ss {
		e.wantLive("a token of the other user", hs[i], ss[i].ID, now)
		e.rotate("a token of the other user", hs[i], now.Add(time.Second), 0)
	}
}

func testRevokeUserKeepsFirstRevokedAt(e *env) {
	user := e.user()
	ss, hs := e.sessionsOf(user, 2)
	if err := e.s.RevokeSession(e.ctx, ss[0].ID, at(2*time.Minute)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	e.revokeUser(user, at(time.Hour))
	e.wantRevoked("the token of the session revoked first", hs[0], ss[0].ID, at(2*time.Minute))
	e.wantRevoked("the token of the other session", hs[1], ss[1].ID, at(time.Hour))
}

func testRevokeUserUnknownUser(e *env) {
	e.login(t0)
	if err := e.s.RevokeUserSessions(e.ctx, e.user(), at(time.Minute)); err != nil {
		e.errorf("RevokeUserSessions(a user without sessions) = %v; want nil", err)
	}
}

func testRevokeUserLaterLogin(e *env) {
	user := e.user()
	e.sessionsOf(user, 2)
	e.revokeUser(user, at(time.Hour))
	s := e.session(user, at(2*time.Hour))
	a := e.create(s)
	e.wantLive("the later login's token", a, s.ID, at(2*time.Hour))
	e.rotate("the later login's token", a, at(3*time.Hour), 0)
}

func testRevokeUserLaterLoginEdge(e *env) {
	user := e.user()
	r := at(time.Hour)
	e.revokeUser(user, r)
	s := e.session(user, r.Add(tick))
	a := e.create(s)
	e.wantLive("the login a microsecond after the mark", a, s.ID, r.Add(time.Second))
}

// refuseRevoked asks CreateSession to store s and checks that it fails
// with ErrSessionRevoked and stores nothing.
func (e *env) refuseRevoked(what string, s jwtguard.Session) {
	e.t.Helper()
	first := e.hash()
	err := e.s.CreateSession(e.ctx, s, first)
	if !errors.Is(err, jwtguard.ErrSessionRevoked) {
		got := "nil (stored)"
		if err != nil {
			got = fmt.Sprintf("%q", err.Error())
		}
		e.errorf("CreateSession(%s, CreatedAt %s) = %s; want ErrSessionRevoked", what, when(s.CreatedAt), got)
	}
	if err == nil {
		return
	}
	if got, err := e.s.LookupSession(e.ctx, first); err == nil {
		e.errorf("CreateSession(%s) failed but stored its token (in session %s)", what, got.ID)
	}
	if !e.revoked(s.ID, "", s.CreatedAt.Add(time.Second)) {
		e.errorf("CreateSession(%s) failed but Revoked(its sid) = false: the session was stored", what)
	}
}

func testRevokeUserMarkRefusesEarlierLogin(e *env) {
	user := e.user()
	e.sessionsOf(user, 2)
	r := at(time.Hour)
	e.revokeUser(user, r)
	e.refuseRevoked("a login that read the user before the revocation", e.session(user, r.Add(-time.Second)))
	e.refuseRevoked("a login a microsecond before the revocation", e.session(user, r.Add(-tick)))
}

func testRevokeUserMarkRefusesLoginAtMark(e *env) {
	user := e.user()
	e.sessionsOf(user, 1)
	r := at(time.Hour)
	e.revokeUser(user, r)
	e.refuseRevoked("a login at the instant of the revocation", e.session(user, r))
}

func testRevokeUserMarkWithoutSessions(e *env) {
	e.login(t0)
	user := e.user()
	r := at(time.Hour)
	e.revokeUser(user, r)
	e.refuseRevoked("the first login of a user revoked without sessions", e.session(user, r.Add(-time.Second)))
}

func testRevokeUserMarkOnlyThatUser(e *env) {
	user, other := e.user(), e.user()
	e.sessionsOf(user, 1)
	r := at(time.Hour)
	e.revokeUser(user, r)
	s := e.session(other, r.Add(-time.Second))
	a := e.create(s)
	e.wantLive("another user's login from before the revocation", a, s.ID, r)
}

func testRevokeUserMarkKeepsLatest(e *env) {
	user := e.user()
	e.sessionsOf(user, 1)
	early, late := at(time.Hour), at(2*time.Hour)
	e.revokeUser(user, late)
	e.revokeUser(user, early) // a call with a clock behind the other's
	e.refuseRevoked("a login between two revocations", e.session(user, early.Add(time.Minute)))
}

func testRevokeUserMarkKeptAnHour(e *env) {
	user := e.user()
	other, oh := e.login(t0)
	r := at(time.Hour)
	e.revokeUser(user, r)
	// Calls an hour less a microsecond later, a rotation (when a store
	// may sweep) and another user's revocation among them.
	later := r.Add(time.Hour - tick)
	e.rotate("another user's token", oh, later, 0)
	e.revoked(other.ID, "", later)
	e.revokeUser(e.user(), later)
	e.refuseRevoked("a login that read the user before the revocation, an hour later", e.session(user, r.Add(-time.Second)))
}

// ---- Revoked ----

// denied creates a live session and denies a jti of it until t0+15m.
func (e *env) denied() (sid, jti string, until time.Time) {
	e.t.Helper()
	s, _ := e.login(t0)
	jti, until = "jti-"+rand.Text(), at(15*time.Minute)
	if err := e.s.DenyAccessToken(e.ctx, jti, until); err != nil {
		e.fatalf("DenyAccessToken = %v", err)
	}
	return s.ID, jti, until
}

func (e *env) wantRevokedAt(sid, jti string, now time.Time, want bool, why string) {
	e.t.Helper()
	if got := e.revoked(sid, jti, now); got != want {
		e.errorf("Revoked(%q, %q, %s) = %v; want %v (%s)", sid, jti, when(now), got, want, why)
	}
}

func testRevokedDeniedBeforeUntil(e *env) {
	sid, jti, until := e.denied()
	e.wantRevokedAt(sid, jti, t0, true, "the jti is denied until "+when(until))
	e.wantRevokedAt(sid, jti, until.Add(-tick), true, "the jti is denied until "+when(until))
}

func testRevokedNotAtUntil(e *env) {
	sid, jti, until := e.denied()
	e.wantRevokedAt(sid, jti, until, false, "the denial ends at until, when the token expires")
	e.wantRevokedAt(sid, jti, until.Add(time.Hour), false, "the denial ended at "+when(until))
}

func testRevokedOtherJTI(e *env) {
	sid, _, _ := e.denied()
	e.wantRevokedAt(sid, "jti-"+rand.Text(), t0, false, "only the denied jti is refused")
}

func testRevokedEmptySID(e *env) {
	_, jti, until := e.denied()
	e.wantRevokedAt("", jti, t0, true, "the jti is checked without a sid")
	e.wantRevokedAt("", "jti-"+rand.Text(), t0, false, "an empty sid is not checked, unlike an unknown one")
	e.wantRevokedAt("", jti, until, false, "the denial ends at until")
}

func testRevokedEmptyJTI(e *env) {
	sid, _, _ := e.denied()
	e.wantRevokedAt(sid, "", t0, false, "the session is live and an empty jti is not checked")
	e.wantRevokedAt("", "", t0, false, "nothing to check")
}

func testRevokedUnknownSID(e *env) {
	e.denied()
	sid := "sid-" + rand.Text()
	e.wantRevokedAt(sid, "", t0, true, "a store that does not know the session refuses its tokens")
	e.wantRevokedAt(sid, "jti-"+rand.Text(), t0, true, "a store that does not know the session refuses its tokens")
}

func testRevokedLiveSession(e *env) {
	s, a := e.login(t0)
	jti := "jti-" + rand.Text()
	e.wantRevokedAt(s.ID, jti, t0, false, "the session is live and the jti not denied")
	e.rotate("the first token", a, at(time.Minute), 0)
	e.wantRevokedAt(s.ID, jti, at(2*time.Minute), false, "a rotation keeps the session and its sid")
}

func testRevokedRevokedSession(e *env) {
	s, _ := e.login(t0)
	if err := e.s.RevokeSession(e.ctx, s.ID, at(time.Minute)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	e.wantRevokedAt(s.ID, "", at(time.Minute), true, "the session was revoked at "+when(at(time.Minute)))
	e.wantRevokedAt(s.ID, "jti-"+rand.Text(), at(time.Hour), true, "the session was revoked at "+when(at(time.Minute)))
}

func testRevokedCreatedRevoked(e *env) {
	s := jwtguard.Session{ID: "created-revoked-" + rand.Text(), UserID: "user-" + rand.Text(), CreatedAt: t0, ExpiresAt: at(time.Hour), LastUsedAt: t0, RevokedAt: at(time.Second)}
	if err := e.s.CreateSession(e.ctx, s, jwtguard.HashRefreshToken(rand.Text())); err != nil {
		e.fatalf("CreateSession of a revoked session = %v", err)
	}
	e.wantRevokedAt(s.ID, "", at(time.Minute), true, "the session was created revoked")
}

func testRevokedBeforeRevokedAt(e *env) {
	s, _ := e.login(t0)
	if err := e.s.RevokeSession(e.ctx, s.ID, at(time.Hour)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	e.wantRevokedAt(s.ID, "", at(time.Hour-10*time.Second), true, "the session was revoked at "+when(at(time.Hour))+", which a Revoked asked as of a time before it does not undo")
	e.wantRevokedAt(s.ID, "", at(time.Minute), true, "the session was revoked at "+when(at(time.Hour)))
}

func testRevokedExpiredSession(e *env) {
	s, _ := e.login(t0)
	jti := "jti-" + rand.Text()
	e.wantRevokedAt(s.ID, "", s.ExpiresAt.Add(-tick), false, "the session ends at ExpiresAt, a microsecond later")
	e.wantRevokedAt(s.ID, "", s.ExpiresAt, true, "the session ended at its ExpiresAt")
	e.wantRevokedAt(s.ID, jti, s.ExpiresAt, true, "the session ended at its ExpiresAt")
	e.wantRevokedAt(s.ID, jti, s.ExpiresAt.Add(time.Hour), true, "the session is past its ExpiresAt")
}

// ---- Copies ----

// scribble changes every field of *s.
func scribble(s *jwtguard.Session) {
	s.ID += "-changed"
	s.UserID += "-changed"
	s.CreatedAt = s.CreatedAt.Add(-time.Hour)
	s.ExpiresAt = s.ExpiresAt.Add(time.Hour)
	s.IdleTimeout += time.Minute
	s.LastUsedAt = s.LastUsedAt.Add(time.Hour)
	s.KeyBinding += "-changed"
	s.RevokedAt = s.RevokedAt.Add(time.Hour)
}

func testCopiesKeyBinding(e *env) {
	bearer, h := e.login(t0)
	_, got := e.rotate("a bearer session's token", h, r1, 0)
	if got.KeyBinding != "" {
		e.errorf("a bearer session's KeyBinding = %q after a rotation; want empty", got.KeyBinding)
	}
	if got := e.lookup("a bearer session's token", h).KeyBinding; got != bearer.KeyBinding {
		e.errorf("a bearer session's KeyBinding = %q; want empty", got)
	}

	s := e.full(t0)
	a := e.create(s)
	if got := e.lookup("the first token", a).KeyBinding; got != s.KeyBinding {
		e.errorf("LookupSession's KeyBinding = %q; want %q", got, s.KeyBinding)
	}
	b, got := e.rotate("the first token", a, r1, grace)
	if got.KeyBinding != s.KeyBinding {
		e.errorf("RotateSession's KeyBinding = %q; want %q", got.KeyBinding, s.KeyBinding)
	}
	_, got = e.rotate("the first token, retried", a, r1.Add(time.Second), grace)
	if got.KeyBinding != s.KeyBinding {
		e.errorf("the retry's KeyBinding = %q; want %q", got.KeyBinding, s.KeyBinding)
	}
	if err := e.s.RevokeSession(e.ctx, s.ID, r1.Add(2*time.Second)); err != nil {
		e.fatalf("RevokeSession = %v", err)
	}
	if got := e.lookup("the superseded token", b).KeyBinding; got != s.KeyBinding {
		e.errorf("LookupSession's KeyBinding after revocation = %q; want %q", got, s.KeyBinding)
	}
}

func testCopiesCreate(e *env) {
	s := e.full(t0)
	want := s
	a := e.create(s)
	scribble(&s)
	e.same("LookupSession after changing the session given to CreateSession", e.lookup("the first token", a), want)
}

func testCopiesLookup(e *env) {
	s := e.full(t0)
	a := e.create(s)
	got := e.lookup("the first token", a)
	scribble(&got)
	e.same("LookupSession after changing what it returned", e.lookup("the first token", a), s)
}

func testCopiesRotate(e *env) {
	s := e.full(t0)
	a := e.create(s)
	b, got := e.rotate("the first token", a, r1, 0)
	want := got
	scribble(&got)
	e.same("LookupSession after changing what RotateSession returned", e.lookup("the new token", b), want)
	e.rotate("the new token", b, r1.Add(time.Minute), 0)
}

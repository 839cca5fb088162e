package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/storetest"
)

// The suite tested against itself: a careful in-memory store must pass it,
// and each of the store's mutants, which breaks one rule on purpose, must
// fail the subtests of that rule. The store is a fixture of this test, not
// jwtguard's memory store.

// TestReference: the careful store passes every subtest.
func TestReference(t *testing.T) {
	storetest.Sessions(t, func(t *testing.T) jwtguard.SessionStore { return newMem("") })
}

// mutantEnv names the mutant that TestMutantChild runs the suite against.
const mutantEnv = "STORETEST_MUTANT"

// TestMutantChild runs the suite against one mutant, in the process that
// TestMutants starts; it is skipped otherwise.
func TestMutantChild(t *testing.T) {
	bug := os.Getenv(mutantEnv)
	if bug == "" {
		t.Skip("run by TestMutants")
	}
	if bug == "none" {
		bug = ""
	}
	storetest.Sessions(t, func(t *testing.T) jwtguard.SessionStore { return newMem(bug) })
}

// mutants maps each bug of the store to subtests it must fail (at least;
// a bug may fail others too).
var mutants = map[string][]string{
	"create-dup-id":              {"Create/DuplicateID"},
	"create-dup-hash":            {"Create/DuplicateHash", "Create/DuplicateSpentHash"},
	"create-spent-hash":          {"Create/DuplicateSpentHash"},
	"create-drops-idle":          {"Create/StoresAsGiven", "Rotate/ReturnsSession"},
	"last-used":                  {"Rotate/ReturnsSession", "Idle/RefreshMovesLastUsedAt", "Grace/RetryRotates"},
	"next-dropped":               {"Rotate/NextRotates", "Lookup/Current"},
	"no-spend":                   {"Rotate/PresentedSpent", "Reuse/Refused"},
	"unknown-reused":             {"Rotate/Unknown"},
	"next-held":                  {"Rotate/NextIsPresented", "Rotate/NextIsSpent", "Rotate/NextIsOtherSessions"},
	"reuse-invalid":              {"Reuse/Refused", "Reuse/RevokesSession", "Concurrent/NoGrace"},
	"no-revoke-on-reuse":         {"Reuse/RevokesSession", "Reuse/NewestTokenInvalid", "Concurrent/NoGrace"},
	"reuse-after-revoke-invalid": {"Reuse/Again", "Reuse/AfterLogout", "Concurrent/NoGrace"},
	"reuse-revokes-user":         {"Reuse/OnlyItsSession"},
	"no-grace":                   {"Grace/RetryRotates", "Grace/PreviousEdgeInside", "Concurrent/Grace"},
	"grace-inclusive":            {"Grace/PreviousEdgeAt", "Grace/SupersededEdgeAt", "Reuse/NoGraceSameInstant"},
	"grace-any-spent":            {"Grace/OlderToken"},
	"grace-unit":                 {"Grace/PreviousEdgeAt", "Grace/PreviousAfterWindow"},
	"single-retry":               {"Grace/RetryAgain", "Concurrent/Grace"},
	"retry-keeps-current":        {"Grace/SupersededRefused", "Grace/RetryAgain", "Concurrent/Grace"},
	"superseded-reuse":           {"Grace/SupersededRefused", "Grace/SupersededEdgeInside", "Concurrent/Grace"},
	"superseded-forever":         {"Grace/SupersededAfterWindow", "Grace/SupersededEdgeAt"},
	"superseded-until-rotation":  {"Grace/SupersededAfterSurvivor"},
	"round-seconds":              {"Grace/PreviousEdgeInside", "Grace/SupersededEdgeInside", "Expiry/AtExpiresAt", "Idle/AtTimeout", "Revoked/DeniedBeforeUntil"},
	"nonatomic":                  {"Concurrent/NoGrace", "Concurrent/Grace"},
	"expiry-exclusive":           {"Expiry/AtExpiresAt", "Expiry/NotExtended"},
	"expiry-ignored":             {"Expiry/AtExpiresAt", "Expiry/AfterExpiresAt"},
	"expiry-extended":            {"Expiry/NotExtended", "Rotate/ReturnsSession"},
	"expiry-spends":              {"Expiry/AtExpiresAt"},
	"idle-ignored":               {"Idle/AtTimeout", "Idle/RefreshMovesLastUsedAt"},
	"idle-from-created":          {"Idle/RefreshMovesLastUsedAt"},
	"idle-zero":                  {"Idle/Zero"},
	"idle-touches":               {"Idle/AtTimeout"},
	"ended-spent-reuse":          {"Expiry/SpentToken", "Idle/SpentToken"},
	"lookup-current-only":        {"Lookup/Spent", "Lookup/Superseded"},
	"lookup-stale":               {"Lookup/Current", "Lookup/Spent"},
	"lookup-revoked-invalid":     {"Lookup/RevokedSession", "Reuse/RevokesSession", "Revoke/Refuses"},
	"lookup-unknown-nil":         {"Lookup/Unknown"},
	"revoked-rotates":            {"Revoke/Refuses", "Reuse/NewestTokenInvalid", "RevokeUser/AllSessions"},
	"revoked-reuse":              {"Revoke/Refuses", "Reuse/NewestTokenInvalid"},
	"revoke-overwrites":          {"Revoke/KeepsFirstRevokedAt"},
	"revoke-unknown-error":       {"Revoke/UnknownID"},
	"revoke-whole-user":          {"Revoke/OnlyThatSession"},
	"revoke-user-noop":           {"RevokeUser/AllSessions"},
	"revoke-user-everyone":       {"RevokeUser/NotOtherUsers"},
	"revoke-user-overwrites":     {"RevokeUser/KeepsFirstRevokedAt"},
	"revoke-user-unknown-error":  {"RevokeUser/UnknownUser"},
	"revoke-user-forever":        {"RevokeUser/LaterLogin"},
	"deny-ignored":               {"Revoked/DeniedBeforeUntil", "Revoked/EmptySID"},
	"deny-inclusive":             {"Revoked/NotAtUntil", "Revoked/EmptySID"},
	"deny-every-jti":             {"Revoked/OtherJTI", "Revoked/EmptySID"},
	"empty-sid-unknown":          {"Revoked/EmptySID", "Revoked/EmptyJTI"},
	"empty-sid-skips-jti":        {"Revoked/EmptySID"},
	"fail-open":                  {"Revoked/UnknownSID"},
	"revoked-zero-time":          {"Revoked/LiveSession", "Revoked/EmptyJTI", "Reuse/OnlyItsSession"},
	"revoked-ignores-session":    {"Revoked/RevokedSession", "Revoke/Refuses"},
	"revoked-as-of-now":          {"Revoked/BeforeRevokedAt"},
	"create-drops-revoked":       {"Revoked/CreatedRevoked"},
	"revoked-ignores-expiry":     {"Revoked/ExpiredSession"},
	"revoked-expiry-exclusive":   {"Revoked/ExpiredSession"},
	"key-binding":                {"Copies/KeyBinding", "Rotate/ReturnsSession"},
	// Review (issue 14): a store that accepts a session with an empty ID
	// issues access tokens with sid "", which Revoked never checks ("an
	// empty sid is not checked"): revoking that session, reuse detection
	// or logout everywhere leave its access tokens valid. The contract
	// does not forbid it and no subtest fails it; the reference store
	// below refuses an empty ID or user ID unless it is this mutant.
	"create-empty-id":      {"Create/EmptyID"},
	"create-negative-idle": {"Create/NegativeIdle"},
	"zero-time":            {"Create/ZeroTime"},
	"grace-no-lower-bound": {"Grace/BeforeRotation"},
	// Registration review: RevokeUserSessions revoked only the sessions
	// that existed, so a login that read the old password hash before a
	// password change and created its session after the revocation kept
	// a live one. Each of these breaks the mark that closes it.
	"mark-none":               {"RevokeUser/MarkRefusesEarlierLogin", "RevokeUser/MarkRefusesLoginAtMark", "RevokeUser/MarkWithoutSessions", "RevokeUser/MarkKeepsLatest", "RevokeUser/MarkKeptAnHour"},
	"mark-exclusive":          {"RevokeUser/MarkRefusesLoginAtMark"},
	"mark-only-with-sessions": {"RevokeUser/MarkWithoutSessions"},
	"mark-every-user":         {"RevokeUser/MarkOnlyThatUser"},
	"mark-overwrites":         {"RevokeUser/MarkKeepsLatest"},
	"mark-forgotten":          {"RevokeUser/MarkKeptAnHour"},
	"mark-wrong-error":        {"RevokeUser/MarkRefusesEarlierLogin", "RevokeUser/MarkRefusesLoginAtMark"},
	"mark-stores":             {"RevokeUser/MarkRefusesEarlierLogin"},
	"mark-rounds-up":          {"RevokeUser/LaterLoginEdge"},
}

// unbreakable are the subtests no mutant can fail: a Session holds only
// values (strings, times, a duration), so a store cannot hand out one
// that shares its memory. They guard a future field of a reference type.
var unbreakable = []string{"Copies/Create", "Copies/Lookup", "Copies/Rotate"}

// child runs the suite against a mutant in a new process and returns the
// subtests that passed and failed.
func child(t *testing.T, bug string) (passed, failed []string) {
	return childOf(t, "TestMutantChild", mutantEnv, bug)
}

// childOf runs the test named test (TestMutantChild or
// TestUserMutantChild) in a new process, with the variable env naming the
// mutant bug, and returns the Group/Rule subtests that passed and failed.
func childOf(t *testing.T, test, env, bug string) (passed, failed []string) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+bug)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the suite against mutant %s: %v", bug, err)
	}
	result := regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): ` + test + `/(\S+/\S+) `)
	for _, m := range result.FindAllStringSubmatch(string(out), -1) {
		switch m[1] {
		case "PASS":
			passed = append(passed, m[2])
		case "FAIL":
			failed = append(failed, m[2])
		}
	}
	if len(passed)+len(failed) == 0 || (err == nil) != (len(failed) == 0) {
		t.Fatalf("mutant %s: cannot read the suite's results (exit %v):\n%s", bug, err, out)
	}
	return passed, failed
}

// TestMutants: each mutant fails the subtests of the rule it breaks, and
// every subtest but the unbreakable ones fails for some mutant.
func TestMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process for each mutant")
	}
	all, failed := child(t, "none")
	if len(failed) > 0 {
		t.Fatalf("the careful store fails %v", failed)
	}
	caught := map[string]bool{}
	for _, want := range mutants {
		for _, name := range want {
			if !slices.Contains(all, name) {
				t.Errorf("mutants expect a failure of %s, which the suite does not have", name)
			}
			caught[name] = true
		}
	}
	for _, name := range all {
		if !caught[name] && !slices.Contains(unbreakable, name) {
			t.Errorf("no mutant fails %s", name)
		}
	}
	bugs := make([]string, 0, len(mutants))
	for bug := range mutants {
		bugs = append(bugs, bug)
	}
	sort.Strings(bugs)
	for _, bug := range bugs {
		t.Run(bug, func(t *testing.T) {
			t.Parallel()
			passed, failed := child(t, bug)
			if len(passed)+len(failed) != len(all) {
				t.Errorf("mutant %s: %d of the suite's %d subtests ran", bug, len(passed)+len(failed), len(all))
			}
			for _, name := range mutants[bug] {
				if !slices.Contains(failed, name) {
					t.Errorf("mutant %s passes %s", bug, name)
				}
			}
			t.Logf("fails %s", strings.Join(failed, " "))
		})
	}
}

// ---- the careful store and its mutants ----

type state int

const (
	current state = iota
	spent
	superseded
)

type token struct {
	sid     string
	state   state
	spentAt time.Time // spent: when
	from    time.Time // superseded: when the window in which it is refused gently began
}

type entry struct {
	s        jwtguard.Session
	current  jwtguard.TokenHash
	previous jwtguard.TokenHash // the token the latest rotation spent
	rotated  time.Time          // when it did; zero before the first rotation
	retries  int
}

type mem struct {
	bug      string
	mu       sync.Mutex
	sessions map[string]*entry
	tokens   map[jwtguard.TokenHash]*token
	denied   map[string]time.Time
	users    map[string]time.Time // the marks of RevokeUserSessions, by user ID
}

func newMem(bug string) *mem {
	return &mem{
		bug:      bug,
		sessions: map[string]*entry{},
		tokens:   map[jwtguard.TokenHash]*token{},
		denied:   map[string]time.Time{},
		users:    map[string]time.Time{},
	}
}

var (
	errHeld = errors.New("next token already held")
	errZero = errors.New("the zero time")
)

func (m *mem) is(bug string) bool { return m.bug == bug }

func (m *mem) time(t time.Time) time.Time {
	if m.is("round-seconds") {
		return t.Round(time.Second)
	}
	return t
}

func (m *mem) CreateSession(_ context.Context, s jwtguard.Session, first jwtguard.TokenHash) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if (s.ID == "" || s.UserID == "") && !m.is("create-empty-id") {
		return errors.New("a session needs an ID and a user ID")
	}
	if s.IdleTimeout < 0 && !m.is("create-negative-idle") {
		return errors.New("a negative idle timeout")
	}
	if (s.CreatedAt.IsZero() || s.ExpiresAt.IsZero()) && !m.is("zero-time") {
		return errZero
	}
	if _, ok := m.sessions[s.ID]; ok && !m.is("create-dup-id") {
		return errors.New("session exists")
	}
	if tk, ok := m.tokens[first]; ok && !m.is("create-dup-hash") && (tk.state == current || !m.is("create-spent-hash")) {
		return errors.New("token exists")
	}
	if m.is("create-drops-idle") {
		s.IdleTimeout = 0
	}
	if m.is("create-drops-revoked") {
		s.RevokedAt = time.Time{}
	}
	if err := m.marked(s); err != nil {
		if m.is("mark-stores") {
			m.sessions[s.ID] = &entry{s: s, current: first}
			m.tokens[first] = &token{sid: s.ID}
		}
		return err
	}
	m.sessions[s.ID] = &entry{s: s, current: first}
	m.tokens[first] = &token{sid: s.ID}
	return nil
}

// marked refuses s when its user's sessions were revoked at or after its
// CreatedAt.
func (m *mem) marked(s jwtguard.Session) error {
	for user, mark := range m.users {
		if user != s.UserID && !m.is("mark-every-user") {
			continue
		}
		refused := !s.CreatedAt.After(mark)
		switch {
		case m.is("mark-exclusive"):
			refused = s.CreatedAt.Before(mark)
		case m.is("mark-rounds-up"):
			refused = s.CreatedAt.Before(mark.Add(time.Second))
		}
		if !refused {
			continue
		}
		if m.is("mark-wrong-error") {
			return errors.New("revoked")
		}
		return fmt.Errorf("%w at %v", jwtguard.ErrSessionRevoked, mark)
	}
	return nil
}

// ended reports whether e's session is expired or idle at now.
func (m *mem) ended(e *entry, now time.Time) bool {
	s := &e.s
	expired := !now.Before(s.ExpiresAt)
	if m.is("expiry-exclusive") {
		expired = now.After(s.ExpiresAt)
	}
	if m.is("expiry-ignored") {
		expired = false
	}
	since := s.LastUsedAt
	if m.is("idle-from-created") {
		since = s.CreatedAt
	}
	idle := s.IdleTimeout > 0 && now.Sub(since) >= s.IdleTimeout
	if m.is("idle-zero") && s.IdleTimeout == 0 {
		idle = true
	}
	if m.is("idle-ignored") {
		idle = false
	}
	if idle && m.is("idle-touches") {
		s.LastUsedAt = now
	}
	return expired || idle
}

func (m *mem) revoke(e *entry, now time.Time) {
	if e.s.RevokedAt.IsZero() || m.is("revoke-overwrites") {
		e.s.RevokedAt = now
	}
}

func (m *mem) RotateSession(_ context.Context, presented, next jwtguard.TokenHash, now time.Time, grace time.Duration) (jwtguard.Session, error) {
	if now.IsZero() && !m.is("zero-time") {
		return jwtguard.Session{}, errZero
	}
	now = m.time(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.is("mark-forgotten") {
		clear(m.users)
	}
	tk := m.tokens[presented]
	if tk == nil {
		if m.is("unknown-reused") {
			return jwtguard.Session{}, jwtguard.ErrRefreshTokenReused
		}
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	}
	st := tk.state
	if m.is("nonatomic") {
		// Decide on what was read, then act after letting the others read too.
		m.mu.Unlock()
		time.Sleep(time.Millisecond)
		m.mu.Lock()
	}
	if _, held := m.tokens[next]; held && !m.is("next-held") {
		return jwtguard.Session{}, errHeld
	}
	e := m.sessions[tk.sid]
	if m.ended(e, now) && (st == current || !m.is("ended-spent-reuse")) {
		if m.is("expiry-spends") {
			tk.state = spent
		}
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	}
	revoked := !e.s.RevokedAt.IsZero() && !m.is("revoked-rotates")
	switch st {
	case current:
		if revoked {
			if m.is("revoked-reuse") {
				return jwtguard.Session{}, jwtguard.ErrRefreshTokenReused
			}
			return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
		}
		if !m.is("no-spend") {
			tk.state, tk.spentAt = spent, now
		}
		if m.is("superseded-until-rotation") {
			for _, t := range m.tokens {
				if t.sid == tk.sid && t.state == superseded {
					t.state = spent
				}
			}
		}
		e.previous, e.rotated, e.retries = presented, now, 0
		if m.is("expiry-extended") {
			e.s.ExpiresAt = e.s.ExpiresAt.Add(now.Sub(e.s.LastUsedAt))
		}
		return m.advance(e, next, now), nil
	case spent:
		if revoked {
			if m.is("reuse-after-revoke-invalid") {
				return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
			}
			return jwtguard.Session{}, jwtguard.ErrRefreshTokenReused
		}
		if m.retry(e, tk, presented, now, grace) {
			if c := m.tokens[e.current]; c != nil && !m.is("retry-keeps-current") {
				c.state, c.from = superseded, e.rotated
			}
			e.retries++
			return m.advance(e, next, now), nil
		}
	case superseded:
		inside := now.Sub(tk.from) < grace
		if m.is("grace-inclusive") {
			inside = now.Sub(tk.from) <= grace
		}
		if m.is("superseded-forever") {
			inside = true
		}
		if m.is("superseded-reuse") {
			inside = false
		}
		if revoked {
			return jwtguard.Session{}, jwtguard.ErrRefreshTokenReused
		}
		if inside {
			return jwtguard.Session{}, jwtguard.ErrRefreshTokenSuperseded
		}
	}
	// Reuse.
	if m.is("reuse-invalid") {
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	}
	if !m.is("no-revoke-on-reuse") {
		m.revoke(e, now)
	}
	if m.is("reuse-revokes-user") {
		for _, o := range m.sessions {
			if o.s.UserID == e.s.UserID {
				m.revoke(o, now)
			}
		}
	}
	return jwtguard.Session{}, jwtguard.ErrRefreshTokenReused
}

// retry reports whether the spent token presented may rotate again.
func (m *mem) retry(e *entry, tk *token, presented jwtguard.TokenHash, now time.Time, grace time.Duration) bool {
	switch {
	case m.is("no-grace"):
		return false
	case m.is("single-retry") && e.retries > 0:
		return false
	case m.is("grace-any-spent"):
		return now.Sub(tk.spentAt) < grace
	case m.is("grace-inclusive"):
		return presented == e.previous && now.Sub(e.rotated) <= grace
	case m.is("grace-unit"): // grace taken for a number of milliseconds
		return presented == e.previous && now.Sub(e.rotated) < grace*time.Millisecond
	}
	if m.is("grace-no-lower-bound") {
		return presented == e.previous && now.Sub(e.rotated) < grace
	}
	d := now.Sub(e.rotated)
	return presented == e.previous && d >= 0 && d < grace
}

// advance makes next the current token of e at now.
func (m *mem) advance(e *entry, next jwtguard.TokenHash, now time.Time) jwtguard.Session {
	e.current = next
	if !m.is("next-dropped") {
		m.tokens[next] = &token{sid: e.s.ID}
	}
	if !m.is("last-used") {
		e.s.LastUsedAt = now
	}
	if m.is("key-binding") {
		e.s.KeyBinding = ""
	}
	return e.s
}

func (m *mem) LookupSession(_ context.Context, h jwtguard.TokenHash) (jwtguard.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tk := m.tokens[h]
	switch {
	case tk == nil && m.is("lookup-unknown-nil"):
		return jwtguard.Session{}, nil
	case tk == nil, tk.state != current && m.is("lookup-current-only"):
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	}
	s := m.sessions[tk.sid].s
	if !s.RevokedAt.IsZero() && m.is("lookup-revoked-invalid") {
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	}
	if m.is("lookup-stale") {
		s.LastUsedAt = s.CreatedAt
	}
	return s, nil
}

func (m *mem) RevokeSession(_ context.Context, id string, now time.Time) error {
	if now.IsZero() && !m.is("zero-time") {
		return errZero
	}
	now = m.time(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.sessions[id]
	if e == nil {
		if m.is("revoke-unknown-error") {
			return errors.New("no such session")
		}
		return nil
	}
	if m.is("revoke-whole-user") {
		for _, o := range m.sessions {
			if o.s.UserID == e.s.UserID {
				m.revoke(o, now)
			}
		}
	}
	m.revoke(e, now)
	return nil
}

func (m *mem) RevokeUserSessions(_ context.Context, userID string, now time.Time) error {
	if now.IsZero() && !m.is("zero-time") {
		return errZero
	}
	now = m.time(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.is("revoke-user-noop") {
		return nil
	}
	n := 0
	for _, e := range m.sessions {
		if e.s.UserID == userID || m.is("revoke-user-everyone") {
			n++
			if m.is("revoke-user-overwrites") {
				e.s.RevokedAt = now
			}
			m.revoke(e, now)
		}
	}
	switch {
	case m.is("mark-none"), m.is("mark-only-with-sessions") && n == 0:
	case m.is("mark-overwrites"), now.After(m.users[userID]):
		m.users[userID] = now
	}
	if n == 0 && m.is("revoke-user-unknown-error") {
		return errors.New("no such user")
	}
	return nil
}

func (m *mem) DenyAccessToken(_ context.Context, jti string, until time.Time) error {
	until = m.time(until)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.is("deny-ignored") && until.After(m.denied[jti]) {
		m.denied[jti] = until
	}
	return nil
}

func (m *mem) Revoked(_ context.Context, sid, jti string, now time.Time) (bool, error) {
	now = m.time(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if sid == "" && m.is("empty-sid-skips-jti") {
		return false, nil
	}
	if sid != "" || m.is("empty-sid-unknown") {
		e := m.sessions[sid]
		switch {
		case e == nil:
			if !m.is("fail-open") {
				return true, nil
			}
		case m.is("revoke-user-forever") && !m.users[e.s.UserID].IsZero():
			return true, nil
		case m.is("revoked-zero-time"):
			if !e.s.RevokedAt.After(now) {
				return true, nil
			}
		case m.is("revoked-as-of-now") && !e.s.RevokedAt.IsZero():
			// revoked_at <= $now, as a database store might ask it
			if !e.s.RevokedAt.After(now) {
				return true, nil
			}
		case !e.s.RevokedAt.IsZero() && !m.is("revoked-ignores-session"):
			return true, nil
		case m.is("revoked-expiry-exclusive"):
			if now.After(e.s.ExpiresAt) {
				return true, nil
			}
		case !now.Before(e.s.ExpiresAt) && !m.is("revoked-ignores-expiry"):
			return true, nil
		}
	}
	if jti != "" {
		until, ok := m.denied[jti]
		if m.is("deny-every-jti") {
			for _, u := range m.denied {
				until, ok = u, true
			}
		}
		if ok && (now.Before(until) || m.is("deny-inclusive") && now.Equal(until)) {
			return true, nil
		}
	}
	return false, nil
}

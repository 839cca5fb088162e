package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// NewMemorySessionStore returns a [SessionStore] that keeps sessions in
// memory: for examples, tests and a service of one process. Its sessions
// are lost when the process ends (their access tokens are then refused,
// as Verify refuses the tokens of an unknown session, and their users log
// in again), and replicas do not share them. A session and the hashes of
// its spent tokens are dropped a day after the session has expired; the
// denied access tokens, once they have. It is safe for concurrent use.
func NewMemorySessionStore() SessionStore {
	return &memorySessions{
		sessions: map[string]*memorySession{},
		tokens:   map[TokenHash]*memoryToken{},
		users:    map[string]map[string]bool{},
		denied:   map[string]time.Time{},
	}
}

// sessionRetention is how long after its end a session and the hashes of
// its tokens are kept.
const sessionRetention = 24 * time.Hour

type memorySessions struct {
	mu       sync.RWMutex
	sessions map[string]*memorySession
	tokens   map[TokenHash]*memoryToken
	users    map[string]map[string]bool // user ID → session IDs
	denied   map[string]time.Time       // jti → until
	swept    time.Time                  // the last sweep of what has expired
}

type memorySession struct {
	Session
	current  TokenHash
	previous TokenHash // spent by the last rotation, when rotated is set
	rotated  time.Time // when the last rotation spent previous
	hashes   []TokenHash
}

type memoryToken struct {
	session *memorySession
	state   tokenState
	// window is, for a superseded token, the time of the rotation whose
	// grace window superseded it.
	window time.Time
}

type tokenState uint8

const (
	tokenCurrent tokenState = iota
	tokenSpent
	tokenSuperseded
)

func (m *memorySessions) CreateSession(_ context.Context, s Session, first TokenHash) error {
	if s.ID == "" || s.UserID == "" {
		return errors.New("jwtguard: a session needs an ID and a user ID")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(s.CreatedAt)
	if _, dup := m.sessions[s.ID]; dup {
		return fmt.Errorf("jwtguard: session %q exists", s.ID)
	}
	if _, dup := m.tokens[first]; dup {
		return errors.New("jwtguard: the store already holds that refresh token")
	}
	if s.LastUsedAt.IsZero() {
		s.LastUsedAt = s.CreatedAt
	}
	ms := &memorySession{Session: s, current: first}
	m.sessions[s.ID] = ms
	m.addToken(ms, first)
	if m.users[s.UserID] == nil {
		m.users[s.UserID] = map[string]bool{}
	}
	m.users[s.UserID][s.ID] = true
	return nil
}

func (m *memorySessions) addToken(ms *memorySession, h TokenHash) {
	m.tokens[h] = &memoryToken{session: ms}
	ms.hashes = append(ms.hashes, h)
}

func (m *memorySessions) RotateSession(_ context.Context, presented, next TokenHash, now time.Time, grace time.Duration) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	tok := m.tokens[presented]
	if tok == nil || !tok.session.refreshable(now) {
		return Session{}, ErrRefreshTokenInvalid
	}
	ms := tok.session
	live := ms.RevokedAt.IsZero()
	inWindow := func(since time.Time) bool { return grace > 0 && !since.IsZero() && now.Sub(since) < grace }
	retry := false
	switch {
	case tok.state == tokenCurrent && !live:
		return Session{}, ErrRefreshTokenInvalid
	case tok.state == tokenCurrent:
	case live && presented == ms.previous && inWindow(ms.rotated):
		retry = true
	case live && tok.state == tokenSuperseded && inWindow(tok.window):
		return Session{}, ErrRefreshTokenSuperseded
	default:
		// Reuse: a spent token, or a superseded one after its window.
		if live {
			ms.RevokedAt = now
		}
		return Session{}, ErrRefreshTokenReused
	}
	if _, held := m.tokens[next]; held {
		return Session{}, errors.New("jwtguard: the store already holds the next refresh token")
	}
	if retry {
		// A retry of the last rotation: the token that rotation made, which
		// this client never saw, is superseded.
		cur := m.tokens[ms.current]
		cur.state, cur.window = tokenSuperseded, ms.rotated
	} else {
		tok.state = tokenSpent
		ms.previous, ms.rotated = presented, now
	}
	ms.current = next
	m.addToken(ms, next)
	ms.LastUsedAt = now
	return ms.Session, nil
}

// refreshable reports whether the session is neither past its end nor idle
// at now; revoked or not.
func (ms *memorySession) refreshable(now time.Time) bool {
	switch {
	case !now.Before(ms.ExpiresAt):
		return false
	case ms.IdleTimeout > 0 && !now.Before(ms.LastUsedAt.Add(ms.IdleTimeout)):
		return false
	}
	return true
}

func (m *memorySessions) LookupSession(_ context.Context, h TokenHash) (Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	tok := m.tokens[h]
	if tok == nil {
		return Session{}, ErrRefreshTokenInvalid
	}
	return tok.session.Session, nil
}

func (m *memorySessions) RevokeSession(_ context.Context, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ms := m.sessions[id]; ms != nil && ms.RevokedAt.IsZero() {
		ms.RevokedAt = now
	}
	return nil
}

func (m *memorySessions) RevokeUserSessions(_ context.Context, userID string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.users[userID] {
		if ms := m.sessions[id]; ms.RevokedAt.IsZero() {
			ms.RevokedAt = now
		}
	}
	return nil
}

func (m *memorySessions) DenyAccessToken(_ context.Context, jti string, until time.Time) error {
	if jti == "" {
		return errors.New("jwtguard: an access token without a jti cannot be denied")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.denied[jti]) {
		m.denied[jti] = until
	}
	return nil
}

func (m *memorySessions) Revoked(_ context.Context, sid, jti string, now time.Time) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if jti != "" {
		if until, ok := m.denied[jti]; ok && now.Before(until) {
			return true, nil
		}
	}
	if sid != "" {
		ms := m.sessions[sid]
		if ms == nil || !ms.RevokedAt.IsZero() || !now.Before(ms.ExpiresAt) {
			return true, nil
		}
	}
	return false, nil
}

// sweep drops, at most once a minute, the sessions that expired a
// retention period ago with the hashes of their tokens (no token of theirs
// can be used or reused against them any more; the period leaves a refused
// call without effect when the clocks of the calls disagree a little), and
// the denials that have run out. m.mu must be held for writing.
func (m *memorySessions) sweep(now time.Time) {
	if now.Before(m.swept.Add(time.Minute)) {
		return
	}
	m.swept = now
	for id, ms := range m.sessions {
		if now.Before(ms.ExpiresAt.Add(sessionRetention)) {
			continue
		}
		for _, h := range ms.hashes {
			delete(m.tokens, h)
		}
		delete(m.sessions, id)
		if ids := m.users[ms.UserID]; ids != nil {
			delete(ids, id)
			if len(ids) == 0 {
				delete(m.users, ms.UserID)
			}
		}
	}
	for jti, until := range m.denied {
		if !now.Before(until) {
			delete(m.denied, jti)
		}
	}
}

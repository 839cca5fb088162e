package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jwtguard/jwtguard"
)

// The bounds of what one client or one account can make a Store keep
// (refresh costs no bcrypt), the memory store's:
const (
	// maxSessionsPerUser: a login past it drops the user's oldest session
	// (whose tokens are then refused as unknown).
	maxSessionsPerUser = 100
	// maxSpentPerSession: past it, the oldest spent or superseded hashes
	// of a session are forgotten, and presenting one of those is
	// ErrRefreshTokenInvalid rather than reuse.
	maxSpentPerSession = 64
	// sessionRetention is how long after its ExpiresAt a session and the
	// hashes of its tokens are kept.
	sessionRetention = 24 * time.Hour
	// markRetention is how long a mark of RevokeUserSessions is kept.
	markRetention = time.Hour
	// sweepEvery is how often (by the times of its calls) a Store sweeps.
	sweepEvery = time.Minute
	// sweepLimit bounds the rows of each kind one batch of a sweep
	// deletes, so that no batch holds many locks long.
	sweepLimit = 256
	// sweepBatches bounds the batches of one sweep: up to 64 × sweepLimit
	// rows of each kind a minute, so that a backlog is worked off.
	sweepBatches = 64
)

// The states of a token hash.
const (
	tokenCurrent    = 0
	tokenSpent      = 1
	tokenSuperseded = 2
)

var errZeroTime = errors.New("jwtguard/postgres: a session store needs a time, not the zero time")

const sessionColumns = `s.id, s.user_id, s.created_at, s.expires_at, s.idle_timeout, s.last_used_at,
	s.key_binding, s.revoked_at, s.current_hash, s.previous_hash, s.rotated_at`

// sessionRow is a row of sessions.
type sessionRow struct {
	jwtguard.Session
	revoked           *time.Time
	current, previous []byte
	rotated           *time.Time
}

func (r *sessionRow) fields() []any {
	return []any{&r.ID, &r.UserID, &r.CreatedAt, &r.ExpiresAt, (*int64)(&r.IdleTimeout),
		&r.LastUsedAt, &r.KeyBinding, &r.revoked, &r.current, &r.previous, &r.rotated}
}

// session is the row's Session, its times in UTC.
func (r *sessionRow) session() jwtguard.Session {
	s := r.Session
	s.CreatedAt, s.ExpiresAt, s.LastUsedAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.LastUsedAt.UTC()
	s.RevokedAt = time.Time{}
	if r.revoked != nil {
		s.RevokedAt = r.revoked.UTC()
	}
	return s
}

// refreshable reports whether the session is neither at or past its end
// nor idle at now (to the microsecond); revoked or not.
func (r *sessionRow) refreshable(now time.Time) bool {
	if !now.Before(r.ExpiresAt) {
		return false
	}
	// The timeout in whole microseconds, rounded down, as the times are:
	// a session is idle no later than the memory store would say.
	if idle := r.IdleTimeout.Truncate(time.Microsecond); r.IdleTimeout > 0 && now.Sub(r.LastUsedAt) >= idle {
		return false
	}
	return true
}

// userLock is the advisory lock, for the rest of a transaction, that
// serialises CreateSession and RevokeUserSessions of one user (in this
// schema), so that a session that a login creates while the user's
// sessions are revoked is either revoked or refused by the mark, and the
// bound on a user's sessions holds.
const userLock = "SELECT pg_advisory_xact_lock(hashtextextended('jwtguard/postgres user ' || $1 || ' ' || $2, 0))"

// CreateSession stores sess with its first token's hash, as
// [jwtguard.SessionStore] says; a user's 101st session drops their
// oldest. Times are kept to the microsecond, rounded toward the past. It
// holds an advisory lock of the user for its transaction, which
// RevokeUserSessions holds too.
func (s *Store) CreateSession(ctx context.Context, sess jwtguard.Session, first jwtguard.TokenHash) error {
	switch {
	case sess.ID == "" || sess.UserID == "":
		return errors.New("jwtguard/postgres: a session needs an ID and a user ID")
	case sess.CreatedAt.IsZero() || sess.ExpiresAt.IsZero():
		return errZeroTime
	case sess.IdleTimeout < 0:
		return errors.New("jwtguard/postgres: a session's IdleTimeout must not be negative")
	}
	if sess.LastUsedAt.IsZero() {
		sess.LastUsedAt = sess.CreatedAt
	}
	created := micros(sess.CreatedAt)
	return s.inTx(ctx, "create session", func(ctx context.Context, tx pgx.Tx) (_, err error) {
		// The lock first, then the latest mark of the user and the newest
		// mark forgotten, read after it.
		if _, err := tx.Exec(ctx, userLock, s.schema, sess.UserID); err != nil {
			return nil, s.fail(ctx, "create session", err)
		}
		var mark, forgotten *time.Time
		err = tx.QueryRow(ctx, s.q(`SELECT
	(SELECT at FROM {s}.marks WHERE user_id = $1),
	(SELECT at FROM {s}.forgotten_mark WHERE id = 1)`), sess.UserID).Scan(&mark, &forgotten)
		if err != nil {
			return nil, s.fail(ctx, "create session", err)
		}
		if mark != nil && !created.After(*mark) {
			return nil, fmt.Errorf("%w (at %s)", jwtguard.ErrSessionRevoked, mark.UTC().Format(time.RFC3339Nano))
		}
		if forgotten != nil && !created.After(*forgotten) {
			return nil, fmt.Errorf("%w (a revocation forgotten after %v, at %s)", jwtguard.ErrSessionRevoked, markRetention, forgotten.UTC().Format(time.RFC3339Nano))
		}
		var revoked *time.Time // NULL while not revoked; a session is stored as given, revoked or not
		if !sess.RevokedAt.IsZero() {
			r := micros(sess.RevokedAt)
			revoked = &r
		}
		b := &pgx.Batch{}
		// Past the bound, the user's oldest sessions go (with their tokens,
		// by the foreign key's cascade).
		b.Queue(s.q(`DELETE FROM {s}.sessions WHERE id IN (
	SELECT id FROM {s}.sessions WHERE user_id = $1 ORDER BY created_at, id
	LIMIT greatest(0, (SELECT count(*) FROM {s}.sessions WHERE user_id = $1) - $2))`), sess.UserID, int64(maxSessionsPerUser-1))
		b.Queue(s.q(`INSERT INTO {s}.sessions
	(id, user_id, created_at, expires_at, idle_timeout, last_used_at, key_binding, current_hash, revoked_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
			sess.ID, sess.UserID, created, micros(sess.ExpiresAt), int64(sess.IdleTimeout),
			micros(sess.LastUsedAt), sess.KeyBinding, first[:], revoked)
		b.Queue(s.q("INSERT INTO {s}.tokens (hash, session_id, state) VALUES ($1, $2, $3)"), first[:], sess.ID, tokenCurrent)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			if _, ok := isUnique(err); ok {
				return nil, fmt.Errorf("jwtguard/postgres: session %q, or its first refresh token, exists", sess.ID)
			}
			return nil, s.fail(ctx, "create session", err)
		}
		return nil, nil
	})
}

// RotateSession spends presented and makes next its session's current
// token in one transaction, with the grace window, reuse detection and
// superseding of [jwtguard.SessionStore]. The transaction locks the
// session's row (SELECT … FOR UPDATE) before it reads the token's state,
// so that concurrent rotations of one session, from any number of Stores
// and processes, take turns: of concurrent rotations of one token exactly
// one wins, and the others see it spent (reuse). Times are compared to
// the microsecond, rounded toward the past. At most once a minute, by the
// times of its calls, the Store then sweeps, in transactions of its own:
// sessions a day past their ExpiresAt go with their token hashes, as do
// denials that have run out and the marks of RevokeUserSessions an hour
// old (the newest of which is remembered: see [Store.RevokeUserSessions]),
// a few hundred rows of each kind a batch, up to 64 batches. One Store of
// those on a schema sweeps at a time; rows that a call has locked are
// left to the next sweep. A failed sweep does not fail the rotation, which
// has been committed; the next rotation sweeps again.
func (s *Store) RotateSession(ctx context.Context, presented, next jwtguard.TokenHash, now time.Time, grace time.Duration) (jwtguard.Session, error) {
	if now.IsZero() {
		return jwtguard.Session{}, errZeroTime
	}
	n := micros(now)
	var out jwtguard.Session
	err := s.inTx(ctx, "rotate", func(ctx context.Context, tx pgx.Tx) (_, err error) {
		// One round trip: the session's row locked, then (a statement of
		// its own, whose snapshot is taken once the lock is held) the
		// presented token's state, as the last rotation to commit left it.
		var r sessionRow
		var state int16
		var window *time.Time
		b := &pgx.Batch{}
		b.Queue(s.q("SELECT "+sessionColumns+` FROM {s}.sessions s
	WHERE s.id = (SELECT session_id FROM {s}.tokens WHERE hash = $1) FOR UPDATE`), presented[:]).
			QueryRow(func(row pgx.Row) error { return row.Scan(r.fields()...) })
		b.Queue(s.q("SELECT state, window_at FROM {s}.tokens WHERE hash = $1"), presented[:]).
			QueryRow(func(row pgx.Row) error { return row.Scan(&state, &window) })
		switch err := tx.SendBatch(ctx, b).Close(); {
		case errors.Is(err, pgx.ErrNoRows):
			return jwtguard.ErrRefreshTokenInvalid, nil
		case err != nil:
			return nil, s.fail(ctx, "rotate", err)
		case !r.refreshable(n):
			return jwtguard.ErrRefreshTokenInvalid, nil
		}
		live := r.revoked == nil
		// The window is [rotation, rotation+grace): a now before the
		// rotation (clocks that disagree) is not in it.
		inWindow := func(since *time.Time) bool {
			if since == nil || grace <= 0 {
				return false
			}
			d := n.Sub(*since)
			return d >= 0 && d < grace
		}
		retry := false
		switch {
		case state == tokenCurrent && !live:
			return jwtguard.ErrRefreshTokenInvalid, nil
		case state == tokenCurrent:
		case live && bytes.Equal(presented[:], r.previous) && inWindow(r.rotated):
			retry = true
		case live && state == tokenSuperseded && inWindow(window):
			return jwtguard.ErrRefreshTokenSuperseded, nil
		default:
			// Reuse: a spent token, or a superseded one after its window.
			// The revocation is committed; the session keeps a first
			// RevokedAt.
			if _, err := tx.Exec(ctx, s.q("UPDATE {s}.sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"), n, r.ID); err != nil {
				return nil, s.fail(ctx, "rotate: revoke on reuse", err)
			}
			return jwtguard.ErrRefreshTokenReused, nil
		}
		b = &pgx.Batch{}
		if retry {
			// A retry of the latest rotation: the token that rotation made,
			// which this client never saw, is superseded; the window stays
			// the rotation's.
			b.Queue(s.q("UPDATE {s}.tokens SET state = $1, window_at = $2 WHERE hash = $3"), tokenSuperseded, *r.rotated, r.current)
		} else {
			b.Queue(s.q("UPDATE {s}.tokens SET state = $1 WHERE hash = $2"), tokenSpent, presented[:])
			r.previous, r.rotated = presented[:], &n
		}
		// A next the store holds fails the insert, and the rollback undoes
		// the rest.
		b.Queue(s.q("INSERT INTO {s}.tokens (hash, session_id, state) VALUES ($1, $2, $3)"), next[:], r.ID, tokenCurrent)
		b.Queue(s.q(`UPDATE {s}.sessions SET current_hash = $1, previous_hash = $2, rotated_at = $3, last_used_at = $4
	WHERE id = $5`), next[:], r.previous, *r.rotated, n, r.ID)
		// Forget the oldest hashes past the bound, spent or superseded,
		// never the current token or the one the latest rotation spent
		// (whose window may be open).
		b.Queue(s.q(`DELETE FROM {s}.tokens WHERE hash IN (
	SELECT hash FROM {s}.tokens WHERE session_id = $1 AND hash <> $2 AND hash <> $3 ORDER BY seq
	LIMIT greatest(0, (SELECT count(*) FROM {s}.tokens WHERE session_id = $1) - $4))`),
			r.ID, next[:], r.previous, int64(maxSpentPerSession+2))
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			if c, ok := isUnique(err); ok && c == "tokens_pkey" {
				return nil, errors.New("jwtguard/postgres: rotate: the store already holds the next refresh token")
			}
			return nil, s.fail(ctx, "rotate", err)
		}
		r.LastUsedAt = n
		out = r.session()
		return nil, nil
	})
	if err != nil {
		return jwtguard.Session{}, err
	}
	s.maybeSweep(ctx, now)
	return out, nil
}

// maybeSweep sweeps when a minute has passed since the last sweep, by the
// times of the calls, and no sweep of this Store runs.
func (s *Store) maybeSweep(ctx context.Context, now time.Time) {
	s.sweepMu.Lock()
	if s.sweeping || now.Before(s.swept.Add(sweepEvery)) {
		s.sweepMu.Unlock()
		return
	}
	s.sweeping = true
	s.sweepMu.Unlock()
	err := s.sweep(ctx, micros(now))
	s.sweepMu.Lock()
	s.sweeping = false
	if err == nil {
		s.swept = now
	}
	s.sweepMu.Unlock()
}

// sweep deletes, in batches of sweepLimit rows of each kind, the sessions
// that ended a retention period before now (their token hashes by the
// cascade), the denials that have run out, and the marks an hour old,
// remembering the newest of those, until none is left or sweepBatches
// batches ran.
func (s *Store) sweep(ctx context.Context, now time.Time) error {
	for range sweepBatches {
		more, err := s.sweepBatch(ctx, now)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// sweepLock is the advisory lock a batch of a sweep tries to take, so
// that one Store of a schema sweeps at a time; the others skip theirs.
const sweepLock = "SELECT pg_try_advisory_xact_lock(hashtextextended('jwtguard/postgres sweep ' || $1, 0))"

// sweepBatch is one batch of sweep, in a transaction of its own; more
// reports that a kind had a full batch, so that more may be left.
func (s *Store) sweepBatch(ctx context.Context, now time.Time) (more bool, _ error) {
	err := s.inTx(ctx, "sweep", func(ctx context.Context, tx pgx.Tx) (_, err error) {
		var mine bool
		if err := tx.QueryRow(ctx, sweepLock, s.schema).Scan(&mine); err != nil {
			return nil, s.fail(ctx, "sweep", err)
		}
		if !mine {
			return nil, nil // another Store sweeps
		}
		full := func(tag interface{ RowsAffected() int64 }) {
			if tag.RowsAffected() >= sweepLimit {
				more = true
			}
		}
		// SKIP LOCKED: a row that a call holds is the next batch's.
		tag, err := tx.Exec(ctx, s.q(`DELETE FROM {s}.sessions WHERE id IN (
	SELECT id FROM {s}.sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`),
			now.Add(-sessionRetention), sweepLimit)
		if err != nil {
			return nil, s.fail(ctx, "sweep sessions", err)
		}
		full(tag)
		tag, err = tx.Exec(ctx, s.q(`DELETE FROM {s}.denials WHERE jti IN (
	SELECT jti FROM {s}.denials WHERE until <= $1 ORDER BY until LIMIT $2 FOR UPDATE SKIP LOCKED)`), now, sweepLimit)
		if err != nil {
			return nil, s.fail(ctx, "sweep denials", err)
		}
		full(tag)
		// The oldest marks an hour old, up to the limit: the newest of them
		// is remembered as forgotten, and they (with any of its time) go.
		var newest *time.Time
		if err := tx.QueryRow(ctx, s.q(`SELECT max(at) FROM (
	SELECT at FROM {s}.marks WHERE at <= $1 ORDER BY at LIMIT $2) AS old`), now.Add(-markRetention), sweepLimit).Scan(&newest); err != nil {
			return nil, s.fail(ctx, "sweep marks", err)
		}
		if newest != nil {
			if _, err := tx.Exec(ctx, s.q(`INSERT INTO {s}.forgotten_mark (id, at) VALUES (1, $1)
	ON CONFLICT (id) DO UPDATE SET at = greatest({s}.forgotten_mark.at, excluded.at)`), *newest); err != nil {
				return nil, s.fail(ctx, "sweep marks", err)
			}
			tag, err := tx.Exec(ctx, s.q("DELETE FROM {s}.marks WHERE at <= $1"), *newest)
			if err != nil {
				return nil, s.fail(ctx, "sweep marks", err)
			}
			full(tag)
		}
		return nil, nil
	})
	return more, err
}

// LookupSession returns the session of the token of hash h, current,
// spent or superseded, revoked or not; [jwtguard.ErrRefreshTokenInvalid]
// when there is none (among them the sessions swept a day after their
// end, and the hashes forgotten past the 64 a session keeps).
func (s *Store) LookupSession(ctx context.Context, h jwtguard.TokenHash) (jwtguard.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var r sessionRow
	switch err := s.pool.QueryRow(ctx, s.lookupSession, h[:]).Scan(r.fields()...); {
	case errors.Is(err, pgx.ErrNoRows):
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	case err != nil:
		return jwtguard.Session{}, s.fail(ctx, "lookup session", err)
	}
	return r.session(), nil
}

// RevokeSession revokes the session id at now, to the microsecond; one
// revoked already keeps its first RevokedAt, and an unknown id is not an
// error. It is one UPDATE.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return errZeroTime
	}
	if !validText(id) {
		return nil // no session has it
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, s.q("UPDATE {s}.sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"), micros(now), id); err != nil {
		return s.fail(ctx, "revoke session", err)
	}
	return nil
}

// RevokeUserSessions revokes every session of userID at now and marks the
// user's sessions revoked as of now, in one transaction that holds the
// user's advisory lock (see [Store.CreateSession]), as
// [jwtguard.SessionStore] says. The mark is kept for an hour after now
// (by the times of later rotations); then the sweep forgets it, and the
// store refuses with [jwtguard.ErrSessionRevoked] every session, whatever
// its user, created at or before the newest mark it has forgotten (a
// login that read its user more than an hour before), so that forgetting
// never lets one through.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, now time.Time) error {
	if now.IsZero() {
		return errZeroTime
	}
	n := micros(now)
	return s.inTx(ctx, "revoke user sessions", func(ctx context.Context, tx pgx.Tx) (_, err error) {
		b := &pgx.Batch{}
		b.Queue(userLock, s.schema, userID)
		b.Queue(s.q(`INSERT INTO {s}.marks (user_id, at) VALUES ($1, $2)
	ON CONFLICT (user_id) DO UPDATE SET at = greatest({s}.marks.at, excluded.at)`), userID, n)
		b.Queue(s.q("UPDATE {s}.sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"), n, userID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, s.fail(ctx, "revoke user sessions", err)
		}
		return nil, nil
	})
}

// DenyAccessToken refuses the access token jti until until, rounded up to
// the microsecond; of two denials of one jti the later holds. The sweep
// deletes a denial once a rotation's now is past it.
func (s *Store) DenyAccessToken(ctx context.Context, jti string, until time.Time) error {
	if jti == "" {
		return errors.New("jwtguard/postgres: an access token without a jti cannot be denied")
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, s.q(`INSERT INTO {s}.denials (jti, until) VALUES ($1, $2)
	ON CONFLICT (jti) DO UPDATE SET until = greatest({s}.denials.until, excluded.until)`), jti, microsUp(until)); err != nil {
		return s.fail(ctx, "deny access token", err)
	}
	return nil
}

// revokedQuery answers Revoked in one statement (one snapshot): the jti
// is denied past now, or the sid (when not empty) names no session that
// is unrevoked and before its end. Arguments: jti, now, sid.
const revokedQuery = `SELECT
	EXISTS (SELECT 1 FROM {s}.denials WHERE jti = $1 AND until > $2)
	OR ($3 <> '' AND NOT EXISTS (SELECT 1 FROM {s}.sessions WHERE id = $3 AND revoked_at IS NULL AND expires_at > $2))`

// Revoked reports whether an access token of session sid and id jti is
// refused at now, as [jwtguard.SessionStore] says: its session is
// revoked, at or past its ExpiresAt, or unknown, or jti is denied past
// now. It is one SELECT of two index probes and one round trip: pgx
// prepares the statement on each connection's first use and keeps it
// (unless the connection string picks another default_query_exec_mode).
func (s *Store) Revoked(ctx context.Context, sid, jti string, now time.Time) (bool, error) {
	if now.IsZero() {
		return false, errZeroTime
	}
	if sid != "" && !validText(sid) {
		return true, nil // no session has it: unknown
	}
	if !validText(jti) {
		jti = "" // no denial has it
	}
	if sid == "" && jti == "" {
		return false, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var revoked bool
	if err := s.pool.QueryRow(ctx, s.revoked, jti, micros(now), sid).Scan(&revoked); err != nil {
		return false, s.fail(ctx, "revoked", err)
	}
	return revoked, nil
}

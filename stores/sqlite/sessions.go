package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	// sweepLimit bounds the rows of each kind one sweep deletes, so that
	// a sweep after a long pause does not hold the write lock long; the
	// next sweep goes on.
	sweepLimit = 256
)

// The states of a token hash.
const (
	tokenCurrent    = 0
	tokenSpent      = 1
	tokenSuperseded = 2
)

var errZeroTime = errors.New("jwtguard/sqlite: a session store needs a time, not the zero time")

const sessionColumns = `s.id, s.user_id, s.created_at, s.expires_at, s.idle_timeout, s.last_used_at,
	s.key_binding, s.revoked_at, s.current_hash, s.previous_hash, s.rotated_at`

// sessionRow is a row of sessions.
type sessionRow struct {
	jwtguard.Session
	current, previous []byte
	rotated           sql.NullInt64
}

func (r *sessionRow) fields() []any {
	return []any{&r.ID, &r.UserID, timeField{&r.CreatedAt}, timeField{&r.ExpiresAt}, (*int64)(&r.IdleTimeout),
		timeField{&r.LastUsedAt}, &r.KeyBinding, nullTimeField{&r.RevokedAt}, &r.current, &r.previous, &r.rotated}
}

// timeField scans Unix microseconds into a time.Time.
type timeField struct{ t *time.Time }

func (f timeField) Scan(v any) error {
	m, ok := v.(int64)
	if !ok {
		return fmt.Errorf("jwtguard/sqlite: a time stored as %T", v)
	}
	*f.t = fromMicros(m)
	return nil
}

// nullTimeField scans Unix microseconds or NULL (the zero time).
type nullTimeField struct{ t *time.Time }

func (f nullTimeField) Scan(v any) error {
	if v == nil {
		*f.t = time.Time{}
		return nil
	}
	return timeField(f).Scan(v)
}

// refreshable reports whether the session is neither at or past its end
// nor idle at now (microseconds); revoked or not.
func (r *sessionRow) refreshable(now int64) bool {
	if now >= micros(r.ExpiresAt) {
		return false
	}
	// The timeout in whole microseconds, rounded down, as the times are:
	// a session is idle no later than the memory store would say.
	if idle := r.IdleTimeout.Truncate(time.Microsecond); r.IdleTimeout > 0 && time.Duration(now-micros(r.LastUsedAt))*time.Microsecond >= idle {
		return false
	}
	return true
}

// CreateSession stores sess with its first token's hash, as
// [jwtguard.SessionStore] says; a user's 101st session drops their oldest.
// Times are kept to the microsecond, rounded toward the past.
func (s *Store) CreateSession(ctx context.Context, sess jwtguard.Session, first jwtguard.TokenHash) error {
	switch {
	case sess.ID == "" || sess.UserID == "":
		return errors.New("jwtguard/sqlite: a session needs an ID and a user ID")
	case sess.CreatedAt.IsZero() || sess.ExpiresAt.IsZero():
		return errZeroTime
	case sess.IdleTimeout < 0:
		return errors.New("jwtguard/sqlite: a session's IdleTimeout must not be negative")
	}
	if sess.LastUsedAt.IsZero() {
		sess.LastUsedAt = sess.CreatedAt
	}
	created := micros(sess.CreatedAt)
	return s.write(ctx, func(tx *sql.Tx) (_, err error) {
		// The latest mark of the user, and the newest mark forgotten.
		var mark, forgotten sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT
	(SELECT at FROM marks WHERE user_id = ?),
	(SELECT at FROM forgotten_mark WHERE id = 1)`, sess.UserID).Scan(&mark, &forgotten)
		if err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: create session: %w", err)
		}
		if mark.Valid && created <= mark.Int64 {
			return nil, fmt.Errorf("%w (at %s)", jwtguard.ErrSessionRevoked, fromMicros(mark.Int64).Format(time.RFC3339Nano))
		}
		if forgotten.Valid && created <= forgotten.Int64 {
			return nil, fmt.Errorf("%w (a revocation forgotten after %v, at %s)", jwtguard.ErrSessionRevoked, markRetention, fromMicros(forgotten.Int64).Format(time.RFC3339Nano))
		}
		var held int
		if err := tx.QueryRowContext(ctx, `SELECT
	(SELECT count(*) FROM sessions WHERE id = ?) + (SELECT count(*) FROM tokens WHERE hash = ?)`, sess.ID, first[:]).Scan(&held); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: create session: %w", err)
		}
		if held > 0 {
			return nil, fmt.Errorf("jwtguard/sqlite: session %q, or its first refresh token, exists", sess.ID)
		}
		// Past the bound, the user's oldest sessions go (with their tokens,
		// by the foreign key's cascade).
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id IN (
	SELECT id FROM sessions WHERE user_id = ?1 ORDER BY created_at, id
	LIMIT max(0, (SELECT count(*) FROM sessions WHERE user_id = ?1) - ?2))`, sess.UserID, maxSessionsPerUser-1); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: create session: drop the oldest: %w", err)
		}
		var revoked any // NULL while not revoked; a session is stored as given, revoked or not
		if !sess.RevokedAt.IsZero() {
			revoked = micros(sess.RevokedAt)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions
	(id, user_id, created_at, expires_at, idle_timeout, last_used_at, key_binding, current_hash, revoked_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, created, micros(sess.ExpiresAt), int64(sess.IdleTimeout),
			micros(sess.LastUsedAt), sess.KeyBinding, first[:], revoked); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO tokens (hash, session_id, state) VALUES (?, ?, ?)",
			first[:], sess.ID, tokenCurrent); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: create session: %w", err)
		}
		return nil, nil
	})
}

// RotateSession spends presented and makes next its session's current
// token in one write transaction (BEGIN IMMEDIATE: concurrent rotations,
// from this process or another on the same file, take turns), with the
// grace window, reuse detection and superseding of
// [jwtguard.SessionStore]. Times are compared to the microsecond, rounded
// toward the past. At most once a minute, by the times of its calls, it
// then sweeps, in a transaction of its own: sessions a day past their
// ExpiresAt go with their token hashes, as do denials that have run out
// and the marks of RevokeUserSessions an hour old (the newest of which
// is remembered: see [Store.RevokeUserSessions]), a few hundred rows of
// each at a time. A failed sweep does not fail the rotation, which has
// been committed; the next rotation sweeps again.
func (s *Store) RotateSession(ctx context.Context, presented, next jwtguard.TokenHash, now time.Time, grace time.Duration) (jwtguard.Session, error) {
	if now.IsZero() {
		return jwtguard.Session{}, errZeroTime
	}
	n := micros(now)
	var out jwtguard.Session
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return jwtguard.Session{}, fmt.Errorf("jwtguard/sqlite: %w", context.Cause(ctx))
	}
	defer func() { <-s.writer }()
	err := s.inTx(ctx, func(tx *sql.Tx) (_, err error) {
		var r sessionRow
		var state int
		var window sql.NullInt64
		err = tx.QueryRowContext(ctx, "SELECT t.state, t.window_at, "+sessionColumns+
			" FROM tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?", presented[:]).
			Scan(append([]any{&state, &window}, r.fields()...)...)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return jwtguard.ErrRefreshTokenInvalid, nil
		case err != nil:
			return nil, fmt.Errorf("jwtguard/sqlite: rotate: %w", err)
		case !r.refreshable(n):
			return jwtguard.ErrRefreshTokenInvalid, nil
		}
		live := r.RevokedAt.IsZero()
		// The window is [rotation, rotation+grace): a now before the
		// rotation (clocks that disagree) is not in it.
		inWindow := func(since sql.NullInt64) bool {
			d := time.Duration(n-since.Int64) * time.Microsecond
			return grace > 0 && since.Valid && d >= 0 && d < grace
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
			if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", n, r.ID); err != nil {
				return nil, fmt.Errorf("jwtguard/sqlite: rotate: revoke on reuse: %w", err)
			}
			return jwtguard.ErrRefreshTokenReused, nil
		}
		if retry {
			// A retry of the latest rotation: the token that rotation made,
			// which this client never saw, is superseded; the window stays
			// the rotation's.
			if _, err := tx.ExecContext(ctx, "UPDATE tokens SET state = ?, window_at = ? WHERE hash = ?",
				tokenSuperseded, r.rotated.Int64, r.current); err != nil {
				return nil, fmt.Errorf("jwtguard/sqlite: rotate: %w", err)
			}
		} else {
			if _, err := tx.ExecContext(ctx, "UPDATE tokens SET state = ? WHERE hash = ?", tokenSpent, presented[:]); err != nil {
				return nil, fmt.Errorf("jwtguard/sqlite: rotate: %w", err)
			}
			r.previous, r.rotated = presented[:], sql.NullInt64{Int64: n, Valid: true}
		}
		// A next the store holds fails the insert, and the rollback undoes
		// the rest.
		if _, err := tx.ExecContext(ctx, "INSERT INTO tokens (hash, session_id, state) VALUES (?, ?, ?)",
			next[:], r.ID, tokenCurrent); err != nil {
			if isConstraint(err) {
				return nil, errors.New("jwtguard/sqlite: rotate: the store already holds the next refresh token")
			}
			return nil, fmt.Errorf("jwtguard/sqlite: rotate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET current_hash = ?, previous_hash = ?, rotated_at = ?, last_used_at = ?
	WHERE id = ?`, next[:], r.previous, r.rotated, n, r.ID); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: rotate: %w", err)
		}
		// Forget the oldest hashes past the bound, spent or superseded,
		// never the current token or the one the latest rotation spent
		// (whose window may be open).
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE rowid IN (
	SELECT rowid FROM tokens WHERE session_id = ?1 AND hash <> ?2 AND hash <> ?3 ORDER BY rowid
	LIMIT max(0, (SELECT count(*) FROM tokens WHERE session_id = ?1) - ?4))`,
			r.ID, next[:], r.previous, maxSpentPerSession+2); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: rotate: %w", err)
		}
		r.LastUsedAt = fromMicros(n)
		out = r.Session
		return nil, nil
	})
	if err != nil {
		return jwtguard.Session{}, err
	}
	if !now.Before(s.swept.Add(sweepEvery)) {
		if s.sweep(ctx, n) == nil {
			s.swept = now
		}
	}
	return out, nil
}

// sweepBatches bounds the batches of one sweep: up to 64 × sweepLimit
// rows of each kind a minute, each batch a transaction of its own, so that
// a backlog is worked off (expired rows arriving faster than one batch a
// minute would otherwise pile up) without holding the write lock long.
const sweepBatches = 64

// sweep deletes, in batches of sweepLimit rows of each kind, the sessions
// that ended a retention period before now (their token hashes by the
// cascade), the denials that have run out, and the marks an hour old,
// remembering the newest of those, until none is left or sweepBatches
// batches ran. s.writer must be held.
func (s *Store) sweep(ctx context.Context, now int64) error {
	for range sweepBatches {
		more, err := s.sweepBatch(ctx, now)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// sweepBatch is one batch of sweep; more reports that a kind had a full
// batch, so that more may be left.
func (s *Store) sweepBatch(ctx context.Context, now int64) (more bool, _ error) {
	full := func(res sql.Result) {
		if n, err := res.RowsAffected(); err == nil && n >= sweepLimit {
			more = true
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) (_, err error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id IN (
	SELECT id FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
			now-sessionRetention.Microseconds(), sweepLimit)
		if err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: sweep sessions: %w", err)
		}
		full(res)
		res, err = tx.ExecContext(ctx, `DELETE FROM denials WHERE jti IN (
	SELECT jti FROM denials WHERE until <= ? ORDER BY until LIMIT ?)`, now, sweepLimit)
		if err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: sweep denials: %w", err)
		}
		full(res)
		// The oldest marks an hour old, up to the limit: the newest of them
		// is remembered as forgotten, and they (with any of its time) go.
		var newest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(at) FROM (
	SELECT at FROM marks WHERE at <= ? ORDER BY at LIMIT ?)`, now-markRetention.Microseconds(), sweepLimit).Scan(&newest); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: sweep marks: %w", err)
		}
		if newest.Valid {
			if _, err := tx.ExecContext(ctx, `INSERT INTO forgotten_mark (id, at) VALUES (1, ?)
	ON CONFLICT (id) DO UPDATE SET at = max(at, excluded.at)`, newest.Int64); err != nil {
				return nil, fmt.Errorf("jwtguard/sqlite: sweep marks: %w", err)
			}
			res, err := tx.ExecContext(ctx, "DELETE FROM marks WHERE at <= ?", newest.Int64)
			if err != nil {
				return nil, fmt.Errorf("jwtguard/sqlite: sweep marks: %w", err)
			}
			full(res)
		}
		return nil, nil
	})
	return more, err
}

const lookupSessionQuery = "SELECT " + sessionColumns + " FROM tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?"

// LookupSession returns the session of the token of hash h, current,
// spent or superseded, revoked or not; [jwtguard.ErrRefreshTokenInvalid]
// when there is none (among them the sessions swept a day after their
// end, and the hashes forgotten past the 64 a session keeps).
func (s *Store) LookupSession(ctx context.Context, h jwtguard.TokenHash) (jwtguard.Session, error) {
	var r sessionRow
	switch err := s.lookupSession.QueryRowContext(ctx, h[:]).Scan(r.fields()...); {
	case errors.Is(err, sql.ErrNoRows):
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	case err != nil:
		return jwtguard.Session{}, fmt.Errorf("jwtguard/sqlite: lookup session: %w", err)
	}
	return r.Session, nil
}

// RevokeSession revokes the session id at now, to the microsecond; one
// revoked already keeps its first RevokedAt, and an unknown id is not an
// error.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return errZeroTime
	}
	return s.write(ctx, func(tx *sql.Tx) (_, err error) {
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", micros(now), id); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: revoke session: %w", err)
		}
		return nil, nil
	})
}

// RevokeUserSessions revokes every session of userID at now and marks the
// user's sessions revoked as of now, in one transaction, as
// [jwtguard.SessionStore] says. The mark is kept for an hour after now (by
// the times of later rotations); then the sweep forgets it, and the store
// refuses with [jwtguard.ErrSessionRevoked] every session, whatever its
// user, created at or before the newest mark it has forgotten (a login
// that read its user more than an hour before), so that forgetting never
// lets one through.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, now time.Time) error {
	if now.IsZero() {
		return errZeroTime
	}
	n := micros(now)
	return s.write(ctx, func(tx *sql.Tx) (_, err error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO marks (user_id, at) VALUES (?, ?)
	ON CONFLICT (user_id) DO UPDATE SET at = max(at, excluded.at)`, userID, n); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: revoke user sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", n, userID); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: revoke user sessions: %w", err)
		}
		return nil, nil
	})
}

// DenyAccessToken refuses the access token jti until until, rounded up to
// the microsecond; of two denials of one jti the later holds. The sweep
// deletes a denial once a rotation's now is past it.
func (s *Store) DenyAccessToken(ctx context.Context, jti string, until time.Time) error {
	if jti == "" {
		return errors.New("jwtguard/sqlite: an access token without a jti cannot be denied")
	}
	return s.write(ctx, func(tx *sql.Tx) (_, err error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO denials (jti, until) VALUES (?, ?)
	ON CONFLICT (jti) DO UPDATE SET until = max(until, excluded.until)`, jti, microsUp(until)); err != nil {
			return nil, fmt.Errorf("jwtguard/sqlite: deny access token: %w", err)
		}
		return nil, nil
	})
}

// revokedQuery answers Revoked in one statement (one read, atomic): the jti
// is denied past now, or the sid (when not empty) names no session that is
// unrevoked and before its end. Arguments: jti, now, sid, sid, now.
const revokedQuery = `SELECT
	EXISTS (SELECT 1 FROM denials WHERE jti = ? AND until > ?)
	OR (? <> '' AND NOT EXISTS (SELECT 1 FROM sessions WHERE id = ? AND revoked_at IS NULL AND expires_at > ?))`

// Revoked reports whether an access token of session sid and id jti is
// refused at now, as [jwtguard.SessionStore] says: its session is revoked,
// at or past its ExpiresAt, or unknown, or jti is denied past now. It
// reads without a transaction of its own: one SELECT, which waits for no
// writer (WAL mode).
func (s *Store) Revoked(ctx context.Context, sid, jti string, now time.Time) (bool, error) {
	if now.IsZero() {
		return false, errZeroTime
	}
	if sid == "" && jti == "" {
		return false, nil
	}
	n := micros(now)
	var revoked bool
	if err := s.revoked.QueryRowContext(ctx, jti, n, sid, sid, n).Scan(&revoked); err != nil {
		return false, fmt.Errorf("jwtguard/sqlite: revoked: %w", err)
	}
	return revoked, nil
}

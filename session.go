package jwtguard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// A Session is one refresh-token family: a login starts it, every refresh
// continues it with a new refresh token, and the access tokens issued in
// it name it in their sid claim, so that revoking the session (logout,
// reuse detection, "log out everywhere") refuses them too. A [SessionStore]
// keeps sessions; the refresh tokens themselves are never stored, only
// their [TokenHash]es.
type Session struct {
	// ID names the session: random, at least 128 bits, and the sid claim
	// of its access tokens.
	ID string
	// UserID is the [User].ID the session was started for.
	UserID string
	// CreatedAt is when the login started the session: the time it read
	// the user from the UserStore, before it compared the password, so
	// that a store can refuse a session that a revocation of the user's
	// sessions made after that read must cover (see
	// [SessionStore].RevokeUserSessions).
	CreatedAt time.Time
	// ExpiresAt is the session's absolute end, fixed at login and never
	// moved by a refresh.
	ExpiresAt time.Time
	// IdleTimeout, when not zero, ends the session when no refresh comes
	// for that long after the last one (or the login).
	IdleTimeout time.Duration
	// LastUsedAt is the time of the login (its CreatedAt) or of the last
	// refresh.
	LastUsedAt time.Time
	// KeyBinding is the RFC 7638 thumbprint of the DPoP key the session
	// is bound to (WithDPoP): the login's proof's key, whose proofs its
	// refreshes must carry; empty for bearer sessions. Stores keep it as
	// given.
	KeyBinding string
	// RevokedAt is when the session was revoked; zero while it is not.
	RevokedAt time.Time
}

// A TokenHash is the SHA-256 of a refresh token. Stores keep and compare
// only these, so that a copy of the store does not hold a usable token.
type TokenHash [32]byte

// SessionStore keeps [Session]s and the hashes of their refresh tokens for
// the refresh and logout handlers, and answers Verify's revocation check.
// The conformance suite storetest.Sessions states every rule below as a
// test; a store must pass it. Every method takes the time it acts at as an
// argument, so that tests (and stores on a database, whose clock a test
// cannot reach) agree on it; a store keeps times to the microsecond at
// least, and refuses the zero time (a RevokedAt of zero reads as "not
// revoked"). Implementations must be safe for concurrent use, across
// processes when they share the data; each method must be atomic, and one
// that fails changes nothing.
type SessionStore interface {
	// CreateSession stores s, whose first refresh token hashes to first.
	// It fails if a session of s.ID, or a token of that hash, exists, and
	// for a session without an ID or a user ID (its access tokens' empty
	// sid would never be checked) or with a negative IdleTimeout. It fails
	// with [ErrSessionRevoked] when RevokeUserSessions marked s.UserID's
	// sessions revoked at a time at or after s.CreatedAt (see there).
	CreateSession(ctx context.Context, s Session, first TokenHash) error

	// RotateSession spends the refresh token presented and makes next its
	// session's current token, in one atomic step, and returns the session
	// as it now is. Exactly one of any number of concurrent calls that
	// present a session's current token rotates it. The others, and every
	// later presentation of a spent token, are reuse: the session is
	// revoked and the error is [ErrRefreshTokenReused], but for the grace
	// window:
	//
	// For grace after the latest rotation (0 ≤ now − its time < grace;
	// none when grace is 0), the token that rotation spent may be presented
	// again, by a client that lost the answer and retries: it is rotated
	// again, to next, and the token the rotation made, which that client
	// never saw, is superseded. Retries do not extend the window, and no
	// older token has one. A superseded token presented while its window
	// lasts is refused with [ErrRefreshTokenSuperseded] and the session is
	// kept; after the window, it is reuse. A reuse revokes the session at
	// the call's now. The window's price: a store cannot tell the owner's
	// retry from a thief's replay of the token the owner just spent, and
	// the thief's replay inside the window supersedes the owner's token,
	// who must then log in again while the thief holds the session until
	// the owner's token is presented after the window (reuse). So the
	// window is off by default and should be seconds. So of concurrent
	// refreshes inside the window, each gets an answer and exactly one of
	// the tokens they got stays usable; the others are refused at their
	// next use, without revoking the session while the window lasts and
	// as reuse after it. Two clients that refresh one token at once (two
	// tabs of a browser) should therefore share the answer rather than
	// each keep their own: the loser's next refresh, minutes later, ends
	// the session.
	//
	// A token no session has, or of a session at or past its ExpiresAt or
	// idle (now − LastUsedAt ≥ IdleTimeout), whatever the token's state,
	// is [ErrRefreshTokenInvalid], and so is the current token of a
	// revoked session; nothing changes. A spent token of a
	// revoked session is still reuse (the session keeps its first
	// RevokedAt), so that every replay is reported. A next that the store
	// already holds is an error (it does not happen with random tokens).
	RotateSession(ctx context.Context, presented, next TokenHash, now time.Time, grace time.Duration) (Session, error)

	// LookupSession returns the session that the token of hash h belongs
	// to (current, spent or superseded), revoked or not, for a logout that
	// presents only a refresh token; [ErrRefreshTokenInvalid] when there is
	// none (a store may forget the tokens of a session once it has
	// expired).
	LookupSession(ctx context.Context, h TokenHash) (Session, error)

	// RevokeSession revokes the session id at now; a session already
	// revoked keeps its first RevokedAt, and an unknown id is not an
	// error (logout is idempotent).
	RevokeSession(ctx context.Context, id string, now time.Time) error

	// RevokeUserSessions revokes every session of userID at now (keeping
	// the first RevokedAt of those already revoked), and marks the user's
	// sessions revoked as of now: from then on CreateSession refuses, with
	// [ErrSessionRevoked], a session of userID whose CreatedAt is at or
	// before the latest of the marks (a login that read the user, and so
	// its old password hash, before a password change or a "log out
	// everywhere" must not start a live session after it). The mark is
	// set for a user without sessions too (not an error) and concerns no
	// other user; a later login (CreatedAt after the mark) starts a live
	// session. A store keeps a mark for an hour after its now at least,
	// as the times of its calls tell (no login takes that long between
	// reading the user and starting its session), and may forget it then.
	RevokeUserSessions(ctx context.Context, userID string, now time.Time) error

	// DenyAccessToken refuses the access token jti until until, when a
	// logout presents it: the last instant Verify would take the token
	// (its exp plus the leeway), after which a store may forget the
	// denial by its own clock, never before.
	DenyAccessToken(ctx context.Context, jti string, until time.Time) error

	// Revoked reports whether an access token of session sid and id jti
	// is refused at now: its session is revoked (whatever now: Verify asks
	// as of now less its leeway, which may be before the RevokedAt of a
	// revocation just made), at or past its ExpiresAt (the
	// refresh handler never issues an access token that outlives its
	// session), or unknown (a store that lost its sessions refuses their
	// tokens rather than trusting them), or jti is denied until after
	// now (now < until). An empty sid or jti is not checked.
	Revoked(ctx context.Context, sid, jti string, now time.Time) (bool, error)
}

// The errors of [SessionStore.RotateSession] (and LookupSession), which the
// refresh handler answers as RFC 6749's invalid_grant.
var (
	// ErrRefreshTokenInvalid: the token is unknown, or its session is
	// revoked, expired or idle too long.
	ErrRefreshTokenInvalid = errors.New("jwtguard: refresh token is invalid")
	// ErrRefreshTokenReused: a spent token was presented again; its
	// session has been revoked.
	ErrRefreshTokenReused = errors.New("jwtguard: refresh token was reused; its session is revoked")
	// ErrRefreshTokenSuperseded: inside the grace window, a token that a
	// retried refresh replaced; the session is kept.
	ErrRefreshTokenSuperseded = errors.New("jwtguard: refresh token was superseded by a retried refresh")
)

// ErrSessionRevoked is what [SessionStore].CreateSession returns for a
// session whose user's sessions RevokeUserSessions revoked at or after the
// session's CreatedAt: the login read the user before a password change
// (or a "log out everywhere") and would otherwise start a session after
// it, with a password that may be the old one. The login handler answers
// it 401 invalid_credentials, as a wrong password; logging in again works.
var ErrSessionRevoked = errors.New("jwtguard: the user's sessions were revoked after the login read the user")

// issueLogin issues u's tokens at a login that read u at readAt: an access
// token alone, or, with a session store, a new session created at readAt,
// its first refresh token and an access token in it. A store that refuses
// the session because the user's sessions were revoked at or after readAt
// (ErrSessionRevoked: the password may have changed since it was read) is
// ErrInvalidCredentials (401); one that fails otherwise is ErrOverloaded
// (503), logged at Error.
func (a *Auth) issueLogin(ctx context.Context, u User, readAt time.Time, jkt string) (TokenResponse, error) {
	if a.cfg.sessions == nil {
		return a.issue(ctx, u, Session{}, jkt)
	}
	// No session is started that no token could be signed in.
	if _, err := a.currentSigningKey(); err != nil {
		return TokenResponse{}, err
	}
	// The session starts when the login read the user: its lifetime and
	// idle timeout run from then.
	s := Session{
		ID:          newTokenID(),
		UserID:      u.ID,
		CreatedAt:   readAt,
		ExpiresAt:   readAt.Add(a.cfg.sessionLifetime),
		IdleTimeout: a.cfg.sessionIdle,
		LastUsedAt:  readAt,
		KeyBinding:  jkt,
	}
	refresh := newRefreshToken()
	switch err := a.cfg.sessions.CreateSession(ctx, s, HashRefreshToken(refresh)); {
	case errors.Is(err, ErrSessionRevoked):
		return TokenResponse{}, fmt.Errorf("%w: user ID %q: the user's sessions were revoked after the login read the user (a password change?): %w", ErrInvalidCredentials, u.ID, err)
	case err != nil:
		return TokenResponse{}, storeError(err)
	}
	tr, err := a.issue(ctx, u, s, jkt)
	if err != nil {
		return TokenResponse{}, err
	}
	tr.RefreshToken = refresh
	return tr, nil
}

// newRefreshToken returns 256 random bits, base64url: a refresh token.
func newRefreshToken() string {
	var b [32]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashRefreshToken returns the [TokenHash] a [SessionStore] keeps of the
// refresh token tok: its SHA-256. (A fast hash suffices: the token has 256
// random bits, so no guess is cheaper than another.)
func HashRefreshToken(tok string) TokenHash {
	return sha256.Sum256([]byte(tok))
}

// storeError is the refusal of a request whose session store failed: 503,
// logged at Error level.
func storeError(err error) error {
	return fmt.Errorf("%w: session store: %w", ErrOverloaded, &storeFailure{err})
}

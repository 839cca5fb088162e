package redis

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
)

// The bounds of what one client or one account can make a Store keep
// (a refresh costs no bcrypt), the memory store's, and how long keys live.
const (
	// maxSessionsPerUser: a login past it drops the user's oldest session
	// (whose tokens are then refused as unknown).
	maxSessionsPerUser = 100
	// maxSpentPerSession: a session keeps its current token, the one its
	// latest rotation spent, and this many older spent or superseded
	// ones; presenting a token forgotten past it is ErrRefreshTokenInvalid
	// rather than reuse.
	maxSpentPerSession = 64
	// sessionRetention is how long past its ExpiresAt (by the times of the
	// calls) a session and its token hashes are kept.
	sessionRetention = 24 * time.Hour
	// markRetention is how long a mark of RevokeUserSessions is kept, by
	// Redis's clock: the hour the interface asks for and a minute more for
	// the clocks of the servers and of Redis to disagree.
	markRetention = time.Hour + time.Minute
	// denialSlack is how long past its until a denial is kept, by Redis's
	// clock, for the clocks to disagree.
	denialSlack = time.Minute
)

// The keys of the sessions, all behind the Store's prefix and the hash tag
// {s}, so that a script's keys are in one hash slot of a Cluster:
//
//	{s}:s:<sid>       hash: the session (fields below)
//	{s}:t:<hex hash>  hash: a refresh token: s its session, st its state
//	                  (0 current, 1 spent, 2 superseded), w when the window
//	                  of a superseded token began
//	{s}:x:<sid>       list: the session's older spent and superseded
//	                  hashes, newest first, at most maxSpentPerSession
//	{s}:u:<user ID>   sorted set: the user's session IDs by CreatedAt
//	{s}:m:<user ID>   string: the user's latest revocation mark
//	{s}:d:<jti>       string: when the access token's denial ends
//
// Session fields: u user ID, c CreatedAt, e ExpiresAt, i IdleTimeout (ns,
// as given), iu IdleTimeout (µs, rounded down), l LastUsedAt, k
// KeyBinding, r RevokedAt (absent while live), cur the current token's
// hash, prev the hash the latest rotation spent and rot when (absent
// before the first rotation). Times are Unix microseconds, which Lua's
// numbers (doubles) hold exactly until the year 2255.

// The codes of the scripts' answers.
const (
	codeOK = iota
	codeInvalid
	codeReused
	codeSuperseded
	codeHeld    // a next token, or a new session's ID or first token, exists
	codeRevoked // CreateSession: the user's mark covers the session
)

// luaKeys is the prelude of the scripts that build session keys from what
// they read: ARGV[1] is the session keys' prefix.
const luaKeys = `
local P = ARGV[1]
local function skey(sid) return P .. 's:' .. sid end
local function tkey(h) return P .. 't:' .. h end
local function xkey(sid) return P .. 'x:' .. sid end
local function ukey(user) return P .. 'u:' .. user end
local function ms(x) return string.format('%d', math.floor(x)) end
-- expire sets key's time to live to ttl ms unless it has a longer one.
local function expire(key, ttl)
	local left = redis.call('PTTL', key)
	if left >= 0 and left < ttl then redis.call('PEXPIRE', key, ms(ttl)) end
end
-- drop deletes the session sid with every token hash it keeps.
local function drop(sid)
	local sk = skey(sid)
	local s = redis.call('HMGET', sk, 'cur', 'prev')
	for _, h in ipairs(redis.call('LRANGE', xkey(sid), 0, -1)) do redis.call('DEL', tkey(h)) end
	if s[1] then redis.call('DEL', tkey(s[1])) end
	if s[2] then redis.call('DEL', tkey(s[2])) end
	redis.call('DEL', sk, xkey(sid))
end
`

// createScript: KEYS session, first token, user's sessions, user's mark;
// ARGV prefix, sid, user, created, expires, idle ns, idle µs, last used,
// key binding, revoked ("" for none), first hash, ttl ms, max sessions.
var createScript = goredis.NewScript(luaKeys + `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return {` + strconv.Itoa(codeHeld) + `} end
local created = tonumber(ARGV[4])
local mark = redis.call('GET', KEYS[4])
if mark and created <= tonumber(mark) then return {` + strconv.Itoa(codeRevoked) + `, mark} end
-- Past the bound, the user's sessions that expired go from the index, then
-- the oldest sessions.
local max = tonumber(ARGV[13])
if redis.call('ZCARD', KEYS[3]) >= max then
	for _, sid in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
		if redis.call('EXISTS', skey(sid)) == 0 then redis.call('ZREM', KEYS[3], sid) end
	end
	while redis.call('ZCARD', KEYS[3]) >= max do
		local oldest = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
		drop(oldest)
		redis.call('ZREM', KEYS[3], oldest)
	end
end
redis.call('HSET', KEYS[1], 'u', ARGV[3], 'c', ARGV[4], 'e', ARGV[5], 'i', ARGV[6], 'iu', ARGV[7],
	'l', ARGV[8], 'k', ARGV[9], 'cur', ARGV[11])
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'r', ARGV[10]) end
redis.call('HSET', KEYS[2], 's', ARGV[2], 'st', '0')
local ttl = tonumber(ARGV[12])
redis.call('PEXPIRE', KEYS[1], ARGV[12])
redis.call('PEXPIRE', KEYS[2], ARGV[12])
local fresh = redis.call('EXISTS', KEYS[3]) == 0
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
if fresh then redis.call('PEXPIRE', KEYS[3], ARGV[12]) else expire(KEYS[3], ttl) end
return {` + strconv.Itoa(codeOK) + `}
`)

// luaSession is the prelude of the scripts that return a session: its ID
// and fields, in the order sessionFrom reads them.
const luaSession = `
local function session(sid)
	local f = redis.call('HMGET', skey(sid), 'u', 'c', 'e', 'i', 'l', 'k', 'r')
	return {sid, f[1], f[2], f[3], f[4], f[5], f[6], f[7] or ''}
end
`

// rotateScript: KEYS the routing key (the session keys' prefix, which
// only tells a Cluster client the slot: the session's keys follow from
// the token's);
// ARGV prefix, presented hash, next hash, now, grace (µs, rounded up),
// retention ms, max spent.
var rotateScript = goredis.NewScript(luaKeys + luaSession + `
local presented, nxt, now, grace = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local tk = tkey(presented)
local t = redis.call('HMGET', tk, 's', 'st', 'w')
if not t[1] then return {` + strconv.Itoa(codeInvalid) + `} end
local sid = t[1]
local sk = skey(sid)
local s = redis.call('HMGET', sk, 'e', 'i', 'iu', 'l', 'r', 'cur', 'prev', 'rot')
if not s[1] then return {` + strconv.Itoa(codeInvalid) + `} end
local expires = tonumber(s[1])
-- Ended (at or past its end, or idle) comes before every other rule.
if now >= expires then return {` + strconv.Itoa(codeInvalid) + `} end
if tonumber(s[2]) > 0 and now - tonumber(s[4]) >= tonumber(s[3]) then return {` + strconv.Itoa(codeInvalid) + `} end
local live = not s[5]
-- The window is [since, since+grace).
local function inWindow(since)
	if not since then return false end
	local d = now - tonumber(since)
	return grace > 0 and d >= 0 and d < grace
end
local retry = false
if t[2] == '0' then
	if not live then return {` + strconv.Itoa(codeInvalid) + `} end
elseif live and presented == s[7] and inWindow(s[8]) then
	retry = true
elseif live and t[2] == '2' and inWindow(t[3]) then
	return {` + strconv.Itoa(codeSuperseded) + `}
else
	-- Reuse: a spent token, or a superseded one after its window. The
	-- session keeps a first RevokedAt.
	if live then redis.call('HSET', sk, 'r', ARGV[4]) end
	return {` + strconv.Itoa(codeReused) + `}
end
if redis.call('EXISTS', tkey(nxt)) == 1 then return {` + strconv.Itoa(codeHeld) + `} end
local ttl = math.max(1000, math.floor((expires - now) / 1000) + tonumber(ARGV[6]))
local xk = xkey(sid)
local fresh = redis.call('EXISTS', xk) == 0
if retry then
	-- A retry of the latest rotation: the token that rotation made, which
	-- this client never saw, is superseded; the window stays the rotation's.
	redis.call('HSET', tkey(s[6]), 'st', '2', 'w', s[8])
	redis.call('LPUSH', xk, s[6])
else
	redis.call('HSET', tk, 'st', '1')
	if s[7] then redis.call('LPUSH', xk, s[7]) end
	redis.call('HSET', sk, 'prev', presented, 'rot', ARGV[4])
end
redis.call('HSET', tkey(nxt), 's', sid, 'st', '0')
redis.call('PEXPIRE', tkey(nxt), ms(ttl))
redis.call('HSET', sk, 'cur', nxt, 'l', ARGV[4])
-- Forget the oldest spent and superseded hashes past the bound.
local max = tonumber(ARGV[7])
while redis.call('LLEN', xk) > max do redis.call('DEL', tkey(redis.call('RPOP', xk))) end
if fresh and redis.call('EXISTS', xk) == 1 then redis.call('PEXPIRE', xk, ms(ttl)) end
local out = session(sid)
table.insert(out, 1, ` + strconv.Itoa(codeOK) + `)
return out
`)

// lookupScript: KEYS the routing key; ARGV prefix, hash.
var lookupScript = goredis.NewScript(luaKeys + luaSession + `
local sid = redis.call('HGET', tkey(ARGV[2]), 's')
if not sid or redis.call('EXISTS', skey(sid)) == 0 then return {` + strconv.Itoa(codeInvalid) + `} end
local out = session(sid)
table.insert(out, 1, ` + strconv.Itoa(codeOK) + `)
return out
`)

// revokeScript: KEYS session; ARGV now.
var revokeScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSETNX', KEYS[1], 'r', ARGV[1]) end
return 0
`)

// revokeUserScript: KEYS user's sessions, user's mark; ARGV prefix, now,
// mark ttl ms.
var revokeUserScript = goredis.NewScript(luaKeys + `
local mark = redis.call('GET', KEYS[2])
if not mark or tonumber(ARGV[2]) > tonumber(mark) then
	redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local sk = skey(sid)
	if redis.call('EXISTS', sk) == 1 then
		redis.call('HSETNX', sk, 'r', ARGV[2])
	else
		redis.call('ZREM', KEYS[1], sid)
	end
end
return 0
`)

// denyScript: KEYS denial; ARGV until (µs), expiry (Unix ms, by Redis's
// clock). Of two denials the later holds.
var denyScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 0
`)

// revokedScript: KEYS session, denial; ARGV now, check the session ("1"),
// check the denial ("1"). 1: refused.
var revokedScript = goredis.NewScript(`
local now = tonumber(ARGV[1])
if ARGV[2] == '1' then
	local s = redis.call('HMGET', KEYS[1], 'e', 'r')
	if not s[1] or s[2] or now >= tonumber(s[1]) then return 1 end
end
if ARGV[3] == '1' then
	local u = redis.call('GET', KEYS[2])
	if u and now < tonumber(u) then return 1 end
end
return 0
`)

var errZeroTime = errors.New("jwtguard/redis: a session store needs a time, not the zero time")

// micros is t in Unix microseconds, rounded toward the past.
func micros(t time.Time) int64 { return t.UnixMicro() }

// microsUp is t in Unix microseconds, rounded toward the future.
func microsUp(t time.Time) int64 {
	m := t.UnixMicro()
	if time.UnixMicro(m).Before(t) {
		m++
	}
	return m
}

// fromMicros is the instant m, in UTC.
func fromMicros(m int64) time.Time { return time.UnixMicro(m).UTC() }

// ttl is how long, in milliseconds, the keys of a session ending at
// expires are kept at now: sessionRetention past its end, a second at
// least.
func ttl(expires, now time.Time) int64 {
	return max(1000, expires.Sub(now).Milliseconds()+sessionRetention.Milliseconds())
}

// route is the KEYS of the scripts that name their keys from what they
// read: the slot of the session keys, for a Cluster client to send them
// to.
func (s *Store) route() []string { return []string{s.skeys} }

func (s *Store) sessionKey(sid string) string { return s.skeys + "s:" + sid }
func (s *Store) tokenKey(h jwtguard.TokenHash) string {
	return s.skeys + "t:" + hex.EncodeToString(h[:])
}

// CreateSession stores sess with its first token's hash, as
// [jwtguard.SessionStore] says, in one script; a user's 101st session
// drops their oldest. Times are kept to the microsecond, rounded toward
// the past. Its keys expire a day after its ExpiresAt (as far ahead of
// Redis's clock as ExpiresAt is of CreatedAt).
func (s *Store) CreateSession(ctx context.Context, sess jwtguard.Session, first jwtguard.TokenHash) error {
	switch {
	case sess.ID == "" || sess.UserID == "":
		return errors.New("jwtguard/redis: a session needs an ID and a user ID")
	case sess.CreatedAt.IsZero() || sess.ExpiresAt.IsZero():
		return errZeroTime
	case sess.IdleTimeout < 0:
		return errors.New("jwtguard/redis: a session's IdleTimeout must not be negative")
	}
	if sess.LastUsedAt.IsZero() {
		sess.LastUsedAt = sess.CreatedAt
	}
	revoked := ""
	if !sess.RevokedAt.IsZero() {
		revoked = strconv.FormatInt(micros(sess.RevokedAt), 10)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	keys := []string{s.sessionKey(sess.ID), s.tokenKey(first), s.skeys + "u:" + sess.UserID, s.skeys + "m:" + sess.UserID}
	res, err := createScript.Run(ctx, s.c, keys, s.skeys, sess.ID, sess.UserID,
		micros(sess.CreatedAt), micros(sess.ExpiresAt), int64(sess.IdleTimeout), sess.IdleTimeout.Microseconds(),
		micros(sess.LastUsedAt), sess.KeyBinding, revoked, hex.EncodeToString(first[:]),
		ttl(sess.ExpiresAt, sess.CreatedAt), maxSessionsPerUser).Slice()
	if err != nil {
		return fmt.Errorf("jwtguard/redis: create session: %w", err)
	}
	switch code(res) {
	case codeOK:
		return nil
	case codeHeld:
		return fmt.Errorf("jwtguard/redis: session %q, or its first refresh token, exists", sess.ID)
	case codeRevoked:
		mark := ""
		if len(res) > 1 {
			if m, err := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64); err == nil {
				mark = " (at " + fromMicros(m).Format(time.RFC3339Nano) + ")"
			}
		}
		return fmt.Errorf("%w%s", jwtguard.ErrSessionRevoked, mark)
	}
	return fmt.Errorf("jwtguard/redis: create session: unexpected answer %v", res)
}

// code is a script's answer code.
func code(res []any) int {
	if len(res) == 0 {
		return -1
	}
	n, ok := res[0].(int64)
	if !ok {
		return -1
	}
	return int(n)
}

// sessionFrom reads the session that a script returned after its code.
func sessionFrom(res []any) (jwtguard.Session, error) {
	if len(res) != 9 {
		return jwtguard.Session{}, fmt.Errorf("jwtguard/redis: a session of %d fields", len(res)-1)
	}
	f := make([]string, 8)
	for i, v := range res[1:] {
		str, ok := v.(string)
		if !ok {
			return jwtguard.Session{}, fmt.Errorf("jwtguard/redis: a session's field %d is %T", i, v)
		}
		f[i] = str
	}
	var nums [5]int64
	for i, str := range []string{f[2], f[3], f[4], f[5], f[7]} {
		if i == 4 && str == "" {
			continue
		}
		n, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return jwtguard.Session{}, fmt.Errorf("jwtguard/redis: a session's time: %w", err)
		}
		nums[i] = n
	}
	sess := jwtguard.Session{
		ID: f[0], UserID: f[1],
		CreatedAt: fromMicros(nums[0]), ExpiresAt: fromMicros(nums[1]),
		IdleTimeout: time.Duration(nums[2]), LastUsedAt: fromMicros(nums[3]),
		KeyBinding: f[6],
	}
	if f[7] != "" {
		sess.RevokedAt = fromMicros(nums[4])
	}
	return sess, nil
}

// RotateSession spends presented and makes next its session's current
// token in one script (Redis runs it alone: concurrent rotations, from any
// number of Stores, take turns), with the grace window, reuse detection
// and superseding of [jwtguard.SessionStore]. Times are compared to the
// microsecond, rounded toward the past. The next token's key expires with
// its session.
func (s *Store) RotateSession(ctx context.Context, presented, next jwtguard.TokenHash, now time.Time, grace time.Duration) (jwtguard.Session, error) {
	if now.IsZero() {
		return jwtguard.Session{}, errZeroTime
	}
	// The window holds the whole microseconds d with d < grace: d <
	// grace rounded up to the microsecond. A grace beyond Lua's exact
	// integers (2^52 µs, 142 years) is as good as forever.
	g := (int64(min(grace, time.Duration(1<<52)*time.Microsecond)) + 999) / 1000
	if grace < 0 {
		g = 0
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := rotateScript.Run(ctx, s.c, s.route(), s.skeys, hex.EncodeToString(presented[:]), hex.EncodeToString(next[:]),
		micros(now), g, sessionRetention.Milliseconds(), maxSpentPerSession).Slice()
	if err != nil {
		return jwtguard.Session{}, fmt.Errorf("jwtguard/redis: rotate: %w", err)
	}
	switch code(res) {
	case codeOK:
		return sessionFrom(res)
	case codeInvalid:
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	case codeReused:
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenReused
	case codeSuperseded:
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenSuperseded
	case codeHeld:
		return jwtguard.Session{}, errors.New("jwtguard/redis: rotate: the store already holds the next refresh token")
	}
	return jwtguard.Session{}, fmt.Errorf("jwtguard/redis: rotate: unexpected answer %v", res)
}

// LookupSession returns the session of the token of hash h, current,
// spent or superseded, revoked or not; [jwtguard.ErrRefreshTokenInvalid]
// when there is none (among them sessions a day past their end, whose
// keys have expired, and hashes forgotten past the 64 a session keeps).
func (s *Store) LookupSession(ctx context.Context, h jwtguard.TokenHash) (jwtguard.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := lookupScript.Run(ctx, s.c, s.route(), s.skeys, hex.EncodeToString(h[:])).Slice()
	if err != nil {
		return jwtguard.Session{}, fmt.Errorf("jwtguard/redis: lookup session: %w", err)
	}
	switch code(res) {
	case codeOK:
		return sessionFrom(res)
	case codeInvalid:
		return jwtguard.Session{}, jwtguard.ErrRefreshTokenInvalid
	}
	return jwtguard.Session{}, fmt.Errorf("jwtguard/redis: lookup session: unexpected answer %v", res)
}

// RevokeSession revokes the session id at now, to the microsecond; one
// revoked already keeps its first RevokedAt, and an unknown id is not an
// error.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return errZeroTime
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := revokeScript.Run(ctx, s.c, []string{s.sessionKey(id)}, micros(now)).Err(); err != nil {
		return fmt.Errorf("jwtguard/redis: revoke session: %w", err)
	}
	return nil
}

// RevokeUserSessions revokes every session of userID at now and marks the
// user's sessions revoked as of now, in one script, as
// [jwtguard.SessionStore] says. The mark expires an hour and a minute
// later by Redis's clock, after which the user's logins are no longer
// checked against it.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, now time.Time) error {
	if now.IsZero() {
		return errZeroTime
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	keys := []string{s.skeys + "u:" + userID, s.skeys + "m:" + userID}
	if err := revokeUserScript.Run(ctx, s.c, keys, s.skeys, micros(now), markRetention.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("jwtguard/redis: revoke user sessions: %w", err)
	}
	return nil
}

// DenyAccessToken refuses the access token jti until until, rounded up to
// the microsecond; of two denials of one jti the later holds. The denial's
// key expires a minute after until by Redis's clock (the minute for
// clocks that disagree).
func (s *Store) DenyAccessToken(ctx context.Context, jti string, until time.Time) error {
	if jti == "" {
		return errors.New("jwtguard/redis: an access token without a jti cannot be denied")
	}
	// An end before 1970 is past (the key goes at once); one after 9999,
	// beyond what UnixMilli can say, is kept until then.
	expiry := max(until.Add(denialSlack).UnixMilli()+1, 1)
	if until.Year() > 9998 {
		expiry = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC).UnixMilli()
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := denyScript.Run(ctx, s.c, []string{s.skeys + "d:" + jti}, microsUp(until), expiry).Err(); err != nil {
		return fmt.Errorf("jwtguard/redis: deny access token: %w", err)
	}
	return nil
}

// Revoked reports whether an access token of session sid and id jti is
// refused at now, as [jwtguard.SessionStore] says: its session is revoked,
// at or past its ExpiresAt, or unknown, or jti is denied past now. It is
// one read-only script: one round trip.
func (s *Store) Revoked(ctx context.Context, sid, jti string, now time.Time) (bool, error) {
	if now.IsZero() {
		return false, errZeroTime
	}
	if sid == "" && jti == "" {
		return false, nil
	}
	checkSID, checkJTI := "0", "0"
	if sid != "" {
		checkSID = "1"
	}
	if jti != "" {
		checkJTI = "1"
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, err := revokedScript.Run(ctx, s.c, []string{s.sessionKey(sid), s.skeys + "d:" + jti}, micros(now), checkSID, checkJTI).Int()
	if err != nil {
		return false, fmt.Errorf("jwtguard/redis: revoked: %w", err)
	}
	return n != 0, nil
}

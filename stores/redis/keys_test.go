package redis_test

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// within checks that key's time to live is in [lo, hi].
func within(t *testing.T, ttl time.Duration, key string, lo, hi time.Duration) {
	t.Helper()
	if ttl < lo || ttl > hi {
		t.Errorf("%s: time to live %v; want %v to %v", key, ttl, lo, hi)
	}
}

func tokenKey(p string, h jwtguard.TokenHash) string { return p + "{s}:t:" + hex.EncodeToString(h[:]) }

// Every key expires, as far ahead of Redis's clock as the end it follows
// is of the call's time (here in 2031), and no key is left without an
// expiry.
func TestKeysExpire(t *testing.T) {
	s, p := open(t)
	c := raw(t)
	ctx := t.Context()
	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	const slack = 5 * time.Second
	day := 24 * time.Hour

	// A session of 7 days: its keys live 8 days (a day past its end).
	sess, a := login(t, s, "u-1", t0)
	life := 8 * day
	within(t, pttl(p+"{s}:s:"+sess.ID), "session", life-slack, life)
	within(t, pttl(tokenKey(p, a)), "first token", life-slack, life)
	within(t, pttl(p+"{s}:u:u-1"), "user's sessions", life-slack, life)
	// A rotation a day later: the new token's key ends with the session.
	b := rotate(t, s, a, t0.Add(day))
	c2 := rotate(t, s, b, t0.Add(day+time.Second))
	within(t, pttl(tokenKey(p, c2)), "rotated token", life-day-time.Second-slack, life-day)
	within(t, pttl(p+"{s}:x:"+sess.ID), "spent hashes", life-day-time.Second-slack, life-day)

	// A second, shorter session of the user does not shorten the index.
	short := newSession("u-1", t0)
	short.ExpiresAt = t0.Add(time.Hour)
	if err := s.CreateSession(ctx, short, newHash()); err != nil {
		t.Fatal(err)
	}
	within(t, pttl(p+"{s}:u:u-1"), "user's sessions after a shorter one", life-slack, life)
	within(t, pttl(p+"{s}:s:"+short.ID), "short session", day+time.Hour-slack, day+time.Hour)

	// A mark: an hour and a minute.
	if err := s.RevokeUserSessions(ctx, "u-2", t0); err != nil {
		t.Fatal(err)
	}
	within(t, pttl(p+"{s}:m:u-2"), "mark", time.Hour+time.Minute-slack, time.Hour+time.Minute)

	// A denial ends by Redis's clock, a minute after its until.
	until := time.Now().Add(15 * time.Minute)
	if err := s.DenyAccessToken(ctx, "jti-1", until); err != nil {
		t.Fatal(err)
	}
	within(t, pttl(p+"{s}:d:jti-1"), "denial", 16*time.Minute-slack, 16*time.Minute+time.Second)
	// A denial whose end has passed by Redis's clock is not kept.
	if err := s.DenyAccessToken(ctx, "jti-old", time.Now().Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, p+"{s}:d:jti-old").Val(); n != 0 {
		t.Error("a denial that ended two minutes ago by Redis's clock is kept")
	}

	// A bucket lives until it is full again; a refund that fills it
	// deletes it.
	l := jwtguard.Limit{Burst: 3, Every: 30 * time.Second}
	for i := range 2 {
		if w, err := s.Take(ctx, "ukey", l, t0); err != nil || w != 0 {
			t.Fatalf("Take %d = %v, %v", i, w, err)
		}
	}
	within(t, pttl(p+"t:ukey"), "bucket with two tokens spent", time.Minute-slack, time.Minute)
	for range 2 {
		if err := s.Done(ctx, "ukey", l, true, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Exists(ctx, p+"t:ukey").Val(); n != 0 {
		t.Error("a bucket full again after refunds is kept")
	}

	// A last login: 30 days.
	if err := s.Remember(ctx, "ukey", "192.0.2.1", t0); err != nil {
		t.Fatal(err)
	}
	within(t, pttl(p+"l:ukey"), "last login", 30*day-slack, 30*day)

	// No key of the Store lacks an expiry (PTTL -1).
	keys, err := c.Keys(ctx, p+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if d := pttl(k); d < 0 {
			t.Errorf("%s has no expiry (PTTL %v)", k, d)
		}
	}
}

// A user's 101st session drops their oldest, with its token hashes; a
// session keeps its current token, the one its latest rotation spent and
// 64 older ones, and an older one presented again is invalid, not reuse.
func TestBounds(t *testing.T) {
	s, p := open(t)
	c := raw(t)
	ctx := t.Context()

	first, fh := login(t, s, "u-1", t0)
	fh2 := rotate(t, s, fh, t0.Add(time.Second)) // a spent hash too
	for i := range 100 {
		login(t, s, "u-1", t0.Add(time.Duration(i+1)*time.Second))
	}
	if n := c.ZCard(ctx, p+"{s}:u:u-1").Val(); n != 100 {
		t.Errorf("the user's index holds %d sessions; want 100", n)
	}
	for name, h := range map[string]jwtguard.TokenHash{"current": fh2, "spent": fh} {
		if _, err := s.LookupSession(ctx, h); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
			t.Errorf("LookupSession(the dropped session's %s token) = %v; want ErrRefreshTokenInvalid", name, err)
		}
		if n := c.Exists(ctx, tokenKey(p, h)).Val(); n != 0 {
			t.Errorf("the dropped session's %s token is still kept", name)
		}
	}
	if r, _ := s.Revoked(ctx, first.ID, "", t0.Add(time.Hour)); !r {
		t.Error("Revoked(the dropped session) = false; want true (unknown)")
	}
	if n := c.Exists(ctx, p+"{s}:s:"+first.ID, p+"{s}:x:"+first.ID).Val(); n != 0 {
		t.Errorf("%d keys of the dropped session are kept", n)
	}

	// 70 rotations: h[0] … h[70], h[70] current, h[69] the latest spent.
	sess, h0 := login(t, s, "u-2", t0)
	hs := []jwtguard.TokenHash{h0}
	for i := range 70 {
		hs = append(hs, rotate(t, s, hs[i], t0.Add(time.Duration(i+1)*time.Second)))
	}
	if n := c.LLen(ctx, p+"{s}:x:"+sess.ID).Val(); n != 64 {
		t.Errorf("the session keeps %d older spent hashes; want 64", n)
	}
	now := t0.Add(time.Hour)
	// h[5] … h[68] are the 64 older ones kept; h[0] … h[4] are forgotten.
	if _, err := s.LookupSession(ctx, hs[5]); err != nil {
		t.Errorf("LookupSession(the oldest kept spent token) = %v", err)
	}
	if _, err := s.RotateSession(ctx, hs[4], newHash(), now, 0); !errors.Is(err, jwtguard.ErrRefreshTokenInvalid) {
		t.Errorf("RotateSession(a forgotten spent token) = %v; want ErrRefreshTokenInvalid", err)
	}
	if r, _ := s.Revoked(ctx, sess.ID, "", now); r {
		t.Error("a forgotten spent token revoked the session")
	}
	if _, err := s.RotateSession(ctx, hs[5], newHash(), now, 0); !errors.Is(err, jwtguard.ErrRefreshTokenReused) {
		t.Errorf("RotateSession(the oldest kept spent token) = %v; want ErrRefreshTokenReused", err)
	}
}

package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Nonces makes and checks server nonces (RFC 9449 §8) without keeping any:
// a nonce is its time step and a MAC of it, so that every replica with
// the secret accepts every other's. A nonce is accepted in its own step
// and the next, so it lives one to two steps.
type Nonces struct {
	secret []byte
	step   time.Duration
	cur    atomic.Pointer[stepNonce]
}

type stepNonce struct {
	step  int64
	nonce string
}

// nonceLen is a nonce's length: base64url of an 8-byte step and a 16-byte
// MAC.
const nonceLen = 32

var nonceEncoding = base64.RawURLEncoding.Strict()

// NewNonces returns Nonces with secret (at least 32 random bytes, the same
// on every replica) and step.
func NewNonces(secret []byte, step time.Duration) *Nonces {
	return &Nonces{secret: append([]byte(nil), secret...), step: step}
}

func (n *Nonces) stepOf(now time.Time) int64 { return now.UnixNano() / int64(n.step) }

// mac is the nonce of step s.
func (n *Nonces) mac(s int64) []byte {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(s))
	m := hmac.New(sha256.New, n.secret)
	m.Write([]byte("jwtguard dpop nonce\x00"))
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return b[:]
}

// Current returns the nonce of now's step, made once a step.
func (n *Nonces) Current(now time.Time) string {
	s := n.stepOf(now)
	if c := n.cur.Load(); c != nil && c.step == s {
		return c.nonce
	}
	c := &stepNonce{step: s, nonce: nonceEncoding.EncodeToString(n.mac(s))}
	n.cur.Store(c)
	return c.nonce
}

// Valid reports whether nonce is one of now's step or the step before.
func (n *Nonces) Valid(nonce string, now time.Time) bool {
	if len(nonce) != nonceLen {
		return false
	}
	b, err := nonceEncoding.DecodeString(nonce)
	if err != nil || len(b) != 24 {
		return false
	}
	s := int64(binary.BigEndian.Uint64(b[:8]))
	if cur := n.stepOf(now); s != cur && s != cur-1 {
		return false
	}
	return hmac.Equal(b, n.mac(s))
}

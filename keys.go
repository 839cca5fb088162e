package jwtguard

import (
	"bytes"
	"fmt"

	"github.com/jwtguard/jwtguard/internal/token"
)

// Key is a key that tokens are signed and verified with, together with the
// one algorithm it is for: a token is only ever checked with the algorithm
// of the key, so a token that names another algorithm (none, an asymmetric
// one, another hash) is refused. Make one with [HMACKey]; the zero [Key] is not
// a key, and [New] refuses it. A [Key] is immutable and safe to share.
type Key struct {
	alg    string
	secret []byte
}

// HMACKey returns a key for HMAC with SHA-2: alg is "HS256", "HS384" or
// "HS512", written exactly so. secret must be random and at least as long
// as the hash (RFC 7518 §3.2): 32, 48 or 64 bytes; a shorter one, or another
// algorithm, is an error that never includes the secret. [HMACKey] copies
// secret, so later changes to the caller's slice change nothing. A service
// that shares the secret can both verify and issue tokens.
func HMACKey(alg string, secret []byte) (Key, error) {
	n, ok := token.Algorithms[alg]
	if !ok {
		return Key{}, fmt.Errorf("jwtguard: algorithm %q is not an HMAC algorithm; use HS256, HS384 or HS512", alg)
	}
	if len(secret) < n {
		return Key{}, fmt.Errorf("jwtguard: the secret is %d bytes; %s needs at least %d bytes of random data (try: openssl rand -base64 %d)", len(secret), alg, n, n+n/2)
	}
	return Key{alg: alg, secret: bytes.Clone(secret)}, nil
}

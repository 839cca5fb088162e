package guard

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/jwtguard/jwtguard/internal/fold"
)

// AccountKey is the key of a username in the throttle and the returning
// users' table: a SHA-256 prefix of its case fold (fold.Key), so that a store
// that matches usernames as strings.EqualFold does, or with a
// case-insensitive collation, does not give each spelling (alice, ALICE;
// ſam and sam; the Kelvin sign and K) its own bucket; the digest keeps
// every key 22 printable bytes, however long the username. A store that folds further
// still is covered by the bucket of the user's ID (Attempt.TakeUser).
func AccountKey(username string) string {
	return digest(fold.Key(username))
}

// digest is a printable 22-byte key for s: the base64url of a 16-byte
// SHA-256 prefix, so that a Store may keep keys in a text column.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

package guard

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptAlphabet is the base64 alphabet of bcrypt hashes.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var bcryptEncoding = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

// CheckBcryptHash reports whether h is a whole bcrypt hash that
// bcrypt.CompareHashAndPassword can compare with, and returns its cost:
// "$2a$", "$2b$" or "$2y$", a two-digit cost within 4..31, '$', and exactly
// 53 characters of bcrypt's base64 alphabet, of which the first 22, the
// salt, decode to 16 bytes. (bcrypt.Cost reads only the prefix and cost; a
// hash it accepts with a bad salt fails inside the comparison at once.)
// Its errors never quote the hash.
func CheckBcryptHash(h []byte) (cost int, err error) {
	const prefix = len("$2a$10$")
	switch {
	case len(h) != prefix+53:
		return 0, fmt.Errorf("bcrypt hash of %d bytes, want 60", len(h))
	case h[0] != '$' || h[1] != '2' || (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$':
		return 0, errors.New("not a $2a$, $2b$ or $2y$ bcrypt hash")
	case h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$':
		return 0, errors.New("bcrypt hash without a two-digit cost")
	}
	cost = int(h[4]-'0')*10 + int(h[5]-'0')
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return 0, fmt.Errorf("bcrypt cost %d outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	for i, c := range h[prefix:] {
		if !strings.ContainsRune(bcryptAlphabet, rune(c)) {
			return 0, fmt.Errorf("bcrypt hash has a byte outside its base64 alphabet at offset %d", prefix+i)
		}
	}
	if salt, err := bcryptEncoding.DecodeString(string(h[prefix : prefix+22])); err != nil || len(salt) != 16 {
		return 0, errors.New("bcrypt salt does not decode to 16 bytes")
	}
	return cost, nil
}

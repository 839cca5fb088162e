package jwks

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/MicahParks/jwkset"
	"github.com/jwtguard/jwtguard"
)

// skipped is a JWK of a document that the set does not use, and why.
type skipped struct {
	index  int    // in the document's keys array
	kid    string // the JWK's, possibly ""
	reason error
}

// parseKeySet returns the keys of the JWKS document doc, once per
// document: each JWK that is a public signature key jwtguard verifies
// with becomes a [jwtguard.Key] of the algorithm of its alg member (else
// defaultAlg, else the one its kind implies), in an immutable KeySet, so
// that finding a token's key is a map lookup.
//
// jwkset's types and parser read each JWK (base64url with or without
// padding, RSA, EC on P-256/384/521, OKP; an x5c chain must hold the same
// key); jwtguard.PublicKey then applies jwtguard's rules to the key (RSA of
// 2048 to 8192 bits, the curve of the algorithm). Before jwkset sees a JWK,
// the checks that decide whether it may verify at all are made here on its
// members, which jwkset's HTTP storage would not let us see: it reads a
// JWK's private part when present and, for an RSA key with d but without
// its CRT members, drops d without a word and yields a public key, so a
// key whose private part is public would verify tokens that anyone could
// sign. The JWKs skipped, and why, are returned for the log.
//
// A JWK is skipped when it is a symmetric (oct) key, has any private
// member, has a use other than sig or key_ops without verify, does not
// parse, is of a kind or algorithm jwtguard does not verify with, is
// weak, or has a kid that is not printable ASCII of at most 128 bytes;
// JWKs that share a kid are all skipped (a token naming it could not be
// told which one it means). A JWK without kid gets its RFC 7638 thumbprint
// as kid. doc itself must pass checkDocument (a JSON object with a "keys"
// array of objects, with nothing after it, and no member name that
// encoding/json's case-insensitive, last-one-wins reading could make
// mean something else), and give at least one key: one that fails or
// gives none is an error, so that a broken document never replaces a
// good set.
func parseKeySet(doc []byte, defaultAlg string) (*jwtguard.KeySet, []skipped, error) {
	if err := checkDocument(doc); err != nil {
		return nil, nil, err
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, nil, fmt.Errorf("the document is not a JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, nil, errors.New(`the document is not a JWK Set: it has no "keys" array`)
	}
	var (
		keys []jwtguard.Key
		idx  []int // keys[i] is the JWK at idx[i]
		skip []skipped
		kids = map[string]int{}
	)
	for i, m := range set.Keys {
		k, err := publicKey(m, defaultAlg)
		if err != nil {
			skip = append(skip, skipped{i, m.KID, err})
			continue
		}
		keys, idx = append(keys, k), append(idx, i)
		kids[k.ID()]++
	}
	usable := keys[:0:0]
	for i, k := range keys {
		if n := kids[k.ID()]; n > 1 {
			skip = append(skip, skipped{idx[i], k.ID(), fmt.Errorf("%d JWKs have kid %q: none is used", n, k.ID())})
			continue
		}
		usable = append(usable, k)
	}
	slices.SortFunc(skip, func(a, b skipped) int { return cmp.Compare(a.index, b.index) })
	if len(usable) == 0 {
		return nil, skip, fmt.Errorf("the JWK Set has no key to verify with (%d JWKs, %d skipped)", len(set.Keys), len(skip))
	}
	ks, err := jwtguard.NewKeySet(usable...)
	if err != nil { // not expected: each key passed NewKeySet alone, and kids are distinct
		return nil, skip, err
	}
	return ks, skip, nil
}

// publicKey is the verification key of the JWK m, as parseKeySet has it.
func publicKey(m jwkset.JWKMarshal, defaultAlg string) (jwtguard.Key, error) {
	switch {
	case m.KTY == jwkset.KtyOct:
		return jwtguard.Key{}, errors.New("a symmetric (oct) key: never used, since whoever can read the JWKS could sign with it")
	case m.D != "" || m.P != "" || m.Q != "" || m.DP != "" || m.DQ != "" || m.QI != "" || len(m.OTH) != 0 || m.K != "":
		return jwtguard.Key{}, errors.New("the JWKS publishes its private part: the key is compromised and never used")
	case m.USE != "" && m.USE != jwkset.UseSig:
		return jwtguard.Key{}, fmt.Errorf("its use is %q, not sig", m.USE)
	case len(m.KEYOPS) != 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify):
		return jwtguard.Key{}, errors.New("its key_ops do not include verify")
	}
	j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return jwtguard.Key{}, fmt.Errorf("it does not parse: %w", err)
	}
	pub := j.Key()
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return jwtguard.Key{}, fmt.Errorf("kty %s, crv %q: not a kind of key tokens are signed with here", m.KTY, m.CRV)
	}
	k, err := jwtguard.PublicKey(cmp.Or(m.ALG.String(), defaultAlg), pub)
	if err != nil {
		return jwtguard.Key{}, err
	}
	if m.KID != "" {
		if len(m.KID) > 128 {
			return jwtguard.Key{}, fmt.Errorf("its kid is %d bytes, over 128", len(m.KID))
		}
		k = k.WithID(m.KID)
		if _, err := jwtguard.NewKeySet(k); err != nil {
			return jwtguard.Key{}, err
		}
	}
	return k, nil
}

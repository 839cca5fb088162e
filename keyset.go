package jwtguard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard/internal/token"
)

// KeySet is the keys of an issuer: at most one active key, which signs,
// and any number of keys that only verify (the next key, published before
// it signs, and the previous ones, until their tokens expire). Each has a
// kid of its own; a token is checked with the key its kid names, and only
// with that key's algorithm.
//
// A KeySet is the value that changes while an [Auth] serves: [New] takes
// it as its [KeySource] and keeps it, so [KeySet.Add], [KeySet.Activate]
// and [KeySet.Remove] take effect on the next token signed or verified,
// without a restart. It is safe for concurrent use; each change is atomic,
// and verification reads the set without a lock.
//
// Rotation, without downtime and without refusing a good token:
//
//  1. Add the new key (it verifies, and is published in the JWKS).
//  2. Wait at least as long as consumers cache the JWKS ([Auth.JWKSHandler]
//     tells them 5 minutes), so every service that verifies knows it.
//  3. Activate it: new tokens carry its kid; the old key now only verifies.
//  4. Remove the old key once the longest lifetime of a token it signed
//     has passed (the access-token lifetime, [WithTokenLifetime]; refresh
//     tokens are not JWTs and are unaffected).
//
// A token without a kid is checked with the set's one key of the token's
// algorithm; when the set holds more than one such key it is refused, as
// it cannot be told which is meant. Tokens a KeySet's active key signs
// always carry its kid.
type KeySet struct {
	mu  sync.Mutex // serialises changes
	cur atomic.Pointer[keySetState]
}

// keySetState is one version of a KeySet, never changed once stored.
type keySetState struct {
	active *token.Key // nil: none signs
	keys   []Key      // the active key first, then in the order added
	byID   map[string]*token.Key
	jwks   []byte // the public keys' JWKS document
	etag   string
}

// NewKeySet returns a set of keys. The first key, when it can sign, is the
// active key; the others only verify (until [KeySet.Activate]). Every key
// needs a kid, different from the others' (keys made by [PrivateKey] and
// its kin have their thumbprint; an HMAC key needs [Key.WithID]). A set
// with no key that signs, or with no key at all, is valid: it verifies
// with the keys it holds, or refuses every token until one is added.
func NewKeySet(keys ...Key) (*KeySet, error) {
	st := &keySetState{byID: map[string]*token.Key{}}
	for _, k := range keys {
		if err := st.add(k); err != nil {
			return nil, err
		}
	}
	if len(keys) > 0 && keys[0].CanSign() {
		st.active = keys[0].k
	}
	st.publish()
	s := new(KeySet)
	s.cur.Store(st)
	return s, nil
}

// add adds k to st, which is not yet stored.
func (st *keySetState) add(k Key) error {
	switch {
	case k.k == nil:
		return errors.New("jwtguard: KeySet: the zero Key is not a key")
	case k.k.ID == "":
		return fmt.Errorf("jwtguard: KeySet: a %s key without a kid; give it one with WithID", k.k.Alg)
	case !validKeyID(k.k.ID):
		return fmt.Errorf("jwtguard: KeySet: kid %q is not printable ASCII without '\"' or '\\' of at most 128 bytes", k.k.ID)
	case st.byID[k.k.ID] != nil:
		return fmt.Errorf("jwtguard: KeySet: two keys with kid %q", k.k.ID)
	}
	st.byID[k.k.ID] = k.k
	st.keys = append(st.keys, k)
	return nil
}

// change applies f to a copy of the current state and stores it.
func (s *KeySet) change(f func(st *keySetState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	st := &keySetState{active: old.active, keys: append([]Key(nil), old.keys...), byID: make(map[string]*token.Key, len(old.byID)+1)}
	for id, k := range old.byID {
		st.byID[id] = k
	}
	if err := f(st); err != nil {
		return err
	}
	st.order()
	st.publish()
	s.cur.Store(st)
	return nil
}

// Add adds k, which only verifies until it is activated, and is published
// at once. Its kid must be new to the set.
func (s *KeySet) Add(k Key) error {
	return s.change(func(st *keySetState) error { return st.add(k) })
}

// Activate makes the key with kid the one that signs; the key that signed
// before stays in the set and verifies. The key must be in the set and
// able to sign.
func (s *KeySet) Activate(kid string) error {
	return s.change(func(st *keySetState) error {
		k := st.byID[kid]
		switch {
		case k == nil:
			return fmt.Errorf("jwtguard: KeySet: no key with kid %q", kid)
		case !k.CanSign():
			return fmt.Errorf("jwtguard: KeySet: the key with kid %q is a public key; it cannot sign", kid)
		}
		st.active = k
		return nil
	})
}

// Remove removes the key with kid: tokens it signed are refused from now
// on, and it leaves the JWKS. The active key cannot be removed; activate
// another first.
func (s *KeySet) Remove(kid string) error {
	return s.change(func(st *keySetState) error {
		k := st.byID[kid]
		switch {
		case k == nil:
			return fmt.Errorf("jwtguard: KeySet: no key with kid %q", kid)
		case k == st.active:
			return fmt.Errorf("jwtguard: KeySet: the key with kid %q is the active key; activate another before removing it", kid)
		}
		delete(st.byID, kid)
		for i, x := range st.keys {
			if x.k == k {
				st.keys = append(st.keys[:i], st.keys[i+1:]...)
				break
			}
		}
		return nil
	})
}

// Keys returns the keys of the set, the active one first.
func (s *KeySet) Keys() []Key {
	return append([]Key(nil), s.cur.Load().keys...)
}

// Active returns the key that signs, and false when none does.
func (s *KeySet) Active() (Key, bool) {
	st := s.cur.Load()
	return Key{st.active}, st.active != nil
}

// VerificationKey implements [KeySource]: the key kid names; for a token
// without kid, the one key of the token's algorithm.
func (s *KeySet) VerificationKey(ctx context.Context, kid, alg string) (Key, error) {
	k, err := s.resolve(kid, alg)
	if err != nil {
		return Key{}, fmt.Errorf("%w: kid %q: %w", ErrUnknownKey, kid, err)
	}
	return Key{k}, nil
}

// keySetResolver is a KeySet as the verifier's Resolver, without the
// wrapping of VerificationKey.
type keySetResolver struct{ s *KeySet }

func (r keySetResolver) Resolve(_ context.Context, kid, alg string) (*token.Key, error) {
	return r.s.resolve(kid, alg)
}

// resolve finds the key of a token with kid and alg.
func (s *KeySet) resolve(kid, alg string) (*token.Key, error) {
	st := s.cur.Load()
	if kid != "" {
		if k := st.byID[kid]; k != nil {
			return k, nil
		}
		return nil, token.ErrUnknownKey
	}
	var found *token.Key
	for _, k := range st.keys {
		if token.SameAlg(alg, k.k.Alg) {
			if found != nil {
				return nil, fmt.Errorf("%w: the token has no kid and the set has several %s keys", token.ErrUnknownKey, alg)
			}
			found = k.k
		}
	}
	if found == nil {
		return nil, token.ErrUnknownKey
	}
	return found, nil
}

// order puts the active key first.
func (st *keySetState) order() {
	for i, k := range st.keys {
		if k.k == st.active && i > 0 {
			copy(st.keys[1:i+1], st.keys[:i])
			st.keys[0] = k
			return
		}
	}
}

// publish makes st's JWKS document: every key with a public part, the
// active one first.
func (st *keySetState) publish() {
	var b bytes.Buffer
	b.WriteString(`{"keys":[`)
	n := 0
	for _, k := range st.keys {
		j, err := publicJWK(k.k)
		if err != nil {
			continue // an HMAC secret: never published
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(marshalJWK(j))
		n++
	}
	b.WriteString("]}")
	st.jwks = b.Bytes()
	sum := sha256.Sum256(st.jwks)
	st.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// MarshalJSON returns the set's JWKS (RFC 7517 §5): the public JWK of each
// key, the active one first, with kid, alg and use "sig". HMAC keys and
// private parts are never in it.
func (s *KeySet) MarshalJSON() ([]byte, error) {
	return bytes.Clone(s.cur.Load().jwks), nil
}

// jwksMaxAge is how long JWKSHandler lets consumers cache the document:
// step 2 of a rotation waits at least this long.
const jwksMaxAge = 5 * time.Minute

// jwksHandler serves the JWKS of a key source that has one.
type jwksHandler struct{ state func() *keySetState }

func (h jwksHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	st := h.state()
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(jwksMaxAge/time.Second)))
	hd.Set("ETag", st.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == st.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", "application/jwk-set+json")
	hd.Set("Content-Length", strconv.Itoa(len(st.jwks)))
	if r.Method == http.MethodGet {
		w.Write(st.jwks)
	}
}

// JWKSHandler returns a handler that serves the public keys of a's [Key]
// or [KeySet] as a JWKS (RFC 7517 §5), for GET /.well-known/jwks.json:
// each key's public JWK with kid, alg and use "sig", never an HMAC secret
// or a private part; with a KeySet, every key it holds, so the next key
// is published before it signs and a previous one until it is removed.
// The answer is application/jwk-set+json with Cache-Control public,
// max-age=300 (consumers may cache it for 5 minutes: step 2 of a
// rotation, see [KeySet]) and an ETag; If-None-Match is answered 304.
// Methods other than GET and HEAD are answered 405.
//
// An Auth whose keys are all HMAC secrets publishes an empty set, and
// says so in a warning when the handler is made. It panics when a's keys
// come from another [KeySource] (a remote JWKS is its issuer's to
// publish).
func (a *Auth) JWKSHandler() http.Handler {
	a.mustBeNew("JWKSHandler")
	var h jwksHandler
	switch k := a.keys.(type) {
	case Key:
		st := &keySetState{keys: []Key{k}}
		st.publish()
		h.state = func() *keySetState { return st }
	case *KeySet:
		h.state = k.cur.Load
	default:
		panic(fmt.Sprintf("jwtguard: JWKSHandler called on an Auth whose keys come from a %T; only a Key or KeySet is published", a.keys))
	}
	if bytes.Equal(h.state().jwks, []byte(`{"keys":[]}`)) {
		a.log.Warn("jwtguard: JWKSHandler publishes no key: HMAC secrets are never published, and services verifying this issuer's tokens need its secret (or an asymmetric key: see GenerateKey)")
	}
	return h
}

package token

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Cache holds tokens a Verifier has verified, so that a token presented
// again skips its signature check and the decoding of its payload: the
// part of verification that costs tens of microseconds for RS256, ES256
// and EdDSA. It is safe for concurrent use, and may be shared by several
// Verifiers (an entry is served only to the Verifier that made it).
//
// A hit is not a shortcut past any check but the signature: the entry is
// found by a keyed hash of the whole token (hash/maphash, seeded per
// Cache, so that nobody outside can aim at a slot) and then the token is
// compared in full, so a token that differs by one byte is a miss; the key
// is resolved again by the entry's kid and alg and must be the key the
// signature was checked with, or the Same one (a key removed from its
// set, or replaced under the same kid, turns the entry into a miss and
// drops it); and the
// time claims are checked against the clock again, so that a cached token
// is accepted exactly while an uncached one would be and is answered as
// expired as soon as it is. Revocation is the caller's to check on every
// request, as for a token that is not cached. Only a token whose signature
// verified and that passed every check of its Verifier is added.
//
// Memory is bounded by the budget given to NewCache, over the token, its
// payload's JSON (twice when a claim has an escape, as such a claim is
// decoded into a copy), an eighth for the allocator's rounding, and a fixed
// cost per entry (cacheEntryOverhead); the
// cache is split into shards with a share of the budget each, and a shard
// with no room drops expired entries first, then entries in the order Go's
// map iteration picks them, which is random.
type Cache struct {
	seed   maphash.Seed
	budget int64 // per shard
	shards [cacheShards]cacheShard
}

// cacheShards is the number of shards: enough that two cores rarely wait
// for one another's lock.
const cacheShards = 16

// MinCacheSize is the smallest budget NewCache takes: one entry of a
// token of a few hundred bytes in each shard.
const MinCacheSize = cacheShards * 2048

type cacheShard struct {
	mu      sync.RWMutex
	entries map[uint64]*cacheEntry
	bytes   int64
	hits    atomic.Uint64
	misses  atomic.Uint64
	// Padding, so that two shards' locks are not on one cache line.
	_ [64]byte
}

// A cacheEntry is a verified token: immutable once added.
type cacheEntry struct {
	tok      string
	verifier *Verifier
	key      *Key
	kid, alg string
	payload  Payload // its lists are its own; its strings, views of its JSON
	size     int64
}

// cacheEntryOverhead is what an entry costs beside its token and JSON:
// the entry itself, its map slot and the headers of its lists.
const cacheEntryOverhead = int64(unsafe.Sizeof(cacheEntry{})) + 32

// NewCache returns a Cache of at most maxBytes, which must be at least
// MinCacheSize.
func NewCache(maxBytes int) *Cache {
	c := &Cache{seed: maphash.MakeSeed(), budget: int64(max(maxBytes, MinCacheSize)) / cacheShards}
	for i := range c.shards {
		c.shards[i].entries = map[uint64]*cacheEntry{}
	}
	return c
}

func (c *Cache) shard(h uint64) *cacheShard { return &c.shards[h%cacheShards] }

// get returns v's entry for tok, or nil, and its slot; a nil entry is
// counted as a miss.
func (c *Cache) get(v *Verifier, tok string) (*cacheEntry, uint64) {
	h := maphash.String(c.seed, tok)
	s := c.shard(h)
	s.mu.RLock()
	e := s.entries[h]
	s.mu.RUnlock()
	if e == nil || e.tok != tok || e.verifier != v {
		s.misses.Add(1)
		return nil, h
	}
	return e, h
}

// count counts a token looked up at h and found: served from the cache or
// not (its key has gone, and it is verified afresh).
func (c *Cache) count(h uint64, served bool) {
	if served {
		c.shard(h).hits.Add(1)
	} else {
		c.shard(h).misses.Add(1)
	}
}

// drop removes e, if it is still the entry at h.
func (c *Cache) drop(h uint64, e *cacheEntry) {
	s := c.shard(h)
	s.mu.Lock()
	if s.entries[h] == e {
		delete(s.entries, h)
		s.bytes -= e.size
	}
	s.mu.Unlock()
}

// add adds v's verified token tok with its header, key and payload, which
// are copied. It replaces an entry in tok's slot, and makes room by
// dropping others; a token too large for a shard is not added.
func (c *Cache) add(v *Verifier, tok string, hd header, key *Key, p *Payload) {
	c.addAt(maphash.String(c.seed, tok), v, tok, hd, key, p)
}

// addAt is add at slot h.
func (c *Cache) addAt(h uint64, v *Verifier, tok string, hd header, key *Key, p *Payload) {
	size := int64(len(tok)+len(p.JSON)+len(hd.kid)) + int64(len(p.Audience)+len(p.Roles))*int64(unsafe.Sizeof(""))
	if bytes.IndexByte(p.JSON, '\\') >= 0 {
		// A claim string with an escape is decoded into a copy of its
		// own, not a view of the JSON: counted as if every one were.
		size += int64(len(p.JSON))
	}
	// The allocator rounds each allocation up to its size class: an
	// eighth more, at most, for the sizes of tokens.
	size += size/8 + cacheEntryOverhead
	if size > c.budget {
		return
	}
	e := &cacheEntry{
		tok:      strings.Clone(tok),
		verifier: v,
		key:      key,
		kid:      strings.Clone(hd.kid),
		alg:      hd.alg,
		payload:  *p,
		size:     size,
	}
	// The lists may be views of p's own storage, which its owner reuses.
	e.payload.Audience = slices.Clone(p.Audience)
	e.payload.Roles = slices.Clone(p.Roles)
	e.payload.Extra = nil
	now := v.now().Add(-v.leeway)
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.entries[h]; old != nil {
		delete(s.entries, h)
		s.bytes -= old.size
	}
	if s.bytes+size > c.budget {
		// Expired entries first, among the first few map iteration
		// offers; then any.
		scanned := 0
		for k, old := range s.entries {
			if scanned++; scanned > 16 || s.bytes+size <= c.budget {
				break
			}
			if !now.Before(floorSecond(old.payload.ExpiresAt.Time)) {
				delete(s.entries, k)
				s.bytes -= old.size
			}
		}
		for k, old := range s.entries {
			if s.bytes+size <= c.budget {
				break
			}
			delete(s.entries, k)
			s.bytes -= old.size
		}
	}
	s.entries[h] = e
	s.bytes += size
}

// CacheStats are a Cache's counters.
type CacheStats struct {
	Hits, Misses   uint64
	Entries, Bytes int64
}

// Stats returns c's counters.
func (c *Cache) Stats() CacheStats {
	var st CacheStats
	for i := range c.shards {
		s := &c.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		s.mu.RLock()
		st.Entries += int64(len(s.entries))
		st.Bytes += s.bytes
		s.mu.RUnlock()
	}
	return st
}

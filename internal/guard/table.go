package guard

import (
	"container/heap"
	"sync"
	"time"
)

// limiterTable holds a token bucket per key, all with the same rate and
// burst, for at most max keys (see below for logins in flight).
//
// Each bucket is one time, when it is full again (the generic cell rate
// algorithm): it holds burst − (full − now)/every tokens, at most burst.
// Since every bucket of a table fills at the same rate, the fullest bucket
// is the one full soonest, so a min-heap by that time finds it in O(log n):
// when the table is full, it forgets the fullest bucket (of equally full
// ones, the least recently used), never a drained one in preference to a
// fuller one, and forgetting a bucket that is full loses nothing, since a
// new bucket starts full. (Sampling a few entries
// instead would let a drained bucket go whenever the sample held none
// fuller; the heap is exact and costs one log n sift per update, without
// any scan of the table.) To push out the bucket of an account under
// attack, an attacker must first drain as many buckets, each token with a
// bcrypt comparison.
//
// A key's entry is pinned while a login holds a token from it, and is not
// in the heap then: no login in flight loses its token to eviction. So the
// table may hold more than max keys by the number of logins in flight
// (each of which holds a goroutine and a request anyway); it falls back to
// max as they end. A login that ends without a guess gives its token back,
// and an entry whose bucket is then full and that no login holds leaves
// the table: only guesses keep keys in it.
type limiterTable struct {
	burst  int
	every  time.Duration
	window time.Duration // (burst-1)·every: how far ahead full may be and a token still be taken
	max    int

	mu   sync.Mutex
	keys map[string]*tableEntry
	idle entryHeap // entries no login holds, the fullest (soonest full) first
	seq  uint64    // counts takes, for least-recent use
}

type tableEntry struct {
	key     string
	full    time.Time // when the bucket holds burst tokens again
	holders int       // logins in flight holding a token from it
	used    uint64    // the table's seq at the last take, refused or not
	index   int       // in idle; -1 while held
}

func newLimiterTable(burst int, every time.Duration, max int) *limiterTable {
	window := time.Duration(burst-1) * every
	if burst > 1 && window/time.Duration(burst-1) != every {
		window = 1<<63 - 1 // overflow: never refuse within the burst
	}
	return &limiterTable{burst: burst, every: every, window: window, max: max, keys: make(map[string]*tableEntry)}
}

// take takes a token from key's bucket and pins its entry until release;
// or, when the bucket is empty, returns the time until its next token.
func (t *limiterTable) take(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.keys[key]
	if !ok {
		t.makeRoom(now)
		e = &tableEntry{key: key, full: now, index: -1}
		t.keys[key] = e
	}
	t.seq++
	e.used = t.seq
	full := e.full
	if full.Before(now) {
		full = now
	}
	if wait := full.Sub(now) - t.window; wait > 0 {
		// Only a known key can be empty. If no login holds it, its place
		// in the heap follows its use.
		if e.index >= 0 {
			heap.Fix(&t.idle, e.index)
		}
		return wait
	}
	if e.holders == 0 && e.index >= 0 {
		heap.Remove(&t.idle, e.index)
	}
	e.holders++
	e.full = full.Add(t.every)
	return 0
}

// release ends a login's hold on key's entry, which a take pinned; refund
// gives its token back. An entry that no login holds any more goes back to
// the heap, or, if its bucket is full, leaves the table.
func (t *limiterTable) release(key string, refund bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.keys[key]
	if !ok || e.holders == 0 {
		return // not pinned by a take: nothing to release
	}
	if refund {
		e.full = e.full.Add(-t.every)
	}
	if e.holders--; e.holders > 0 {
		return
	}
	if !e.full.After(now) {
		delete(t.keys, e.key)
		return
	}
	heap.Push(&t.idle, e)
}

// makeRoom drops up to two entries whose buckets are full again, and then,
// while max entries or more are idle, the fullest idle entries. Only idle
// entries count against max: an entry that a login in flight pins is there
// because of that login, and if it ends without a guess its key leaves the
// table again, so pinned entries must not push out remembered buckets
// (else one wave of logins held in the tarpit, none of them compared, would
// empty the table and refill an attacked account's bucket).
func (t *limiterTable) makeRoom(now time.Time) {
	for n := 0; n < 2 && t.idle.Len() > 0 && !t.idle[0].full.After(now); n++ {
		delete(t.keys, heap.Pop(&t.idle).(*tableEntry).key)
	}
	for t.idle.Len() > 0 && t.idle.Len() >= t.max {
		delete(t.keys, heap.Pop(&t.idle).(*tableEntry).key)
	}
}

// len reports how many keys the table tracks.
func (t *limiterTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// tokens reports how many tokens key's bucket holds at now (burst when the
// table does not track key), for tests.
func (t *limiterTable) tokens(key string, now time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.keys[key]
	if !ok || !e.full.After(now) {
		return float64(t.burst)
	}
	return float64(t.burst) - float64(e.full.Sub(now))/float64(t.every)
}

// entryHeap is a container/heap of entries by full time, soonest first,
// and among equally full ones the least recently used first.
type entryHeap []*tableEntry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].full.Equal(h[j].full) {
		return h[i].full.Before(h[j].full)
	}
	return h[i].used < h[j].used
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*tableEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

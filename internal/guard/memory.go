package guard

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory is the Store that keeps the throttle's state in this process: a
// limiterTable per Limit, and the last successful login of at most capacity
// accounts, the least recently used forgotten first. It is safe for
// concurrent use and never fails.
type Memory struct {
	capacity int

	mu     sync.Mutex
	tables map[tableID]*limiterTable
	last   map[string]*list.Element // account key → *lastLogin
	lru    list.List                // of *lastLogin, front: most recently used
}

type lastLogin struct {
	account, addr string
	at            time.Time
}

// NewMemory returns a Memory that remembers at most capacity keys of each
// Limit and capacity accounts' last logins.
func NewMemory(capacity int) *Memory {
	return &Memory{capacity: capacity, tables: make(map[tableID]*limiterTable), last: make(map[string]*list.Element)}
}

// tableID names a table: a key's namespace (its first byte: "a" address,
// "u" username, "i" user) and its Limit, so that each kind of key has a
// table of capacity entries of its own even when two kinds share a Limit.
type tableID struct {
	ns    byte
	limit Limit
}

func (m *Memory) table(key string, l Limit) *limiterTable {
	id := tableID{limit: l}
	if key != "" {
		id.ns = key[0]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tables[id]
	if !ok {
		t = newLimiterTable(l.Burst, l.Every, m.capacity)
		m.tables[id] = t
	}
	return t
}

// Take takes a token from key's bucket (see Store).
func (m *Memory) Take(_ context.Context, key string, l Limit, now time.Time) (time.Duration, error) {
	return m.table(key, l).take(key, now), nil
}

// Done ends a login's hold on key's bucket (see Store).
func (m *Memory) Done(_ context.Context, key string, l Limit, refund bool, now time.Time) error {
	m.table(key, l).release(key, refund, now)
	return nil
}

// Remember records addr as account's last successful login (see Store).
func (m *Memory) Remember(_ context.Context, account, addr string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.last[account]; ok {
		e := el.Value.(*lastLogin)
		e.addr, e.at = addr, now
		m.lru.MoveToFront(el)
		return nil
	}
	if len(m.last) >= m.capacity {
		el := m.lru.Back()
		delete(m.last, el.Value.(*lastLogin).account)
		m.lru.Remove(el)
	}
	m.last[account] = m.lru.PushFront(&lastLogin{account: account, addr: addr, at: now})
	return nil
}

// LastLogin returns account's last successful login (see Store).
func (m *Memory) LastLogin(_ context.Context, account string) (string, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.last[account]
	if !ok {
		return "", time.Time{}, nil
	}
	e := el.Value.(*lastLogin)
	return e.addr, e.at, nil
}

// Len reports how many keys the table of key's namespace and l tracks, for
// tests.
func (m *Memory) Len(key string, l Limit) int { return m.table(key, l).len() }

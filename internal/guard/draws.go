package guard

import (
	"container/list"
	"sync"
	"time"
)

// returningDrawEvery spaces an account's draws on the password budget's
// returning share, so that one account logging in again and again cannot
// spend the share kept for everyone else's returning owners.
const returningDrawEvery = time.Minute

// drawTable remembers when each account last drew on the budget's
// returning share: at most max accounts, the least recently used forgotten
// first. Like the budget it protects one process's CPU, so it stays in the
// process whatever Store the throttle uses, and it runs on the runtime
// clock.
type drawTable struct {
	max int

	mu   sync.Mutex
	keys map[string]*list.Element // account key → *drawEntry
	lru  list.List                // front: most recently used
}

type drawEntry struct {
	account string
	at      time.Time
}

func newDrawTable(max int) *drawTable {
	return &drawTable{max: max, keys: make(map[string]*list.Element)}
}

// draw reports whether account may draw on the returning share at now, at
// most once every returningDrawEvery; a true answer counts as the draw.
func (d *drawTable) draw(account string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.keys[account]; ok {
		e := el.Value.(*drawEntry)
		d.lru.MoveToFront(el)
		if now.Sub(e.at) < returningDrawEvery {
			return false
		}
		e.at = now
		return true
	}
	if len(d.keys) >= d.max {
		el := d.lru.Back()
		delete(d.keys, el.Value.(*drawEntry).account)
		d.lru.Remove(el)
	}
	d.keys[account] = d.lru.PushFront(&drawEntry{account: account, at: now})
	return true
}

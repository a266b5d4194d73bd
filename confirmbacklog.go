package cloister

import (
	"sync"

	"github.com/cloister-go/cloister/internal/membership"
)

// maxConfirmBacklog bounds the failures waiting for a confirmation slot.
// Each member is held once (a newer report replaces the older one), so it
// only fills in a cluster of more members than that; beyond it, a failure
// stands unconfirmed, as every failure beyond maxConfirming did before the
// backlog.
const maxConfirmBacklog = 4096

// confirmBacklog holds the failures reported while every confirmation
// slot was taken, oldest first, one per member, until a slot frees. At
// 500 nodes in one process, overloaded, failures beyond the 64 slots used
// to stand at once, unconfirmed: over 50,000 of them in one run, nearly
// all about live members, each a view change that loaded the cluster
// further. Safe for concurrent use: the loop pushes, the confirmations pop.
type confirmBacklog struct {
	mu     sync.Mutex
	order  []string                    // member IDs, oldest first
	events map[string]membership.Event // by member ID
}

// push holds a failure, replacing a held one of the same member; it
// reports false when the backlog is full. A member that comes back alive
// meanwhile stays held: its confirmation finds it alive at once (its first
// step is the wait for a revival) and reports nothing.
func (b *confirmBacklog) push(e membership.Event) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := e.Member.ID
	if _, ok := b.events[id]; ok {
		b.events[id] = e
		return true
	}
	if len(b.events) >= maxConfirmBacklog {
		return false
	}
	if b.events == nil {
		b.events = map[string]membership.Event{}
	}
	b.events[id] = e
	b.order = append(b.order, id)
	return true
}

// pop takes the oldest failure held.
func (b *confirmBacklog) pop() (membership.Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.order) == 0 {
		return membership.Event{}, false
	}
	id := b.order[0]
	b.order[0] = ""
	b.order = b.order[1:]
	if len(b.order) == 0 {
		b.order = nil // let the array go
	}
	e := b.events[id]
	delete(b.events, id)
	return e, true
}

// len is how many failures are held.
func (b *confirmBacklog) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

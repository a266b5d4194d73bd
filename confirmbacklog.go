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
// reports false when the backlog is full.
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
	if len(b.order) >= 2*maxConfirmBacklog {
		b.compact()
	}
	if b.events == nil {
		b.events = map[string]membership.Event{}
	}
	b.events[id] = e
	b.order = append(b.order, id)
	return true
}

// compact drops from order the members dropped since they were pushed
// (drop leaves them there), so that pushes and drops of one member cannot
// grow it. b.mu must be held.
func (b *confirmBacklog) compact() {
	kept := make([]string, 0, len(b.events))
	seen := make(map[string]bool, len(b.events))
	for _, id := range b.order {
		if _, ok := b.events[id]; ok && !seen[id] {
			seen[id] = true
			kept = append(kept, id)
		}
	}
	b.order = kept
}

// drop forgets the failure held for a member: it is alive again.
func (b *confirmBacklog) drop(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.events, id) // its place in order is skipped by pop
}

// pop takes the oldest failure held.
func (b *confirmBacklog) pop() (membership.Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.order) > 0 {
		id := b.order[0]
		b.order[0] = ""
		b.order = b.order[1:]
		if e, ok := b.events[id]; ok {
			delete(b.events, id)
			return e, true
		}
	}
	b.order = nil // let the array go
	return membership.Event{}, false
}

// len is how many failures are held.
func (b *confirmBacklog) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

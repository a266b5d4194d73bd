package cloister

import (
	"net/netip"
	"sync"
	"time"
)

// authBackoff remembers addresses that answered with another secret, app
// or security mode (membership.ErrAuth), so that discovery and reconnect
// stop joining them every round: one such peer used to make every healthy
// node try it, and log it, about five times a second for as long as it
// ran. Its methods are safe for concurrent use.
type authBackoff struct {
	mu    sync.Mutex
	addrs map[netip.AddrPort]authEntry
}

type authEntry struct {
	until   time.Time
	backoff time.Duration
}

const (
	authFirst = time.Second // the first pause after a refusal
	authMax   = time.Minute // the longest
	maxAuth   = 256         // addresses remembered; past it, the one retried soonest is dropped
)

// refused records that a answered with another secret or app at now.
func (b *authBackoff) refused(a netip.AddrPort, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.addrs == nil {
		b.addrs = map[netip.AddrPort]authEntry{}
	}
	e, ok := b.addrs[a]
	if !ok && len(b.addrs) >= maxAuth {
		dropEarliest(b.addrs, func(e authEntry) time.Time { return e.until })
	}
	e.backoff = min(max(2*e.backoff, authFirst), authMax)
	e.until = now.Add(e.backoff)
	b.addrs[a] = e
}

// dropEarliest deletes the entry of m whose time is earliest: how the
// bounded address tables make room.
func dropEarliest[K comparable, V any](m map[K]V, at func(V) time.Time) {
	var earliest K
	var first time.Time
	for k, v := range m {
		if t := at(v); first.IsZero() || t.Before(first) {
			earliest, first = k, t
		}
	}
	delete(m, earliest)
}

// skip reports whether a is still paused at now.
func (b *authBackoff) skip(a netip.AddrPort, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.addrs[a]
	return ok && now.Before(e.until)
}

package cloister

import (
	"net/netip"
	"sync"
	"time"
)

// addrBackoff remembers addresses that discovery and reconnect stop
// joining every round, each paused from backoffFirst, doubling per failure
// up to backoffMax. A node keeps two: addresses that answered with another
// secret, app or security mode (membership.ErrAuth: one such peer used to
// make every healthy node try it, and log it, about five times a second
// for as long as it ran), and addresses that refused the connection
// (membership.ErrRefused: nobody listens there; a static sentry's address
// of a killed process was dialled by every node every round, 7,000
// refused dials a second at 1,000 nodes in one process). A process that
// starts at a paused address is not kept out: it joins through its own
// sentry, and an address held by a live member is never joined. Its
// methods are safe for concurrent use.
type addrBackoff struct {
	mu    sync.Mutex
	addrs map[netip.AddrPort]addrEntry
}

type addrEntry struct {
	at      time.Time // the last refusal
	until   time.Time
	backoff time.Duration
}

const (
	backoffFirst    = time.Second // the first pause after a refusal
	backoffMax      = time.Minute // the longest
	maxBackoffAddrs = 256         // addresses remembered; past it, the one retried soonest is dropped
)

// refused records that a join through a failed at now (see addrBackoff).
func (b *addrBackoff) refused(a netip.AddrPort, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.addrs == nil {
		b.addrs = map[netip.AddrPort]addrEntry{}
	}
	e, ok := b.addrs[a]
	if !ok && len(b.addrs) >= maxBackoffAddrs {
		dropEarliest(b.addrs, func(e addrEntry) time.Time { return e.until })
	}
	e.backoff = min(max(2*e.backoff, backoffFirst), backoffMax)
	e.at, e.until = now, now.Add(e.backoff)
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

// pause returns when a was last refused and when its pause ends, if it
// is paused at now; zero times otherwise.
func (b *addrBackoff) pause(a netip.AddrPort, now time.Time) (since, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.addrs[a]; ok && now.Before(e.until) {
		return e.at, e.until
	}
	return time.Time{}, time.Time{}
}

// resumes returns when a's pause ends, or the zero time when a is not
// paused at now.
func (b *addrBackoff) resumes(a netip.AddrPort, now time.Time) time.Time {
	_, until := b.pause(a, now)
	return until
}

// forget ends a's pause: a member there was heard of since.
func (b *addrBackoff) forget(a netip.AddrPort) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.addrs, a)
}

// skip reports whether a is still paused at now.
func (b *addrBackoff) skip(a netip.AddrPort, now time.Time) bool {
	return !b.resumes(a, now).IsZero()
}

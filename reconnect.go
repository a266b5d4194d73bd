package cloister

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Reconnecting to failed members: memberlist stops talking to a member it
// declared dead, so after a partition heals only a join merges the two
// sides again. Discovery joins what the sentry answers, but a sentry may
// be down exactly then (DNS is often on the far side of the same fault),
// and polling backs off. So the node keeps the address of every member
// that failed (not of those that left, which said they stop) and tries to
// join it again, with capped backoff, until it is a member again or
// Config.ReconnectTimeout has passed.
const (
	reconnectFirst = 200 * time.Millisecond // first retry after the failure
	reconnectMax   = time.Second            // backoff cap: a healed split merges within about a second
	reconnectTick  = 100 * time.Millisecond // least time between two looks for due addresses
	maxReconnects  = 256                    // addresses kept; beyond, the oldest failure is dropped
	// reconnectSlow is how often a member that is not one of an
	// address's reconnectFanout members (fanout.go) tries it: a safety
	// net for views that disagree, not the way a split heals.
	reconnectSlow = 15 * time.Second
)

// reconnectSet holds the addresses of failed members. Its methods are
// safe for concurrent use: the node loop adds and removes, reconnectLoop
// reads. A new failure and the end of a try signal wake, so that the loop
// sleeps while nothing is due instead of looking every reconnectTick: a
// ticker in every member of an idle cluster is a wake-up of every process
// ten times a second.
type reconnectSet struct {
	mu    sync.Mutex
	addrs map[netip.AddrPort]*reconnectEntry
	wake  chan struct{} // capacity 1; see wakeup
}

// wakeup returns the channel a new failure or a finished try signals.
func (r *reconnectSet) wakeup() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wakeLocked()
}

func (r *reconnectSet) wakeLocked() chan struct{} {
	if r.wake == nil {
		r.wake = make(chan struct{}, 1)
	}
	return r.wake
}

// signalLocked wakes reconnectLoop; r.mu must be held.
func (r *reconnectSet) signalLocked() {
	select {
	case r.wakeLocked() <- struct{}{}:
	default:
	}
}

// nextAt returns when the next address not being tried is due; false
// when there is none (the loop then sleeps until woken).
func (r *reconnectSet) nextAt() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, e := range r.addrs {
		if !e.trying && (next.IsZero() || e.next.Before(next)) {
			next = e.next
		}
	}
	return next, !next.IsZero()
}

type reconnectEntry struct {
	failed   time.Time // when the member was reported failed
	next     time.Time // when to try next
	backoff  time.Duration
	trying   bool
	deferred bool // put off once by deferOnce since the last try
}

// failed records the address of a member that failed.
func (r *reconnectSet) failed(a netip.AddrPort, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addrs == nil {
		r.addrs = map[netip.AddrPort]*reconnectEntry{}
	}
	if _, ok := r.addrs[a]; !ok && len(r.addrs) >= maxReconnects {
		dropEarliest(r.addrs, func(e *reconnectEntry) time.Time { return e.failed })
	}
	r.addrs[a] = &reconnectEntry{failed: now, next: now.Add(reconnectFirst), backoff: reconnectFirst}
	r.signalLocked()
}

// forget drops an address: its member is back, or left.
func (r *reconnectSet) forget(a netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.addrs, a)
}

// due returns the addresses to try now, marking them as being tried, and
// drops those whose member failed longer than timeout ago.
func (r *reconnectSet) due(now time.Time, timeout time.Duration, member func(netip.AddrPort) bool, limit int) []netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []netip.AddrPort
	for a, e := range r.addrs {
		switch {
		case now.Sub(e.failed) > timeout:
			delete(r.addrs, a)
		case member(a):
			delete(r.addrs, a)
		case !e.trying && !now.Before(e.next) && len(out) < limit:
			e.trying = true
			out = append(out, a)
		}
	}
	return out
}

// tried schedules the next try of an address, with doubled backoff.
func (r *reconnectSet) tried(a netip.AddrPort, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.addrs[a]; ok {
		e.trying, e.deferred = false, false
		e.backoff = min(2*e.backoff, reconnectMax)
		e.next = now.Add(jittered(e.backoff))
		r.signalLocked()
	}
}

// deferOnce puts off the try of an address due now by about d, without
// touching its backoff, and reports true; if it was put off already since
// its last try, it reports false and the try goes ahead: it was not this
// node's turn to try it, but it is the safety net's.
func (r *reconnectSet) deferOnce(a netip.AddrPort, now time.Time, d time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.addrs[a]
	if !ok || e.deferred {
		return false
	}
	e.trying, e.deferred = false, true
	e.next = now.Add(jittered(d))
	return true
}

// reconnectLoop tries the due addresses of failed members until the node
// stops: at the normal pace those for which it is one of the
// reconnectFanout members (fanout.go), the others every reconnectSlow; at
// most maxConcurrentJoins tries at once, each bounded by the membership's
// TCP timeout, each in a goroutine this loop waits for. It looks when the
// next address is due (at most every reconnectTick) or when woken, and
// sleeps while there is nothing to try.
func (n *Node) reconnectLoop() {
	defer n.wg.Done()
	ctx := n.loopCtx
	var tries sync.WaitGroup
	defer tries.Wait()
	slots := make(chan struct{}, maxConcurrentJoins)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	wake := n.reconnect.wakeup()
	for {
		select {
		case <-timer.C:
		case <-wake:
		case <-ctx.Done():
			return
		}
		n.reconnectDue(ctx, &tries, slots)
		timer.Stop()
		if next, ok := n.reconnect.nextAt(); ok {
			timer.Reset(max(reconnectTick, time.Until(next)))
		}
	}
}

// reconnectDue starts a try, in a goroutine counted in tries, of every
// address due now for which a slot is free.
func (n *Node) reconnectDue(ctx context.Context, tries *sync.WaitGroup, slots chan struct{}) {
	alive := n.index().live
	member := func(a netip.AddrPort) bool { return held(alive, a) }
	now := time.Now()
	for _, a := range n.reconnect.due(now, n.cfg.ReconnectTimeout, member, cap(slots)-len(slots)) {
		if n.authRefused.skip(a, now) || n.deadAddrs.skip(a, now) {
			n.reconnect.tried(a, now)
			continue
		}
		if !n.chosen(a, reconnectFanout) && n.reconnect.deferOnce(a, now, reconnectSlow) {
			continue
		}
		slots <- struct{}{}
		tries.Add(1)
		go func() {
			defer tries.Done()
			defer func() { <-slots }()
			if err := n.joinOne(ctx, a); err != nil {
				n.logger.Debug("reconnect failed", "addr", a, "err", err)
			}
			n.reconnect.tried(a, time.Now())
		}()
	}
}

package leader

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errLeaseEnded is a singleton context's error when its node's lease ran
// out before a renewal (the node could not reach a majority of its view).
var errLeaseEnded = errors.New("leader: lease ended")

// errLeadershipLost is a singleton context's error when its node stopped
// leading (another leader named, quorum lost, node stopping).
var errLeadershipLost = errors.New("leader: leadership lost")

// lease is what a leader holds while a majority of its view acknowledges
// it: an end time on this process's monotonic clock and the term it was
// last renewed at.
type lease struct {
	until time.Time
	term  Term
}

// leaseCell holds the node's current lease; the zero value holds none.
type leaseCell struct{ p atomic.Pointer[lease] }

func (c *leaseCell) load() lease {
	if l := c.p.Load(); l != nil {
		return *l
	}
	return lease{}
}

// extend makes the lease end at until with term, unless it already ends
// later at that term or a later one.
func (c *leaseCell) extend(until time.Time, term Term) {
	for {
		old := c.p.Load()
		if old != nil && (old.term > term || old.term == term && !until.After(old.until)) {
			return
		}
		if c.p.CompareAndSwap(old, &lease{until: until, term: term}) {
			return
		}
	}
}

func (c *leaseCell) drop() { c.p.Store(nil) }

// valid reports whether the lease runs at now.
func (c *leaseCell) valid(now time.Time) bool {
	l := c.p.Load()
	return l != nil && now.Before(l.until)
}

// runCtx is a singleton run's context. Besides being cancelled when its
// node loses leadership, it reads the lease whenever Err is called: a node
// that wakes from a pause (SIGSTOP, a long GC) finds its context done the
// first time it looks, before any timer of its own has had a chance to
// fire. It carries no deadline (the lease moves), no values but the term,
// and is never the child of a caller's context.
type runCtx struct {
	done  chan struct{}
	lease *leaseCell

	mu  sync.Mutex
	err error
}

func newRunCtx(l *leaseCell) *runCtx { return &runCtx{done: make(chan struct{}), lease: l} }

func (c *runCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *runCtx) Done() <-chan struct{}       { return c.done }

func (c *runCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if !c.lease.valid(time.Now()) {
		c.cancel(errLeaseEnded)
		return c.Err()
	}
	return nil
}

func (c *runCtx) Value(key any) any {
	if key == (termKey{}) {
		return c
	}
	return nil
}

func (c *runCtx) currentTerm() Term { return c.lease.load().term }

// cancel ends the context with cause (the first cause wins). Err returns
// context.Canceled wrapped with the cause, so errors.Is(err,
// context.Canceled) holds as for any cancelled context.
func (c *runCtx) cancel(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = &canceled{cause: cause}
	close(c.done)
}

var _ context.Context = (*runCtx)(nil)

// canceled is a run context's error: context.Canceled, and why.
type canceled struct{ cause error }

func (e *canceled) Error() string   { return "context canceled: " + e.cause.Error() }
func (e *canceled) Unwrap() []error { return []error{context.Canceled, e.cause} }

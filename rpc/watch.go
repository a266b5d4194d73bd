package rpc

import (
	"context"
	"sync/atomic"
	"time"
)

const (
	// watchPeriod is how often the watchdog looks at handlers running on
	// their connection's reader: one still running at two looks in a row,
	// that is after watchPeriod to twice that, loses the reading role.
	watchPeriod = time.Millisecond
	// watchQuiet is how many looks without a new inline run put the
	// watchdog to sleep until the next one.
	watchQuiet = 100
)

// The reader of an accepted connection runs the handler of a request
// itself, inline, when nothing else of the peer's is running or has
// arrived: handing the request to a new goroutine wakes another thread,
// which on a loopback round trip costs as much as the caller reading its
// own reply saves (see the package documentation). Meanwhile nobody reads
// the connection, so the endpoint's watchdog gives the reading role to a
// new reader goroutine when such a handler (or the sending of its answer)
// runs long. Frames behind a slow inline handler, a cancel for it
// included, thus wait at most twice watchPeriod; handlers still run
// concurrently.
//
// The watchdog sleeps when nothing has run inline for watchQuiet periods.
// A reader that starts an inline run while it sleeps wakes it; the reader
// publishes its run before it looks whether the watchdog is awake, and the
// watchdog marks itself asleep before it looks for runs, so one of the two
// sees the other.
type watchdog struct {
	awake  atomic.Bool
	starts atomic.Uint64 // inline runs started so far
	wake   chan struct{} // capacity 1
}

// serveInline runs a handler on the reader goroutine of c and reports
// whether that goroutine still holds the reading role afterwards.
func (c *conn) serveInline(ctx context.Context, cancel context.CancelFunc, h *handlerEntry, f frame) bool {
	c.run++
	n := c.run
	c.inline.Store(n)
	w := &c.e.watch
	w.starts.Add(1)
	if !w.awake.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	c.serve(ctx, cancel, h, f)
	// Fails when the watchdog took the role over: run numbers are unique.
	return c.inline.CompareAndSwap(n, 0)
}

// watchLoop is the watchdog's goroutine; it ends when the endpoint closes.
func (e *Endpoint) watchLoop() {
	defer e.wg.Done()
	w := &e.watch
	tick := time.NewTicker(watchPeriod)
	defer tick.Stop()
	var seen uint64
	quiet := watchQuiet // asleep until the first inline run
	for {
		if quiet >= watchQuiet {
			w.awake.Store(false)
			if !e.takeOverSlowReaders() {
				tick.Stop()
				select {
				case <-w.wake:
				case <-e.ctx.Done():
					return
				}
				tick.Reset(watchPeriod)
			}
			w.awake.Store(true)
			quiet = 0
		}
		select {
		case <-tick.C:
		case <-e.ctx.Done():
			return
		}
		e.takeOverSlowReaders()
		if s := w.starts.Load(); s != seen {
			seen, quiet = s, 0
		} else {
			quiet++
		}
	}
}

// takeOverSlowReaders starts a new reader for every connection whose
// reader has been running the same handler since the previous look, and
// reports whether any handler runs inline.
func (e *Endpoint) takeOverSlowReaders() (running bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for c := range e.conns {
		n := c.inline.Load()
		if n != 0 && n == c.watched && c.inline.CompareAndSwap(n, 0) {
			// The counter cannot be zero: this goroutine is counted.
			e.wg.Add(1)
			go c.readLoop()
			n = 0
		}
		c.watched = n
		running = running || n != 0
	}
	return running
}

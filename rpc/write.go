package rpc

import (
	"errors"
	"runtime"
	"sync"
)

var (
	errQueueClosed = errors.New("rpc: connection closed")
	// errGaveUp is returned by send when its caller's stop channel closed.
	errGaveUp = errors.New("rpc: gave up waiting to send")
	// errNotReading is the cause given to a connection whose peer keeps
	// sending requests without reading the answers.
	errNotReading = errors.New("rpc: peer does not read its answers")
)

// writeQueue batches frames for one connection. Senders append whole frames
// to a shared buffer under a mutex; the connection's single writer takes the
// whole buffer at once and writes it with one call, so frames queued while a
// write is in progress leave together (one syscall and, with TLS, one
// record for many small frames). The spare buffer is swapped in for reuse.
type writeQueue struct {
	signal chan struct{} // capacity 1: the writer's wake-up

	mu       sync.Mutex
	buf      []byte
	signaled bool          // a wake-up is outstanding
	room     chan struct{} // closed when the writer takes the buffer; nil when nobody waits
	closed   bool

	spare []byte // touched only by the writer
}

func (q *writeQueue) init() { q.signal = make(chan struct{}, 1) }

// send appends a frame built by build. Unless control is set, it first
// waits while more than writeHighWater bytes are queued, until the writer
// catches up, stop (the caller's context, may be nil) or done (the
// connection's) is closed. Control frames,
// queued by the reader, never wait; past controlLimit they fail instead.
func (q *writeQueue) send(stop, done <-chan struct{}, control bool, build func([]byte) []byte) error {
	q.mu.Lock()
	for !control && !q.closed && len(q.buf) >= writeHighWater {
		if q.room == nil {
			q.room = make(chan struct{})
		}
		room := q.room
		q.mu.Unlock()
		select {
		case <-room:
		case <-done:
			return errQueueClosed
		case <-stop:
			return errGaveUp
		}
		q.mu.Lock()
	}
	if q.closed {
		q.mu.Unlock()
		return errQueueClosed
	}
	if control && len(q.buf) >= controlLimit {
		q.mu.Unlock()
		return errNotReading
	}
	q.buf = build(q.buf)
	wake := !q.signaled
	q.signaled = true
	q.mu.Unlock()
	if wake {
		q.signal <- struct{}{} // never blocks: one token at most, see signaled
	}
	return nil
}

// take hands the queued frames to the writer and releases waiting senders.
func (q *writeQueue) take() []byte {
	q.mu.Lock()
	b := q.buf
	q.buf, q.spare = q.spare[:0], nil
	q.signaled = false
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	q.mu.Unlock()
	return b
}

// recycle keeps a written buffer for the next take, unless it grew large.
func (q *writeQueue) recycle(b []byte) {
	if cap(b) <= maxSpareBuffer {
		q.spare = b[:0]
	}
}

// close makes every later send fail.
func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.buf = nil
	q.mu.Unlock()
}

func (c *conn) writeLoop() {
	defer c.e.wg.Done()
	for {
		select {
		case <-c.w.signal:
		case <-c.done:
			return
		}
		if c.busy() {
			// Other calls or handlers are active on this connection: let
			// the goroutines ready to run queue their frames first, so
			// that they leave in this write rather than one write each.
			// This yield is what makes batching happen under load; a lone
			// call does not pay it.
			runtime.Gosched()
		}
		b := c.w.take()
		if _, err := c.nc.Write(b); err != nil {
			c.fail(err)
			return
		}
		c.w.recycle(b)
	}
}

// busy reports whether more frames are likely to be queued soon: handlers
// are running for the peer, or more than one of our calls is waiting.
func (c *conn) busy() bool {
	if c.inFlight.Load() > 0 {
		return true
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	return n > 1
}

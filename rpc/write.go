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

// writeQueue orders the frames of one connection onto its net.Conn. Senders
// append whole frames to a shared buffer under a mutex. One goroutine at a
// time holds the writing role and writes the whole buffer with one call:
//
//   - A caller or handler that queues a frame while the connection is
//     otherwise idle (no other call pending, no handler running) and nobody
//     writes takes the role and writes at once, on its own goroutine. A
//     lone call therefore reaches the socket without waking another
//     goroutine, and so does its answer (its handler runs on the reader,
//     see watch.go): a hand-off each way is a large share of a loopback
//     round trip.
//   - On a busy connection, frames are left to the connection's writer
//     goroutine, which yields once so that the senders ready to run queue
//     theirs, then writes them together (one syscall and, with TLS, one
//     record for many small frames). Frames queued while an inline write
//     is in progress are handed to it too.
//   - Control frames (errors the reader answers with, cancels a caller
//     sends while it may hold the read role) never write inline: reading
//     must not wait on the socket. They wake the writer goroutine.
type writeQueue struct {
	signal chan struct{} // capacity 1: the writer goroutine's wake-up

	mu       sync.Mutex
	buf      []byte
	writing  bool          // a goroutine holds the writing role
	signaled bool          // a wake-up is outstanding
	room     chan struct{} // closed when a writer takes the buffer; nil when nobody waits
	closed   bool
	// queued counts the bytes ever queued: frames are written in the
	// order they are queued, so a frame whose end is at or below the
	// connection's written count has left (see conn.written).
	queued uint64

	spare []byte // touched only under mu
}

func (q *writeQueue) init() { q.signal = make(chan struct{}, 1) }

// send appends a frame built by build. Unless control is set, it first
// waits while more than writeHighWater bytes are queued, until a writer
// catches up, stop (the caller's context, may be nil) or done (the
// connection's) is closed. Control frames never wait; past controlLimit
// they fail instead.
//
// When inline is set, no write is in progress and the frame is not a
// control frame, send returns the queued frames and the caller holds the
// writing role: it must write them and then call finish. Otherwise the
// frame waits for the write in progress or wakes the writer goroutine.
func (q *writeQueue) send(stop, done <-chan struct{}, control, inline bool, build func([]byte) []byte) ([]byte, error) {
	return q.sendAt(stop, done, control, inline, build, nil)
}

// sendAt is send that also hands queued, under the queue's lock (before
// any writer can take the frame), where the frame ends in the stream of
// bytes queued on the connection (see conn.sent). Told after the frame
// was queued, a caller could see its call failed as not sent while the
// peer already ran it: the frame may be written inline, by the writer
// goroutine, or after the write in progress, before sendAt returns.
func (q *writeQueue) sendAt(stop, done <-chan struct{}, control, inline bool, build func([]byte) []byte, queued func(end uint64)) ([]byte, error) {
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
			return nil, errQueueClosed
		case <-stop:
			return nil, errGaveUp
		}
		q.mu.Lock()
	}
	if q.closed {
		q.mu.Unlock()
		return nil, errQueueClosed
	}
	if control && len(q.buf) >= controlLimit {
		q.mu.Unlock()
		return nil, errNotReading
	}
	before := len(q.buf)
	q.buf = build(q.buf)
	q.queued += uint64(len(q.buf) - before)
	if queued != nil {
		queued(q.queued)
	}
	var (
		mine []byte
		wake bool
	)
	switch {
	case q.writing:
		// The write in progress is followed by this frame (see finish).
	case control || !inline:
		wake = q.wakeLocked()
	default:
		q.writing = true
		mine = q.takeLocked()
	}
	q.mu.Unlock()
	if wake {
		q.signal <- struct{}{} // never blocks: one token at most, see signaled
	}
	return mine, nil
}

// wakeLocked reports whether the caller must send the writer goroutine its
// wake-up token, and records that it is outstanding.
func (q *writeQueue) wakeLocked() bool {
	if q.signaled {
		return false
	}
	q.signaled = true
	return true
}

// claim gives the writer goroutine the writing role and the queued frames;
// nil when another goroutine is writing or nothing is queued.
func (q *writeQueue) claim() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.signaled = false
	if q.writing || len(q.buf) == 0 {
		return nil
	}
	q.writing = true
	return q.takeLocked()
}

// more adds what was queued since claim to b, for a writer goroutine that
// yielded to let other senders queue first, and releases waiting senders.
func (q *writeQueue) more(b []byte) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.buf) == 0 {
		return b
	}
	b = append(b, q.buf...)
	q.buf = q.buf[:0]
	q.releaseLocked()
	return b
}

// takeLocked hands the queued frames to the writer and releases waiting
// senders.
func (q *writeQueue) takeLocked() []byte {
	b := q.buf
	q.buf, q.spare = q.spare[:0], nil
	q.releaseLocked()
	return b
}

// releaseLocked wakes the senders waiting for the queue to shrink.
func (q *writeQueue) releaseLocked() {
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
}

// finish ends a write of b: it keeps b for reuse unless it grew large,
// gives up the writing role and wakes the writer goroutine when frames were
// queued meanwhile.
func (q *writeQueue) finish(b []byte) {
	q.mu.Lock()
	if cap(b) <= maxSpareBuffer && q.spare == nil && !q.closed {
		q.spare = b[:0]
	}
	q.writing = false
	wake := len(q.buf) > 0 && q.wakeLocked()
	q.mu.Unlock()
	if wake {
		q.signal <- struct{}{}
	}
}

// close makes every later send fail.
func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.buf = nil
	q.mu.Unlock()
}

// send queues a frame on the connection and, when the connection is idle,
// writes it at once on the calling goroutine. See writeQueue.send for stop
// and control.
func (c *conn) send(stop <-chan struct{}, control bool, build func([]byte) []byte) error {
	return c.sendAt(stop, control, build, nil)
}

// sendAt is send that also hands queued where the frame ends in the
// stream of bytes queued on the connection, before it can be written (see
// writeQueue.sendAt).
func (c *conn) sendAt(stop <-chan struct{}, control bool, build func([]byte) []byte, queued func(end uint64)) error {
	b, err := c.w.sendAt(stop, c.done, control, !control && !c.busy(), build, queued)
	if b != nil {
		c.write(b)
	}
	return err
}

// write writes b, which the calling goroutine holds the writing role for,
// and ends the role. A failed write fails the connection. The bytes count
// as written before the write: the peer may receive them and act on them
// before Write returns here.
func (c *conn) write(b []byte) {
	c.written.Add(uint64(len(b)))
	_, err := c.nc.Write(b)
	if err != nil {
		c.fail(err)
	}
	c.w.finish(b)
}

// sent reports whether the frame ending at end was handed to the
// connection in full: its peer may have received it. A frame whose write
// failed part way counts as sent: a call is said not sent only when it
// certainly did not run.
func (c *conn) sent(end uint64) bool { return end > 0 && end <= c.written.Load() }

func (c *conn) writeLoop() {
	defer c.e.wg.Done()
	for {
		select {
		case <-c.w.signal:
		case <-c.done:
			return
		}
		b := c.w.claim()
		if b == nil {
			continue
		}
		if c.busy() {
			// Other calls or handlers are active on this connection: let
			// the goroutines ready to run queue their frames first, so
			// that they leave in this write rather than one write each.
			runtime.Gosched()
			b = c.w.more(b)
		}
		c.write(b)
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

package memnet

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is one end of a stream: a net.Conn reading from one pipe and
// writing to the other.
type conn struct {
	owner         *host
	local, remote netip.AddrPort
	rd, wr        *pipe
	rdl, wdl      deadline
	closed        atomic.Bool
}

var _ net.Conn = (*conn)(nil)

// newConnPair returns the two ends of a new stream from client to server.
func newConnPair(n *Network, client, server *host) (*conn, *conn) {
	up := newPipe(n, client.addr, server.addr)
	down := newPipe(n, server.addr, client.addr)
	c := &conn{owner: client, local: client.addr, remote: server.addr, rd: down, wr: up}
	s := &conn{owner: server, local: server.addr, remote: client.addr, rd: up, wr: down}
	c.rdl.init()
	c.wdl.init()
	s.rdl.init()
	s.wdl.init()
	return c, s
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: tcpAddr(c.local), Addr: tcpAddr(c.remote), Err: err}
}

// Read reads bytes that have arrived. It blocks until some have, the peer
// has closed its end and every byte it sent before has been read
// (io.EOF), the read deadline passes, or c is closed.
func (c *conn) Read(b []byte) (int, error) {
	p := c.rd
	for {
		p.mu.Lock()
		if p.rclosed {
			p.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		}
		if c.rdl.expired() {
			p.mu.Unlock()
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		if len(b) == 0 {
			p.mu.Unlock()
			return 0, nil
		}
		f := p.net.state.Load()
		n, eof, wait := p.readLocked(b, f, time.Now())
		if n > 0 {
			p.wakeLocked()
			p.mu.Unlock()
			return n, nil
		}
		if eof {
			p.mu.Unlock()
			return 0, io.EOF
		}
		changed := p.changed
		p.mu.Unlock()
		var timer *time.Timer
		var due <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			due = timer.C
		}
		select {
		case <-changed:
		case <-f.changed:
		case <-c.rdl.wait():
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// Write writes b, blocking while the stream's buffer is full (the peer
// does not read, or a fault holds the bytes). It fails when c is closed,
// when the peer has closed its end, or when the write deadline passes;
// it then returns how many bytes were taken.
func (c *conn) Write(b []byte) (int, error) {
	p := c.wr
	written := 0
	for {
		p.mu.Lock()
		if p.wclosed {
			p.mu.Unlock()
			return written, c.opError("write", net.ErrClosed)
		}
		if p.rclosed {
			p.mu.Unlock()
			return written, c.opError("write", os.NewSyscallError("write", syscall.ECONNRESET))
		}
		if c.wdl.expired() {
			p.mu.Unlock()
			return written, c.opError("write", os.ErrDeadlineExceeded)
		}
		if written == len(b) {
			p.mu.Unlock()
			return written, nil
		}
		if free := StreamBuffer - p.size; free > 0 {
			k := min(free, len(b)-written)
			p.pushLocked(b[written:written+k], false, p.net.state.Load(), time.Now())
			written += k
			p.wakeLocked()
			p.mu.Unlock()
			continue
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-c.wdl.wait():
		}
	}
}

// Close closes c. The peer reads every byte c wrote (once the path
// allows), then io.EOF; the peer's writes fail from now on. Bytes sent to
// c and not yet read are discarded.
func (c *conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.opError("close", net.ErrClosed)
	}
	w := c.wr
	w.mu.Lock()
	w.wclosed = true
	if !w.rclosed {
		w.pushLocked(nil, true, w.net.state.Load(), time.Now())
	}
	w.wakeLocked()
	w.mu.Unlock()

	r := c.rd
	r.mu.Lock()
	r.rclosed = true
	r.chunks, r.size, r.stamped = nil, 0, 0
	r.wakeLocked()
	r.mu.Unlock()

	c.rdl.set(time.Time{})
	c.wdl.set(time.Time{})
	c.owner.untrack(c)
	return nil
}

// LocalAddr returns this end's address, a *net.TCPAddr.
func (c *conn) LocalAddr() net.Addr { return tcpAddr(c.local) }

// RemoteAddr returns the peer's address, a *net.TCPAddr.
func (c *conn) RemoteAddr() net.Addr { return tcpAddr(c.remote) }

// SetDeadline sets the read and write deadlines.
func (c *conn) SetDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; it applies to a Read already
// blocked too. The zero time clears it.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline; it applies to a Write already
// blocked too. The zero time clears it.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	c.wdl.set(t)
	return nil
}

// pipe is one direction of a stream: the bytes written at from and not
// yet read at to, in order. A chunk is stamped with its arrival time when
// it is sent over an open path; a chunk written while the path is cut
// stays unstamped (held, as TCP holds unacknowledged bytes) until a read,
// a write or a close finds the path open again.
type pipe struct {
	net      *Network
	from, to netip.AddrPort

	mu      sync.Mutex
	chunks  []chunk // oldest first
	stamped int     // chunks[:stamped] are sent, chunks[stamped:] held
	last    time.Time
	size    int  // bytes in chunks
	wclosed bool // the writing end closed: a FIN chunk ends chunks
	rclosed bool // the reading end closed: writes fail
	changed chan struct{}
}

// chunk is bytes written at once, or the end of the stream (fin).
type chunk struct {
	data    []byte
	written time.Time
	due     time.Time // when it arrives; set when stamped
	fin     bool
}

func newPipe(n *Network, from, to netip.AddrPort) *pipe {
	return &pipe{net: n, from: from, to: to, changed: make(chan struct{})}
}

// wakeLocked wakes every Read and Write waiting on p.
func (p *pipe) wakeLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// stampLocked sends the held chunks if the path is open under f. They
// leave when the path opened (f.at) or when written, whichever is later,
// and never arrive before a chunk sent earlier.
func (p *pipe) stampLocked(f *faults, now time.Time) {
	if p.stamped == len(p.chunks) || !f.open(p.from, p.to) {
		return
	}
	d := p.net.delayFor(f, p.from, p.to)
	for i := p.stamped; i < len(p.chunks); i++ {
		c := &p.chunks[i]
		sent := c.written
		if f.at.After(sent) {
			sent = f.at
		}
		c.due = later(sent.Add(d), p.last)
		p.last = c.due
	}
	p.stamped = len(p.chunks)
}

// pushLocked appends data (or a FIN) written now under fault state f.
func (p *pipe) pushLocked(data []byte, fin bool, f *faults, now time.Time) {
	p.stampLocked(f, now)
	held := p.stamped < len(p.chunks) || !f.open(p.from, p.to)
	var due time.Time
	if !held {
		due = later(now.Add(p.net.delayFor(f, p.from, p.to)), p.last)
	}
	p.size += len(data)
	if n := len(p.chunks); n > 0 && !fin && !p.chunks[n-1].fin {
		// Coalesce with the last chunk when both are held, or both have
		// arrived, so that many small writes cost few chunks.
		last := &p.chunks[n-1]
		if held && p.stamped < n || !held && !due.After(now) {
			last.data = append(last.data, data...)
			return
		}
	}
	p.chunks = append(p.chunks, chunk{data: append([]byte(nil), data...), written: now, due: due, fin: fin})
	if !held {
		p.last = due
		p.stamped = len(p.chunks)
	}
}

// readLocked copies arrived bytes into b. It reports how many, whether the
// stream ended instead, and how long until the next chunk arrives (0 when
// nothing is on its way).
func (p *pipe) readLocked(b []byte, f *faults, now time.Time) (n int, eof bool, wait time.Duration) {
	p.stampLocked(f, now)
	if f.isPaused(p.to) {
		return 0, false, 0
	}
	for n < len(b) && p.stamped > 0 {
		c := &p.chunks[0]
		if c.due.After(now) {
			if n == 0 {
				wait = c.due.Sub(now)
			}
			break
		}
		if c.fin {
			return n, n == 0, 0
		}
		k := copy(b[n:], c.data)
		n += k
		p.size -= k
		c.data = c.data[k:]
		if len(c.data) == 0 {
			p.chunks[0] = chunk{}
			p.chunks = p.chunks[1:]
			p.stamped--
			if len(p.chunks) == 0 {
				p.chunks = nil
			}
		}
	}
	return n, false, wait
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// deadline is a settable deadline whose passing closes a channel, so that
// a blocked Read or Write wakes when it passes, however often it moves.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	done  chan struct{} // closed when the deadline has passed
}

func (d *deadline) init() { d.done = make(chan struct{}) }

// set moves the deadline to t; the zero time clears it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.done // the timer fired: wait until it has closed done
	}
	d.timer = nil
	passed := isClosed(d.done)
	if t.IsZero() {
		if passed {
			d.done = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if passed {
			d.done = make(chan struct{})
		}
		done := d.done
		d.timer = time.AfterFunc(dur, func() { close(done) })
		return
	}
	if !passed {
		close(d.done)
	}
}

// wait returns a channel closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.done
}

// expired reports whether the deadline has passed.
func (d *deadline) expired() bool { return isClosed(d.wait()) }

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// timeoutError is a dial's error when its context's deadline passed: a
// net.Error whose Timeout is true, matching os.ErrDeadlineExceeded and
// context.DeadlineExceeded.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Unwrap() []error {
	return []error{os.ErrDeadlineExceeded, context.DeadlineExceeded}
}

// ctxError is the error a dial ended by its context reports.
func ctxError(err error) error {
	if err == context.DeadlineExceeded {
		return timeoutError{}
	}
	return err
}

package rpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// A dialled connection carries this endpoint's requests and casts, and the
// peer's answers to its requests. It has no reader goroutine: reading it is
// a role held by at most one waiting caller at a time. A caller whose
// request has been sent takes the role when it is free, reads frames,
// hands the other callers their answers, and gives the role up once its
// own answer has come: to another waiting caller, or to nobody when no call
// is pending (the peer sends nothing unasked on a dialled connection). A
// lone caller thus reads its reply from the socket itself instead of being
// woken by a reader goroutine; see the package documentation for why.

// call sends a request and waits for its answer, ctx's end, or the
// connection's.
func (c *conn) call(ctx context.Context, name string, body []byte) ([]byte, error) {
	var timeout uint64
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		timeout = max(uint64(left/time.Microsecond), 1)
	}
	cl := getCall()
	c.mu.Lock()
	if c.retired {
		c.mu.Unlock()
		putCall(cl)
		return nil, errRetired
	}
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		putCall(cl)
		return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	if len(c.pending) >= c.e.cfg.MaxPendingPerConn {
		c.mu.Unlock()
		putCall(cl)
		c.e.stats.overloaded.Add(1)
		return nil, fmt.Errorf("%w: %d calls pending to %s", ErrOverloaded, c.e.cfg.MaxPendingPerConn, c.name())
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = cl
	c.mu.Unlock()
	c.lastUsed.Store(c.e.now().UnixNano())

	err := c.sendAt(ctx.Done(), false, func(b []byte) []byte {
		return appendRequest(b, id, name, timeout, body)
	}, func(end uint64) { cl.end.Store(end) })
	if err != nil {
		if c.forget(id) {
			putCall(cl)
			if err == errGaveUp {
				return nil, ctx.Err()
			}
			return nil, c.sendErr(err)
		}
		r := <-cl.ch // fail delivered first
		putCall(cl)
		return nil, r.err
	}
	return c.wait(ctx, id, cl)
}

// wait waits for the answer to request id, holding the read role when it
// is free or handed over, else on cl's channel.
func (c *conn) wait(ctx context.Context, id uint64, cl *call) ([]byte, error) {
	c.mu.Lock()
	lead := !c.reading
	c.reading = true
	c.mu.Unlock()
	for !lead {
		select {
		case r := <-cl.ch:
			return answer(ctx, cl, r)
		case <-c.turn:
			lead = true
		case <-ctx.Done():
			return c.withdraw(ctx, id, cl, false)
		}
	}
	r, ok := c.lead(ctx, id, cl)
	if !ok {
		return c.withdraw(ctx, id, cl, true)
	}
	c.passRole()
	return answer(ctx, cl, r)
}

// answer returns a call's result and recycles the call.
func answer(ctx context.Context, cl *call, r result) ([]byte, error) {
	putCall(cl)
	if r.err != nil {
		if err := expired(ctx); err != nil {
			// The remote handler's deadline is the caller's: when both
			// have passed, the caller's is the cause to report.
			return nil, err
		}
	}
	return r.body, r.err
}

// withdraw ends request id, whose caller's context ended, and passes the
// read role on if the caller holds it. A deadline ends the remote handler's
// context by itself (it travelled with the request); a cancellation is
// sent.
func (c *conn) withdraw(ctx context.Context, id uint64, cl *call, holding bool) ([]byte, error) {
	gone := c.forget(id)
	if holding {
		c.passRole()
	}
	if !gone {
		return answer(ctx, cl, <-cl.ch) // the answer, or the failure, came meanwhile
	}
	putCall(cl)
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		_ = c.send(nil, true, func(b []byte) []byte { return appendCancel(b, id) })
	}
	return nil, ctx.Err()
}

// lead reads the connection for the caller of request id, which holds the
// read role, until the request's answer has come (ok) or ctx ends (not ok;
// the request is still pending). Answers to other requests go to their
// callers. A read error fails the connection, and with it the request.
//
// ctx's end interrupts a blocked read through the read deadline, which
// takes effect only between frames (see frameConn): a frame is never left
// half read.
func (c *conn) lead(ctx context.Context, id uint64, cl *call) (result, bool) {
	c.mu.Lock()
	_, mine := c.pending[id]
	c.mu.Unlock()
	if !mine {
		// Answered before the role reached this caller: by the previous
		// holder, or by fail.
		return <-cl.ch, true
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, c.interruptRead)
		defer stop()
	}
	for {
		if ctx.Err() != nil {
			return result{}, false
		}
		if _, err := c.br.Peek(1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// ctx ended, or an interrupt meant for an earlier holder
				// came late. Clear the deadline before checking ctx, so
				// that an interrupt after the check still takes effect.
				_ = c.nc.SetReadDeadline(time.Time{})
				continue
			}
			c.readFailed(err)
			return <-cl.ch, true
		}
		f, err := c.readAnswer()
		if err != nil {
			c.readFailed(err)
			return <-cl.ch, true
		}
		c.complete(f)
		if f.id == id {
			c.drain()
			return <-cl.ch, true
		}
	}
}

// interruptRead makes a blocked read of the connection return; see lead.
func (c *conn) interruptRead() { _ = c.nc.SetReadDeadline(time.Unix(1, 0)) }

// readAnswer reads one frame, whose first byte has arrived, from a dialled
// connection: only replies and errors may come.
func (c *conn) readAnswer() (frame, error) {
	c.nc.inFrame = true
	f, err := readFrame(c.br, c.maxBody)
	c.nc.inFrame = false
	if err == nil && f.typ != frameReply && f.typ != frameError {
		err = protocolErr("frame type %d on a dialled connection", f.typ)
	}
	return f, err
}

// drain hands out the answers already buffered in full, which takes no
// read from the connection, so that their callers need not take the role.
func (c *conn) drain() {
	for {
		n := c.br.Buffered()
		if n < headerSize {
			return
		}
		hdr, _ := c.br.Peek(headerSize)
		if uint64(n) < headerSize+uint64(binary.BigEndian.Uint32(hdr[2:6])) {
			return
		}
		f, err := c.readAnswer()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.complete(f)
	}
}

// passRole gives up the read role: to a waiting caller when calls are
// pending, else to nobody. The token is sent outside the lock; turn is
// empty then, since nobody else holds the role or its token.
func (c *conn) passRole() {
	c.mu.Lock()
	pass := len(c.pending) > 0
	c.reading = pass
	c.mu.Unlock()
	if pass {
		c.turn <- struct{}{}
	}
}

// complete hands an answer to the call waiting for it. An answer for a call
// that is no longer pending (its caller gave up) is dropped.
func (c *conn) complete(f frame) {
	c.mu.Lock()
	cl := c.pending[f.id]
	delete(c.pending, f.id)
	c.mu.Unlock()
	if cl == nil {
		return
	}
	var r result
	switch {
	case f.oversize:
		c.e.stats.tooLarge.Add(1)
		r.err = fmt.Errorf("%w: reply from %s above %d bytes", ErrTooLarge, c.name(), c.maxBody)
	case f.typ == frameReply:
		r.body = f.body
	default:
		r.err = c.remoteErr(f.code, string(f.body))
	}
	cl.ch <- r
}

func (c *conn) remoteErr(code errCode, msg string) error {
	switch code {
	case codeHandler:
		return &RemoteError{Node: c.name(), Message: msg}
	case codeRegistered:
		name, text, ok := splitRegisteredMessage(msg)
		if !ok {
			return &RemoteError{Node: c.name(), Message: msg}
		}
		return &RemoteError{Node: c.name(), Message: text, Name: name, err: registered(name)}
	case codeNoHandler:
		return fmt.Errorf("%w: %s on %s", ErrNoHandler, msg, c.name())
	case codeOverloaded:
		return fmt.Errorf("%w: %s on %s", ErrOverloaded, msg, c.name())
	case codeTooLarge:
		return fmt.Errorf("%w: %s on %s", ErrTooLarge, msg, c.name())
	default: // a later build's code: its text is all this one can show
		return &RemoteError{Node: c.name(), Message: msg}
	}
}

// expired returns ctx's error, or DeadlineExceeded when its deadline has
// passed but its timer has not fired yet.
func expired(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// sendErr turns a queueing failure into the error a caller sees.
func (c *conn) sendErr(err error) error {
	if errors.Is(err, errQueueClosed) {
		return c.closedErr()
	}
	return err
}

// forget removes a pending call; false when an answer or a failure already
// took it and is about to be delivered on its channel.
func (c *conn) forget(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pending[id]; !ok {
		return false
	}
	delete(c.pending, id)
	return true
}

// closedChan is a closed channel: a send that must not wait passes it as
// its stop channel.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// idleSince reports whether this dialled connection has carried no call
// for longer than maxIdle (never, for maxIdle 0 or less).
func (c *conn) idleSince(now time.Time, maxIdle time.Duration) bool {
	return maxIdle > 0 && c.dialled && now.Sub(time.Unix(0, c.lastUsed.Load())) > maxIdle
}

// retire takes an idle connection out of use when no call is pending on
// it: later calls that still hold it get errRetired and look again.
func (c *conn) retire() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 || c.err != nil {
		return false
	}
	c.retired = true
	return true
}

// cast queues a one-way message. It never waits: when the connection's
// queue is over its high-water mark the cast fails with ErrOverloaded.
func (c *conn) cast(name string, body []byte) error {
	err := c.send(closedChan, false, func(b []byte) []byte { return appendCast(b, name, body) })
	if err == errGaveUp {
		c.e.stats.overloaded.Add(1)
		return fmt.Errorf("%w: send queue to %s full", ErrOverloaded, c.name())
	}
	return c.sendErr(err)
}

// result is the answer to a call.
type result struct {
	body []byte
	err  error
}

// call is a pending request. Its channel receives exactly one result, from
// whoever removed it from the pending map (the role holder or fail).
type call struct {
	ch  chan result
	end atomic.Uint64 // where the request ends in the connection's bytes; 0 until queued
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan result, 1)} }}

func getCall() *call {
	cl := callPool.Get().(*call)
	cl.end.Store(0)
	return cl
}
func putCall(cl *call) { callPool.Put(cl) }

// frameConn is a secured connection whose read deadline interrupts a read
// only between frames. While the role holder of a dialled connection reads
// a frame it sets inFrame; a timeout then clears the deadline and the read
// goes on, and the holder looks at its context again at the next frame
// boundary. crypto/tls treats a timeout as temporary and keeps a partly
// read record for the next read. On an accepted connection inFrame stays
// false and timeouts pass through, as they do during the handshake.
type frameConn struct {
	net.Conn
	inFrame bool // touched only by the goroutine reading
}

func (fc *frameConn) Read(p []byte) (int, error) {
	for {
		n, err := fc.Conn.Read(p)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if n > 0 {
			return n, nil // the next read times out again
		}
		if !fc.inFrame {
			return 0, err
		}
		_ = fc.Conn.SetReadDeadline(time.Time{})
	}
}

package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

const (
	readBufferSize = 64 << 10
	// writeHighWater is the size of queued frames above which callers and
	// handlers wait for the writer before queueing more.
	writeHighWater = 256 << 10
	// controlLimit is the queue size above which the reader gives up on a
	// peer that sends requests but does not read the answers: the reader
	// never waits for the writer (both peers' readers waiting would
	// deadlock), so frames it queues bypass the high-water mark up to this.
	controlLimit = 4 << 20
	// maxSpareBuffer is the largest write buffer kept for reuse.
	maxSpareBuffer = 1 << 20
)

// conn is one call connection with a peer. Either side may send requests
// and casts on it; each side numbers its own requests, and replies, errors
// and cancels refer to the numbering of the side that sent the request.
//
// It owns two goroutines, a reader and a writer, and one per running
// handler, all counted in the endpoint's WaitGroup. fail stops them all.
type conn struct {
	e       *Endpoint
	nc      net.Conn
	br      *bufio.Reader
	peer    string // the peer's ID from its hello; may be empty
	addr    netip.AddrPort
	maxBody int

	// ctx is the parent of handler contexts; cancelled by fail.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed by fail

	mu      sync.Mutex
	err     error                         // why the connection ended, set once by fail
	nextID  uint64                        // last request id this side used
	pending map[uint64]*call              // our requests awaiting an answer
	serving map[uint64]context.CancelFunc // the peer's requests being handled

	inFlight atomic.Int64 // handlers running for this connection

	w writeQueue
}

func newConn(e *Endpoint, nc net.Conn, br *bufio.Reader, peer string, addr netip.AddrPort) *conn {
	ctx, cancel := context.WithCancel(e.ctx)
	c := &conn{
		e: e, nc: nc, br: br, peer: peer, addr: addr, maxBody: e.cfg.MaxMessageSize,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		pending: map[uint64]*call{},
		serving: map[uint64]context.CancelFunc{},
	}
	c.w.init()
	return c
}

// start launches the reader and the writer.
func (c *conn) start() {
	c.e.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
}

// fail closes the connection once, for the given cause: pending calls fail
// at once with an error matching ErrNodeDown (or ErrClosed when the
// endpoint closes), running handlers are cancelled, and the goroutines end.
func (c *conn) fail(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if !errors.Is(cause, ErrNodeDown) && !errors.Is(cause, ErrClosed) {
		cause = fmt.Errorf("%w: connection to %s broke: %w", ErrNodeDown, c.name(), cause)
	}
	c.err = cause
	pending := c.pending
	c.pending, c.serving = nil, nil
	c.mu.Unlock()

	// Nothing is written once fail has begun, not even the answers of the
	// handlers it is about to cancel.
	c.w.close()
	c.nc.Close()
	close(c.done)
	c.cancel()
	for _, cl := range pending {
		cl.ch <- result{err: cause}
	}
	c.e.forgetConn(c)
}

// closedErr is the error operations on a failed connection return.
func (c *conn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *conn) name() string {
	if c.peer != "" {
		return c.peer
	}
	return c.addr.String()
}

func (c *conn) readLoop() {
	defer c.e.wg.Done()
	for {
		f, err := readFrame(c.br, c.maxBody)
		if err == nil {
			err = c.handle(f)
		}
		if err != nil {
			if errors.Is(err, ErrProtocol) {
				c.e.stats.protocolErrors.Add(1)
			}
			c.fail(err)
			return
		}
	}
}

func (c *conn) handle(f frame) error {
	switch f.typ {
	case frameReply, frameError:
		c.complete(f)
		return nil
	case frameRequest, frameCast:
		return c.e.dispatch(c, f)
	case frameCancel:
		c.mu.Lock()
		cancel := c.serving[f.id]
		delete(c.serving, f.id)
		c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		return nil
	default:
		return protocolErr("frame type %d after hello", f.typ)
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
	case codeNoHandler:
		return fmt.Errorf("%w: %s on %s", ErrNoHandler, msg, c.name())
	case codeOverloaded:
		return fmt.Errorf("%w: %s on %s", ErrOverloaded, msg, c.name())
	default: // codeTooLarge
		return fmt.Errorf("%w: %s on %s", ErrTooLarge, msg, c.name())
	}
}

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
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		putCall(cl)
		return nil, err
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

	err := c.send(ctx.Done(), false, func(b []byte) []byte {
		return appendRequest(b, id, name, timeout, body)
	})
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
	select {
	case r := <-cl.ch:
		putCall(cl)
		if r.err != nil {
			if err := expired(ctx); err != nil {
				// The remote handler's deadline is the caller's: when
				// both have passed, the caller's is the cause to report.
				return nil, err
			}
		}
		return r.body, r.err
	case <-ctx.Done():
		if c.forget(id) {
			putCall(cl)
			// A deadline ends the remote handler's context by itself (it
			// travelled with the request); a cancellation must be sent.
			if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
				_ = c.send(nil, true, func(b []byte) []byte { return appendCancel(b, id) })
			}
			return nil, ctx.Err()
		}
		r := <-cl.ch // the answer arrived meanwhile
		putCall(cl)
		return r.body, r.err
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
// whoever removed it from the pending map (the reader or fail).
type call struct{ ch chan result }

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan result, 1)} }}

func getCall() *call   { return callPool.Get().(*call) }
func putCall(cl *call) { callPool.Put(cl) }

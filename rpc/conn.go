package rpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
)

const (
	// readBufferSize is a plain connection's read buffer, and
	// tlsReadBufferSize a TLS one's: crypto/tls hands out at most one record
	// (16 KiB of plaintext) per read, so a larger buffer behind it never
	// fills, and every connection held it for good (the watches keep four
	// open per member: 256 KiB per member, 130 MB at 500 members in one
	// process). On plain TCP a read can return many frames at once, and 16
	// KiB there made 64 concurrent 4 KiB calls 18 % slower (docs/benchmarks.md).
	readBufferSize    = 64 << 10
	tlsReadBufferSize = 16 << 10
	// writeHighWater is the size of queued frames above which callers and
	// handlers wait for the writer before queueing more.
	writeHighWater = 256 << 10
	// controlLimit is the queue size above which the reader gives up on a
	// peer that sends requests but does not read the answers: the reader
	// never waits for the writer to queue its own frames (errors, cancels),
	// so these bypass the high-water mark up to this. (A handler the reader
	// runs inline may wait; the watchdog then hands the reading over.)
	controlLimit = 4 << 20
	// maxSpareBuffer is the largest write buffer kept for reuse.
	maxSpareBuffer = 1 << 20
)

// conn is one call connection with a peer. A dialled connection carries
// this endpoint's requests and casts and the peer's answers; an accepted
// one the peer's requests and casts and this endpoint's answers. Replies,
// errors and cancels refer to the requester's numbering.
//
// It owns a writer goroutine, and on an accepted connection a reader and
// one goroutine per running handler, all counted in the endpoint's
// WaitGroup. A dialled connection has no reader goroutine: callers read it
// (see wait). fail stops them all.
type conn struct {
	e       *Endpoint
	nc      *frameConn
	br      *bufio.Reader
	peer    string // the peer's ID from its hello; may be empty
	addr    netip.AddrPort
	maxBody int
	dialled bool

	// ctx is the parent of handler contexts; cancelled by fail.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed by fail

	// turn passes the read role of a dialled connection to a waiting
	// caller; it holds the role while it holds the token (capacity 1).
	turn chan struct{}

	mu      sync.Mutex
	err     error                         // why the connection ended, set once by fail
	retired bool                          // dialled: taken out of use as idle; calls look again
	nextID  uint64                        // last request id this side used
	pending map[uint64]*call              // dialled: our requests awaiting an answer
	reading bool                          // dialled: a caller holds the read role or its token is in turn
	serving map[uint64]context.CancelFunc // accepted: the peer's requests being handled

	inFlight atomic.Int64  // handlers running for this connection
	written  atomic.Uint64 // bytes handed to the connection's Write so far, counted before it returns (see writeQueue.queued)
	lastUsed atomic.Int64  // when a call last used this dialled connection, in Unix nanoseconds

	// Accepted: the handler the reader runs inline (see watch.go).
	inline  atomic.Uint64 // its run number; 0 when none, or taken over
	run     uint64        // the last run number, touched by the reader only
	watched uint64        // inline as the watchdog last saw it, touched by it only

	w writeQueue
}

func newConn(e *Endpoint, nc *frameConn, br *bufio.Reader, peer string, addr netip.AddrPort, dialled bool) *conn {
	ctx, cancel := context.WithCancel(e.ctx)
	c := &conn{
		e: e, nc: nc, br: br, peer: peer, addr: addr, maxBody: e.cfg.MaxMessageSize, dialled: dialled,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		pending: map[uint64]*call{},
		serving: map[uint64]context.CancelFunc{},
	}
	if dialled {
		c.turn = make(chan struct{}, 1)
	}
	c.lastUsed.Store(e.now().UnixNano())
	c.w.init()
	return c
}

// start launches the writer and, on an accepted connection, the reader.
func (c *conn) start() {
	if c.dialled {
		c.e.wg.Add(1)
	} else {
		c.e.wg.Add(2)
		go c.readLoop()
	}
	go c.writeLoop()
}

// fail closes the connection once, for the given cause: pending calls fail
// at once with an error matching ErrNodeDown (or ErrClosed when the
// endpoint closes), running handlers are cancelled, and the goroutines end.
// A caller blocked reading the connection gets an error from its read.
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
	// Close the socket under TLS first: a TLS close writes a close_notify,
	// which waits up to 5 s for a peer that does not read, and fail runs
	// on the node loop (PeerDown). The peer sees the stream end either way.
	if tc, ok := c.nc.Conn.(*tls.Conn); ok {
		tc.NetConn().Close()
	}
	c.nc.Close()
	close(c.done)
	c.cancel()
	for _, cl := range pending {
		cl.ch <- result{err: c.callFailure(cause, cl)}
	}
	c.e.forgetConn(c)
}

// callFailure says how a pending call failed with its connection: its
// request never left (ErrNotSent: safe to retry, here or elsewhere), or it
// left and the connection broke before the answer (ErrConnLost: the
// handler may have run); both match ErrNodeDown. A member reported down,
// or the endpoint closing, is said as it is once the request had left.
func (c *conn) callFailure(cause error, cl *call) error {
	switch {
	case !c.sent(cl.end.Load()):
		return fmt.Errorf("%w: %w", ErrNotSent, cause)
	case errors.Is(cause, ErrClosed) || errors.Is(cause, errReportedDown):
		return cause
	}
	return fmt.Errorf("%w: %w", ErrConnLost, cause)
}

// readFailed fails the connection for an error reading it.
func (c *conn) readFailed(err error) {
	if errors.Is(err, ErrProtocol) {
		c.e.stats.protocolErrors.Add(1)
	}
	c.fail(err)
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

// readLoop reads an accepted connection: the peer's requests, casts and
// cancels.
func (c *conn) readLoop() {
	defer c.e.wg.Done()
	for {
		f, err := readFrame(c.br, c.maxBody)
		if err == nil {
			err = c.handle(f)
		}
		if err != nil {
			if err != errHandedOver {
				c.readFailed(err)
			}
			return
		}
	}
}

func (c *conn) handle(f frame) error {
	switch f.typ {
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
		return protocolErr("frame type %d on an accepted connection", f.typ)
	}
}

package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// Peer is the endpoint a call goes to.
type Peer struct {
	// ID is the peer's unique ID (in cloister, the member ID including its
	// incarnation). The handshake checks it, so a call never reaches
	// another incarnation at the same address. Empty accepts whoever
	// answers at Addr.
	ID string
	// Addr is where the peer's transport listens.
	Addr netip.AddrPort
}

func (p Peer) String() string {
	if p.ID != "" {
		return p.ID
	}
	return p.Addr.String()
}

// peerKey identifies the connection table entry for a peer: by ID, or by
// address for a peer without one.
type peerKey struct {
	id   string
	addr netip.AddrPort
}

func keyOf(p Peer) peerKey {
	if p.ID != "" {
		return peerKey{id: p.ID}
	}
	return peerKey{addr: p.Addr}
}

// peerEntry is what the endpoint knows of one peer.
type peerEntry struct {
	conn *conn        // the dialled connection calls use; nil when none
	dial *dialAttempt // the dial in progress, if any
}

// Endpoint is one node's call layer: it serves the handlers registered with
// Handle on connections peers open, and calls peers over connections it
// opens lazily, one per peer, shared by all its calls to that peer. It is
// safe for concurrent use.
type Endpoint struct {
	cfg Config
	sec *security

	handlers atomic.Pointer[map[string]*handlerEntry]
	hmu      sync.Mutex // serializes changes to handlers

	mu     sync.RWMutex
	peers  map[peerKey]*peerEntry
	conns  map[*conn]struct{}
	closed bool

	clock func() time.Time // time.Now; tests move it on

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the endpoint started

	handshakes atomic.Int64 // accepted connections being set up
	inFlight   atomic.Int64 // handlers running
	watch      watchdog
	stats      counters
}

// New starts an endpoint that accepts call streams from cfg.Transport. It
// rejects an invalid configuration but does no cryptographic work: with
// cfg.Secret, the TLS identity is built by the first connection (see
// Security in the package documentation).
func New(cfg Config) (*Endpoint, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	streams := cfg.Transport.Streams(transport.KindCall)
	if streams == nil {
		return nil, errors.New("rpc: transport has no call streams")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Endpoint{
		cfg: cfg, sec: newSecurity(&cfg),
		peers: map[peerKey]*peerEntry{},
		conns: map[*conn]struct{}{},
		ctx:   ctx, cancel: cancel,
	}
	e.handlers.Store(&map[string]*handlerEntry{})
	e.watch.wake = make(chan struct{}, 1)
	e.wg.Add(2)
	go e.acceptLoop(streams)
	go e.watchLoop()
	if cfg.MaxIdle > 0 {
		e.wg.Add(1)
		go e.reapLoop()
	}
	return e, nil
}

// ID returns the endpoint's peer ID.
func (e *Endpoint) ID() string { return e.cfg.ID }

// MaxMessageSize returns the configured bound on message bodies.
func (e *Endpoint) MaxMessageSize() int { return e.cfg.MaxMessageSize }

// Close stops accepting, fails pending calls with ErrClosed, cancels running
// handlers, closes every connection and waits for every goroutine the
// endpoint started, including handlers: a handler must return once its
// context is done. It does not close the transport.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	already := e.closed
	e.closed = true
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	for _, pe := range e.peers {
		if pe.dial != nil {
			pe.dial.cancel()
		}
	}
	e.mu.Unlock()
	if !already {
		for _, c := range conns {
			c.fail(ErrClosed)
		}
	}
	e.cancel()
	e.wg.Wait()
	return nil
}

// now is the endpoint's clock.
func (e *Endpoint) now() time.Time {
	if e.clock != nil {
		return e.clock()
	}
	return time.Now()
}

// PeerDown tells the endpoint that the peer with this ID failed or left.
// Its connections close, calls pending on them fail at once with
// ErrNodeDown, calls waiting for a connection to it fail likewise, and its
// requests being handled are cancelled. A later call dials again.
func (e *Endpoint) PeerDown(id string) {
	if id == "" {
		return
	}
	cause := fmt.Errorf("%w: %w: %s", ErrNodeDown, errReportedDown, id)
	e.mu.Lock()
	if pe := e.peers[peerKey{id: id}]; pe != nil {
		if pe.dial != nil {
			pe.dial.down = cause
			pe.dial.cancel()
		}
		delete(e.peers, peerKey{id: id})
	}
	var down []*conn
	for c := range e.conns {
		if c.peer == id {
			down = append(down, c)
		}
	}
	e.mu.Unlock()
	for _, c := range down {
		c.fail(cause)
	}
}

// registerAccepted adds an accepted connection that finished its handshake
// and starts it. It serves the peer's calls only: calls to that peer use
// the connection this endpoint dials. It reports false when the endpoint
// is closed.
func (e *Endpoint) registerAccepted(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.conns[c] = struct{}{}
	c.start()
	return true
}

// forgetConn removes a failed connection from the tables.
func (e *Endpoint) forgetConn(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.conns, c)
	for _, k := range [2]peerKey{{id: c.peer}, {addr: c.addr}} {
		if pe := e.peers[k]; pe != nil && pe.conn == c {
			pe.conn = nil
			if pe.dial == nil {
				delete(e.peers, k)
			}
		}
	}
}

// Stats counts connections and what the endpoint refused.
type Stats struct {
	Conns          int    // open connections
	ProtocolErrors uint64 // connections closed for bytes that are not valid frames or not TLS
	AuthFailures   uint64 // accepted connections that failed the TLS handshake
	RefusedHellos  uint64 // accepted connections refused for a wrong peer ID or version
	Impersonations uint64 // accepted connections refused for claiming an ID their certificate does not prove (counted in RefusedHellos too)
	Refused        uint64 // accepted connections closed because MaxHandshakes were in progress
	Overloaded     uint64 // calls refused by a bound on in-flight calls, locally or for peers
	TooLarge       uint64 // messages refused for their size, sent or received
	DroppedCasts   uint64 // casts not handled: no handler, overloaded or too large
	HandlerPanics  uint64 // handlers that panicked (the caller gets a RemoteError)
	IdleRetired    uint64 // dialled connections retired after MaxIdle without a call
}

type counters struct {
	protocolErrors, authFailures, refusedHellos, refused atomic.Uint64
	impersonations                                       atomic.Uint64
	overloaded, tooLarge, droppedCasts, handlerPanics    atomic.Uint64
	idleRetired                                          atomic.Uint64
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats {
	e.mu.RLock()
	n := len(e.conns)
	e.mu.RUnlock()
	s := &e.stats
	return Stats{
		Conns:          n,
		ProtocolErrors: s.protocolErrors.Load(),
		AuthFailures:   s.authFailures.Load(),
		RefusedHellos:  s.refusedHellos.Load(),
		Impersonations: s.impersonations.Load(),
		Refused:        s.refused.Load(),
		Overloaded:     s.overloaded.Load(),
		TooLarge:       s.tooLarge.Load(),
		DroppedCasts:   s.droppedCasts.Load(),
		HandlerPanics:  s.handlerPanics.Load(),
		IdleRetired:    s.idleRetired.Load(),
	}
}

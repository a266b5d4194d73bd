package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloister-go/cloister/transport"
)

// Call sends req to the handler registered under name on the peer and
// returns its reply. The connection to the peer is opened on first use and
// shared by all calls; concurrent first calls share one dial.
//
// ctx's deadline travels with the request and bounds the remote handler's
// context; when ctx ends first the remote handler's context is cancelled and
// Call returns ctx.Err(). A handler's error comes back as a *RemoteError.
// Other failures match ErrNodeDown, ErrWrongPeer, ErrAuth, ErrTooLarge,
// ErrOverloaded, ErrNoHandler, ErrProtocol or ErrClosed.
func (e *Endpoint) Call(ctx context.Context, to Peer, name string, req []byte) ([]byte, error) {
	if err := e.check(to, name, req); err != nil {
		return nil, err
	}
	for {
		c, err := e.connFor(ctx, to)
		if err != nil {
			return nil, err
		}
		body, err := c.call(ctx, name, req)
		if err == errRetired {
			continue // retired as idle meanwhile; connFor never returns it again
		}
		return body, err
	}
}

// Cast sends msg to the handler registered under name on the peer without
// waiting for it to run. It returns once the message is queued on the
// connection, which it may have to open first; it fails with ErrOverloaded
// rather than wait when the connection's send queue is full. Nothing
// reports whether the handler ran: the peer drops casts it has no handler
// for, or no room for. ctx bounds the wait for the connection.
func (e *Endpoint) Cast(ctx context.Context, to Peer, name string, msg []byte) error {
	if err := e.check(to, name, msg); err != nil {
		return err
	}
	c, err := e.connFor(ctx, to)
	if err != nil {
		return err
	}
	return c.cast(name, msg)
}

func (e *Endpoint) check(to Peer, name string, body []byte) error {
	switch {
	case len(name) == 0 || len(name) > maxNameLen:
		return fmt.Errorf("rpc: handler name of %d bytes, want 1 to %d", len(name), maxNameLen)
	case len(to.ID) > maxIDLen:
		return fmt.Errorf("rpc: peer ID of %d bytes, at most %d", len(to.ID), maxIDLen)
	case !to.Addr.IsValid():
		return fmt.Errorf("rpc: peer %q has no address", to.ID)
	case len(body) > e.cfg.MaxMessageSize:
		e.stats.tooLarge.Add(1)
		return fmt.Errorf("%w: %d bytes to %q, limit %d", ErrTooLarge, len(body), name, e.cfg.MaxMessageSize)
	}
	return nil
}

// dialAttempt is one dial in progress, shared by the calls waiting for it.
type dialAttempt struct {
	done   chan struct{} // closed when conn or err is set
	cancel context.CancelFunc
	down   error // set by PeerDown during the dial, under Endpoint.mu
	conn   *conn
	err    error
}

// connFor returns the connection to use for calls to the peer, dialling it
// if there is none.
func (e *Endpoint) connFor(ctx context.Context, to Peer) (*conn, error) {
	key := keyOf(to)
	now := e.now()
	e.mu.RLock()
	if pe := e.peers[key]; pe != nil && pe.conn != nil && !pe.conn.idleSince(now, e.cfg.MaxIdle) {
		c := pe.conn
		e.mu.RUnlock()
		return c, nil
	}
	e.mu.RUnlock()

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	pe := e.peers[key]
	if pe == nil {
		pe = &peerEntry{}
		e.peers[key] = pe
	}
	// Idle for longer than a NAT or conntrack entry may live: a connection
	// cut silently would swallow the next request and fail its call. Dial
	// afresh instead.
	idle := e.retireIdleLocked(pe, now)
	if c := pe.conn; c != nil {
		e.mu.Unlock()
		return c, nil
	}
	if idle != nil {
		defer idle.fail(errRetired)
	}
	a := pe.dial
	if a == nil {
		dctx, cancel := context.WithTimeout(e.ctx, e.cfg.HandshakeTimeout)
		a = &dialAttempt{done: make(chan struct{}), cancel: cancel}
		pe.dial = a
		e.wg.Add(1)
		go e.dial(dctx, key, to, a)
	}
	e.mu.Unlock()
	select {
	case <-a.done:
		return a.conn, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dial opens and authenticates a connection, installs it for the peer and
// wakes the calls waiting for it. ctx ends with the endpoint, the handshake
// timeout, or PeerDown.
func (e *Endpoint) dial(ctx context.Context, key peerKey, to Peer, a *dialAttempt) {
	defer e.wg.Done()
	defer a.cancel()
	c, err := e.connect(ctx, to)
	e.mu.Lock()
	switch {
	case a.down != nil:
		err = a.down
	case e.closed:
		err = ErrClosed
	case err == nil:
		// Not closed and not reported down: the entry still holds a.
		e.conns[c] = struct{}{}
		e.peers[key].conn = c
		c.start()
	}
	if pe := e.peers[key]; pe != nil && pe.dial == a {
		pe.dial = nil
		if pe.conn == nil {
			delete(e.peers, key)
		}
	}
	if err != nil && c != nil {
		c.cancel()
		c.nc.Close()
		c = nil
	}
	a.conn, a.err = c, err
	e.mu.Unlock()
	close(a.done)
}

// connect dials the peer and runs the client handshake.
func (e *Endpoint) connect(ctx context.Context, to Peer) (*conn, error) {
	nc, err := e.cfg.Transport.Dial(ctx, to.Addr, transport.KindCall)
	if err != nil {
		if errors.Is(err, transport.ErrClosed) {
			return nil, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return nil, fmt.Errorf("%w: %w: dial %s: %w", ErrNotSent, ErrNodeDown, to, err)
	}
	sc, br, id, err := e.clientHandshake(ctx, nc, to.Addr, to.ID)
	if err != nil {
		return nil, err
	}
	return newConn(e, sc, br, id, to.Addr, true), nil
}

package rpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Request is what a handler receives.
type Request struct {
	From string // the caller's peer ID; empty for an anonymous client
	Name string // the name the handler is registered under
	Body []byte // the message; the handler owns it
}

// Handler serves calls and casts sent to one name. Its context ends when the
// caller's deadline passes, the caller gives up, the connection breaks or
// the endpoint closes; handlers must return soon after. A returned error
// reaches a caller as a *RemoteError carrying its text; for a cast, the
// reply and the error are discarded. Handlers run concurrently, also for
// casts from one peer.
type Handler func(ctx context.Context, req Request) ([]byte, error)

type handlerEntry struct {
	name string
	h    Handler
}

// Handle registers h under name (1 to 255 bytes), replacing any handler
// registered before. A nil h removes the name. It panics on an invalid
// name.
func (e *Endpoint) Handle(name string, h Handler) {
	if len(name) == 0 || len(name) > maxNameLen {
		panic(fmt.Sprintf("rpc: handler name of %d bytes, want 1 to %d", len(name), maxNameLen))
	}
	e.hmu.Lock()
	defer e.hmu.Unlock()
	old := *e.handlers.Load()
	m := make(map[string]*handlerEntry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	if h == nil {
		delete(m, name)
	} else {
		m[name] = &handlerEntry{name: name, h: h}
	}
	e.handlers.Store(&m)
}

func (e *Endpoint) acceptLoop(streams <-chan net.Conn) {
	defer e.wg.Done()
	for {
		select {
		case nc := <-streams:
			if e.handshakes.Add(1) > int64(e.cfg.MaxHandshakes) {
				e.handshakes.Add(-1)
				e.stats.refused.Add(1)
				nc.Close()
				continue
			}
			e.wg.Add(1)
			go e.accept(nc)
		case <-e.ctx.Done():
			return
		}
	}
}

// accept sets up one accepted connection.
func (e *Endpoint) accept(nc net.Conn) {
	defer e.wg.Done()
	sc, br, id, ok := e.serverHandshake(nc)
	e.handshakes.Add(-1)
	if !ok {
		return
	}
	var addr netip.AddrPort
	if ta, isTCP := nc.RemoteAddr().(*net.TCPAddr); isTCP {
		addr = ta.AddrPort()
	}
	c := newConn(e, sc, br, id, addr, false)
	if !e.registerAccepted(c) {
		c.cancel()
		sc.Close()
	}
}

// dispatch runs the handler for a request or cast read by c's reader, or
// answers at once when it cannot run. A request that arrives alone (no
// other handler running for the connection, no other frame buffered) runs
// on the reader goroutine (see watch.go); other requests and every cast run
// on a goroutine of their own. An error it returns, errHandedOver aside,
// closes the connection.
func (e *Endpoint) dispatch(c *conn, f frame) error {
	isCall := f.typ == frameRequest
	refuse := func(code errCode, msg string) error {
		if !isCall {
			e.stats.droppedCasts.Add(1)
			return nil
		}
		err := c.send(nil, true, func(b []byte) []byte { return appendError(b, f.id, code, msg) })
		if err == errNotReading {
			return err
		}
		return nil
	}
	if f.oversize {
		e.stats.tooLarge.Add(1)
		return refuse(codeTooLarge, "request above "+strconv.Itoa(c.maxBody)+" bytes")
	}
	h := (*e.handlers.Load())[string(f.name)]
	if h == nil {
		return refuse(codeNoHandler, strconv.Quote(string(f.name)))
	}
	running := c.inFlight.Add(1)
	if running > int64(e.cfg.MaxInFlightPerConn) {
		c.inFlight.Add(-1)
		e.stats.overloaded.Add(1)
		return refuse(codeOverloaded, "handlers for this connection at their limit")
	}
	if e.inFlight.Add(1) > int64(e.cfg.MaxInFlight) {
		e.inFlight.Add(-1)
		c.inFlight.Add(-1)
		e.stats.overloaded.Add(1)
		return refuse(codeOverloaded, "handlers at their limit")
	}
	var (
		ctx    context.Context
		cancel context.CancelFunc
	)
	if f.timeout > 0 && f.timeout <= math.MaxInt64/uint64(time.Microsecond) {
		ctx, cancel = context.WithTimeout(c.ctx, time.Duration(f.timeout)*time.Microsecond)
	} else {
		ctx, cancel = context.WithCancel(c.ctx)
	}
	if isCall {
		c.mu.Lock()
		_, dup := c.serving[f.id]
		if c.serving == nil || dup {
			c.mu.Unlock()
			cancel()
			e.inFlight.Add(-1)
			c.inFlight.Add(-1)
			if dup {
				return protocolErr("duplicate request id %d", f.id)
			}
			return nil // the connection is closing
		}
		c.serving[f.id] = cancel
		c.mu.Unlock()
	}
	if !isCall || running > 1 || c.br.Buffered() > 0 {
		// A cast (nobody waits for it), or other handlers run for the
		// peer, or more of its frames have arrived: the reader goes on
		// while this handler runs.
		e.wg.Add(1)
		go c.serveAsync(ctx, cancel, h, f)
		return nil
	}
	if !c.serveInline(ctx, cancel, h, f) {
		return errHandedOver
	}
	return nil
}

// errHandedOver ends a reader that ran a handler inline for so long that
// the watchdog gave the reading role to another goroutine (see watch.go).
var errHandedOver = errors.New("rpc: reading handed over")

func (c *conn) serveAsync(ctx context.Context, cancel context.CancelFunc, h *handlerEntry, f frame) {
	defer c.e.wg.Done()
	c.serve(ctx, cancel, h, f)
}

// serve runs one handler and queues its answer.
func (c *conn) serve(ctx context.Context, cancel context.CancelFunc, h *handlerEntry, f frame) {
	body, err := c.e.run(ctx, h, Request{From: c.peer, Name: h.name, Body: f.body})
	// A request whose context ended has no caller any more: its deadline
	// was the caller's, or the caller sent a cancel, or the connection is
	// closing. Its answer is not sent: the caller's side reads a dialled
	// connection only while calls are pending.
	gone := ctx.Err() != nil
	cancel()
	isCall := f.typ == frameRequest
	if isCall {
		c.mu.Lock()
		delete(c.serving, f.id)
		c.mu.Unlock()
	}
	c.inFlight.Add(-1)
	c.e.inFlight.Add(-1)
	if !isCall || gone {
		return
	}
	var build func([]byte) []byte
	switch {
	case err != nil:
		msg, code := err.Error(), codeHandler
		if name := registeredName(err); name != "" {
			msg, code = appendRegisteredMessage(name, msg), codeRegistered
		}
		build = func(b []byte) []byte { return appendError(b, f.id, code, msg) }
	case len(body) > c.maxBody:
		c.e.stats.tooLarge.Add(1)
		msg := fmt.Sprintf("reply of %d bytes to %q above %d", len(body), h.name, c.maxBody)
		build = func(b []byte) []byte { return appendError(b, f.id, codeTooLarge, msg) }
	default:
		build = func(b []byte) []byte { return appendReply(b, f.id, body) }
	}
	_ = c.send(nil, false, build)
}

// run calls a handler, turning a panic into an error for the caller.
func (e *Endpoint) run(ctx context.Context, h *handlerEntry, req Request) (body []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			e.stats.handlerPanics.Add(1)
			body, err = nil, fmt.Errorf("handler %q panicked: %v", h.name, r)
		}
	}()
	return h.h(ctx, req)
}

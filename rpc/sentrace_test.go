package rpc

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/cloister-go/cloister/transport"
)

// holdingTransport's dialled streams, once armed, deliver the next write
// to the peer and then hold the writer inside Write until released: the
// moment when the peer may already run a request whose write has not
// returned yet.
type holdingTransport struct {
	transport.Transport
	armed   atomic.Bool
	held    chan struct{} // closed when a write is held
	release chan struct{} // closed to let it return
}

func (h *holdingTransport) Dial(ctx context.Context, to netip.AddrPort, k transport.Kind) (net.Conn, error) {
	c, err := h.Transport.Dial(ctx, to, k)
	if err != nil {
		return nil, err
	}
	return &holdingConn{Conn: c, h: h}, nil
}

type holdingConn struct {
	net.Conn
	h *holdingTransport
}

func (c *holdingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.h.armed.CompareAndSwap(true, false) {
		close(c.h.held)
		<-c.h.release
	}
	return n, err
}

// A call whose request reached the peer, and whose write had not returned
// when the peer was reported down, failed as "not sent" (safe to retry)
// while its handler ran: the call learnt where its request ended only
// after the write, and the bytes counted as written only after it
// returned. It fails as ErrNodeDown without ErrNotSent.
func TestCallReportedDownDuringItsWriteWasSent(t *testing.T) {
	noLeaks(t)
	h := &holdingTransport{Transport: listen(t), held: make(chan struct{}), release: make(chan struct{})}
	a, _ := node(t, Config{Transport: h})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	started := make(chan struct{})
	b.Handle("slow", func(ctx context.Context, _ Request) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx := testCtx(t)
	if _, err := a.Call(ctx, bp, "echo", nil); err != nil { // the connection, set up
		t.Fatal(err)
	}
	h.armed.Store(true)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx, bp, "slow", nil)
		errc <- err
	}()
	await(t, h.held, "the request's write to be held")
	await(t, started, "the handler to start")
	a.PeerDown(bp.ID)
	close(h.release)
	err := await(t, errc, "the call to fail")
	if !errors.Is(err, ErrNodeDown) || errors.Is(err, ErrNotSent) {
		t.Fatalf("reported down while its write was under way, handler running: %v, want ErrNodeDown and not ErrNotSent", err)
	}
}

package rpc

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// stallNet dials streams whose writes block, once stalled, until the
// stream is closed, whatever its deadlines: a peer that stopped reading
// with the send buffer full.
type stallNet struct {
	*transport.Net
	stalled atomic.Bool
}

func (s *stallNet) Dial(ctx context.Context, to netip.AddrPort, kind transport.Kind) (net.Conn, error) {
	c, err := s.Net.Dial(ctx, to, kind)
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: c, net: s, closed: make(chan struct{})}, nil
}

type stallConn struct {
	net.Conn
	net    *stallNet
	once   sync.Once
	closed chan struct{}
}

func (c *stallConn) Write(b []byte) (int, error) {
	if c.net.stalled.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// Issue #12, item 6: PeerDown (which the node loop calls) returns at once
// even when closing the connection would wait for a peer that does not
// read (a TLS close writes a close_notify first, for up to 5 s).
func TestPeerDownDoesNotWaitForTheClose(t *testing.T) {
	sn := &stallNet{Net: listen(t)}
	a, _ := node(t, Config{Transport: sn})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	if _, err := a.Call(testCtx(t), bp, "echo", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	sn.stalled.Store(true)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		a.PeerDown(bp.ID)
	}()
	select {
	case <-done:
		if took := time.Since(start); took > time.Second {
			t.Fatalf("PeerDown took %v", took)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("PeerDown blocked for 3 s on closing a stalled connection")
	}
}

package rpc

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// cuttable is a transport whose dialled streams can be cut the way an
// expired NAT or conntrack entry cuts them: writes still succeed, nothing
// arrives, and reads wait for ever (until their deadline or close).
type cuttable struct {
	*transport.Net
	mu    sync.Mutex
	conns []*cutConn
}

type cutConn struct {
	net.Conn
	cut atomic.Bool
}

func (c *cutConn) Write(b []byte) (int, error) {
	if c.cut.Load() {
		return len(b), nil // swallowed by the dead path
	}
	return c.Conn.Write(b)
}

func (c *cutConn) Read(b []byte) (int, error) {
	if c.cut.Load() {
		// Nothing arrives on a dead path: whatever the peer sends is
		// lost, and the read ends only at its deadline or the close.
		var one [1]byte
		for {
			if _, err := c.Conn.Read(one[:]); err != nil {
				return 0, err
			}
		}
	}
	return c.Conn.Read(b)
}

func (t *cuttable) Dial(ctx context.Context, to netip.AddrPort, kind transport.Kind) (net.Conn, error) {
	nc, err := t.Net.Dial(ctx, to, kind)
	if err != nil {
		return nil, err
	}
	c := &cutConn{Conn: nc}
	t.mu.Lock()
	t.conns = append(t.conns, c)
	t.mu.Unlock()
	return c, nil
}

func (t *cuttable) cutAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.cut.Store(true)
	}
}

// A connection left idle longer than MaxIdle is not trusted: the next call
// dials afresh, so a connection that a NAT cut silently while idle never
// swallows it. With the retirement off, the same call is lost.
func TestIdleConnectionCutSilently(t *testing.T) {
	for _, maxIdle := range []time.Duration{time.Minute, -1} {
		tr := &cuttable{Net: listen(t)}
		a, _ := node(t, Config{Transport: tr, MaxIdle: maxIdle})
		var offset atomic.Int64
		a.clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		b, bp := node(t, Config{})
		b.Handle("echo", echo)
		ctx := testCtx(t)
		if _, err := a.Call(ctx, bp, "echo", []byte("first")); err != nil {
			t.Fatal(err)
		}
		tr.cutAll()
		offset.Store(int64(2 * time.Minute)) // two idle minutes later
		short, cancel := context.WithTimeout(ctx, time.Second)
		reply, err := a.Call(short, bp, "echo", []byte("after the idle cut"))
		cancel()
		switch {
		case maxIdle > 0 && (err != nil || string(reply) != "after the idle cut"):
			t.Fatalf("the call after an idle cut: %q, %v", reply, err)
		case maxIdle > 0 && a.Stats().IdleRetired != 1:
			t.Fatalf("IdleRetired = %d, want 1", a.Stats().IdleRetired)
		case maxIdle < 0 && !errors.Is(err, context.DeadlineExceeded):
			t.Fatalf("without retirement the call on the cut connection: %v, want a deadline error", err)
		}
	}
}

// A failed call says whether its request left: never sent (safe to retry),
// connection lost after it was written (the handler may have run), or the
// member reported down; all match ErrNodeDown.
func TestCallFailureSaysWhetherTheRequestLeft(t *testing.T) {
	a, _ := node(t, Config{})
	ctx := testCtx(t)

	// Nobody listens at the address: never sent.
	gone := listen(t)
	addr := gone.Addr()
	gone.Close()
	_, err := a.Call(ctx, Peer{ID: "gone@" + addr.String() + "#1", Addr: addr}, "echo", nil)
	if !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrNodeDown) || errors.Is(err, ErrConnLost) {
		t.Fatalf("call to nobody: %v, want ErrNotSent and ErrNodeDown", err)
	}

	// The peer goes away while its handler runs: the request had left.
	btr := listen(t)
	b, bp := node(t, Config{Transport: btr})
	started := make(chan struct{})
	b.Handle("slow", func(ctx context.Context, _ Request) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	errc := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx, bp, "slow", nil)
		errc <- err
	}()
	await(t, started, "the handler to start")
	b.Close()
	btr.Close()
	err = await(t, errc, "the call to fail")
	if !errors.Is(err, ErrConnLost) || !errors.Is(err, ErrNodeDown) || errors.Is(err, ErrNotSent) {
		t.Fatalf("connection lost mid-call: %v, want ErrConnLost and ErrNodeDown", err)
	}

	// Reported down while pending: ErrNodeDown, and not "not sent".
	c, cp := node(t, Config{})
	started2 := make(chan struct{})
	c.Handle("slow", func(ctx context.Context, _ Request) ([]byte, error) {
		close(started2)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	go func() {
		_, err := a.Call(ctx, cp, "slow", nil)
		errc <- err
	}()
	await(t, started2, "the second handler to start")
	a.PeerDown(cp.ID)
	err = await(t, errc, "the call to fail on PeerDown")
	if !errors.Is(err, ErrNodeDown) || errors.Is(err, ErrNotSent) {
		t.Fatalf("reported down mid-call: %v, want ErrNodeDown only", err)
	}
}

// A connection that carried one call and none since is retired MaxIdle
// later without another call to its peer: its goroutines and buffers go on
// both sides. One with a call pending (a watch held open) stays, however
// long ago the call started.
func TestIdleConnectionRetiredWithoutAnotherCall(t *testing.T) {
	const maxIdle = 100 * time.Millisecond
	a, _ := node(t, Config{MaxIdle: maxIdle})
	b, bp := node(t, Config{})
	c, cp := node(t, Config{})
	b.Handle("echo", echo)
	held := make(chan struct{})
	c.Handle("hold", func(ctx context.Context, _ Request) ([]byte, error) {
		close(held)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx := testCtx(t)
	if _, err := a.Call(ctx, bp, "echo", []byte("once")); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithCancel(ctx)
	holding := make(chan error, 1)
	go func() {
		_, err := a.Call(hctx, cp, "hold", nil)
		holding <- err
	}()
	await(t, held, "the held call to start")

	deadline := time.Now().Add(10 * time.Second)
	for a.Stats().IdleRetired < 1 || b.Stats().Conns != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: IdleRetired %d, the callee's connections %d; want 1 and 0",
				10*time.Second, a.Stats().IdleRetired, b.Stats().Conns)
		}
		time.Sleep(maxIdle / 10) // polling with a deadline
	}
	// Several idle periods more: the connection with the held call stays.
	wait := time.After(5 * maxIdle)
	select {
	case err := <-holding:
		t.Fatalf("the held call ended while its connection idled: %v", err)
	case <-wait:
	}
	if got := a.Stats().IdleRetired; got != 1 {
		t.Fatalf("IdleRetired %d, want 1: the connection with a pending call was retired", got)
	}
	if c.Stats().Conns != 1 {
		t.Fatalf("the held call's callee has %d connections, want 1", c.Stats().Conns)
	}
	cancel()
	if err := await(t, holding, "the held call to end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("the held call: %v, want context.Canceled", err)
	}
	// The next call to b dials afresh and works.
	if reply, err := a.Call(ctx, bp, "echo", []byte("again")); err != nil || string(reply) != "again" {
		t.Fatalf("the call after the retirement: %q, %v", reply, err)
	}
}

package rpc

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// callDeadline is the deadline of calls that must fail long before it.
const callDeadline = 30 * time.Second

// pendingCalls starts n calls to a handler that blocks until its context
// ends, waits until all have reached the handler and returns the channel
// their errors arrive on.
func pendingCalls(t *testing.T, a, b *Endpoint, bp Peer, n int) <-chan error {
	t.Helper()
	started := make(chan struct{}, n)
	b.Handle("block", func(ctx context.Context, _ Request) ([]byte, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	errs := make(chan error, n)
	for range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
			defer cancel()
			_, err := a.Call(ctx, bp, "block", nil)
			errs <- err
		}()
	}
	for range n {
		await(t, started, "calls to reach the handler")
	}
	// One of the callers reads the connection, the others wait.
	awaitRole(t, dialledConn(t, a, bp), n)
	return errs
}

// expectNodeDown collects n errors, each of which must match ErrNodeDown,
// and reports how long after since the last arrived.
func expectNodeDown(t *testing.T, errs <-chan error, n int, since time.Time) time.Duration {
	t.Helper()
	for range n {
		if err := await(t, errs, "pending call to fail"); !errors.Is(err, ErrNodeDown) {
			t.Fatalf("pending call: %v, want ErrNodeDown", err)
		}
	}
	took := time.Since(since)
	if took > callDeadline/3 {
		t.Fatalf("pending calls took %v to fail, deadline %v", took, callDeadline)
	}
	return took
}

func TestPeerDownFailsPendingCallsAtOnce(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	const n = 5
	errs := pendingCalls(t, a, b, bp, n)
	start := time.Now()
	a.PeerDown(bp.ID)
	took := expectNodeDown(t, errs, n, start)
	t.Logf("%d pending calls failed %v after PeerDown (deadline %v)", n, took, callDeadline)
	if n := a.Stats().Conns; n != 0 {
		t.Fatalf("%d connections left after PeerDown", n)
	}
	// A later call dials again.
	b.Handle("echo", echo)
	if _, err := a.Call(testCtx(t), bp, "echo", nil); err != nil {
		t.Fatalf("call after PeerDown: %v", err)
	}
}

// killable is a transport whose Kill closes the socket and every
// connection it carried, abruptly, as if the process died.
type killable struct {
	*transport.Net
	streams chan net.Conn
	stop    chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

func newKillable(t *testing.T) *killable {
	k := &killable{Net: listen(t), streams: make(chan net.Conn), stop: make(chan struct{})}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		for {
			select {
			case c := <-k.Net.Streams(transport.KindCall):
				k.track(c)
				select {
				case k.streams <- c:
				case <-k.stop:
					c.Close()
					return
				}
			case <-k.stop:
				return
			}
		}
	}()
	t.Cleanup(k.Kill)
	return k
}

func (k *killable) track(c net.Conn) {
	k.mu.Lock()
	k.conns = append(k.conns, c)
	k.mu.Unlock()
}

func (k *killable) Streams(kind transport.Kind) <-chan net.Conn {
	if kind == transport.KindCall {
		return k.streams
	}
	return k.Net.Streams(kind)
}

func (k *killable) Dial(ctx context.Context, to netip.AddrPort, kind transport.Kind) (net.Conn, error) {
	c, err := k.Net.Dial(ctx, to, kind)
	if err == nil {
		k.track(c)
	}
	return c, err
}

func (k *killable) Kill() {
	select {
	case <-k.stop:
		return
	default:
	}
	close(k.stop)
	k.wg.Wait()
	k.Net.Close()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // reset, not a graceful close
		}
		c.Close()
	}
}

func TestKilledPeerFailsPendingCallsAtOnce(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	k := newKillable(t)
	b, bp := node(t, Config{Transport: k})
	const n = 5
	errs := pendingCalls(t, a, b, bp, n)
	start := time.Now()
	k.Kill()
	took := expectNodeDown(t, errs, n, start)
	t.Logf("%d pending calls failed %v after the peer was killed (deadline %v)", n, took, callDeadline)
	// New calls fail too, without waiting for their deadline.
	if _, err := a.Call(testCtx(t), bp, "block", nil); !errors.Is(err, ErrNodeDown) {
		t.Fatalf("call to a dead peer: %v, want ErrNodeDown", err)
	}
}

func TestRestartedPeerIsWrongPeer(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	tr := listen(t)
	b, _ := node(t, Config{Transport: tr, ID: "b@host#0000000000000002"})
	b.Handle("echo", echo)
	// a still believes in the previous incarnation of b at the address.
	old := Peer{ID: "b@host#0000000000000001", Addr: tr.Addr()}
	_, err := a.Call(testCtx(t), old, "echo", nil)
	if !errors.Is(err, ErrWrongPeer) || !errors.Is(err, ErrNodeDown) {
		t.Fatalf("err = %v, want ErrWrongPeer and ErrNodeDown", err)
	}
	if n := b.Stats().RefusedHellos; n != 1 {
		t.Fatalf("RefusedHellos = %d, want 1", n)
	}
	if n := a.Stats().Conns; n != 0 {
		t.Fatalf("a kept %d connections", n)
	}
}

func TestUnreachablePeerIsNodeDown(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	gone := listen(t)
	addr := gone.Addr()
	gone.Close()
	if _, err := a.Call(testCtx(t), Peer{ID: "gone", Addr: addr}, "x", nil); !errors.Is(err, ErrNodeDown) {
		t.Fatalf("err = %v, want ErrNodeDown", err)
	}
	if err := a.Cast(context.Background(), Peer{ID: "gone", Addr: addr}, "x", nil); !errors.Is(err, ErrNodeDown) {
		t.Fatalf("cast err = %v, want ErrNodeDown", err)
	}
}

func TestCloseFailsPendingCalls(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	errs := pendingCalls(t, a, b, bp, 3)
	a.Close()
	for range 3 {
		if err := await(t, errs, "pending call"); !errors.Is(err, ErrClosed) {
			t.Fatalf("pending call after Close: %v, want ErrClosed", err)
		}
	}
	if _, err := a.Call(testCtx(t), bp, "block", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
}

func TestPeerClosingFailsPendingCalls(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	errs := pendingCalls(t, a, b, bp, 3)
	start := time.Now()
	b.Close()
	expectNodeDown(t, errs, 3, start)
}

package memnet

import (
	"context"
	"io"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// wait bounds every wait of the tests for a condition that should hold.
const wait = 5 * time.Second

// quiet is how long a test watches for something that should not happen.
const quiet = 50 * time.Millisecond

func addr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), 7946)
}

func newNetwork(t *testing.T, seed uint64) *Network {
	t.Helper()
	n := New(seed)
	t.Cleanup(func() { n.Close() })
	return n
}

func listen(t *testing.T, n *Network, a netip.AddrPort) transport.Transport {
	t.Helper()
	tr, err := n.Listen(a)
	if err != nil {
		t.Fatalf("Listen(%s): %v", a, err)
	}
	return tr
}

func recvPacket(t *testing.T, tr transport.Transport) transport.Packet {
	t.Helper()
	select {
	case p := <-tr.Packets():
		return p
	case <-time.After(wait):
		t.Fatalf("%s: no datagram within %v", tr.Addr(), wait)
		return transport.Packet{}
	}
}

func noPacket(t *testing.T, tr transport.Transport) {
	t.Helper()
	select {
	case p := <-tr.Packets():
		t.Fatalf("%s: unexpected datagram %q from %s", tr.Addr(), p.Data, p.From)
	case <-time.After(quiet):
	}
}

// drain takes every datagram queued on tr now.
func drain(tr transport.Transport) []transport.Packet {
	var ps []transport.Packet
	for {
		select {
		case p := <-tr.Packets():
			ps = append(ps, p)
		default:
			return ps
		}
	}
}

func accept(t *testing.T, tr transport.Transport, k transport.Kind) net.Conn {
	t.Helper()
	select {
	case c := <-tr.Streams(k):
		return c
	case <-time.After(wait):
		t.Fatalf("%s: no %s stream within %v", tr.Addr(), k, wait)
		return nil
	}
}

// pair dials from a to b and returns both ends, closed by the test's
// cleanup.
func pair(t *testing.T, a, b transport.Transport) (client, server net.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	client, err := a.Dial(ctx, b.Addr(), transport.KindCall)
	if err != nil {
		t.Fatalf("Dial %s -> %s: %v", a.Addr(), b.Addr(), err)
	}
	server = accept(t, b, transport.KindCall)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// readN reads exactly n bytes from c within the test's wait.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

// noBytes checks that nothing arrives on c for a while.
func noBytes(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(quiet))
	defer c.SetReadDeadline(time.Time{})
	var b [64]byte
	n, err := c.Read(b[:])
	if n > 0 || !isTimeout(err) {
		t.Fatalf("read while the path is cut: %d bytes %q, %v; want a timeout", n, b[:n], err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// settleGoroutines waits until at most n goroutines run.
func settleGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		<-tick.C
	}
}

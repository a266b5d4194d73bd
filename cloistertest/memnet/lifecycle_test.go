package memnet

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

func TestListenTaken(t *testing.T) {
	n := newNetwork(t, 1)
	listen(t, n, addr(1))
	_, err := n.Listen(addr(1))
	if !errors.Is(err, transport.ErrBind) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a taken address: %v, want ErrBind and EADDRINUSE", err)
	}
	if _, err := n.Listen(netip.MustParseAddrPort("0.0.0.0:7946")); !errors.Is(err, transport.ErrBind) {
		t.Fatalf("Listen on an unspecified address: %v, want ErrBind", err)
	}
	if _, err := n.Listen(netip.AddrPort{}); !errors.Is(err, transport.ErrBind) {
		t.Fatalf("Listen on the zero address: %v, want ErrBind", err)
	}
}

func TestListenPortZero(t *testing.T) {
	n := newNetwork(t, 1)
	ip := netip.MustParseAddr("198.18.0.1")
	a := listen(t, n, netip.AddrPortFrom(ip, 0))
	b := listen(t, n, netip.AddrPortFrom(ip, 0))
	if a.Addr().Port() == 0 || a.Addr() == b.Addr() || a.Addr().Addr() != ip {
		t.Fatalf("port 0 gave %s and %s, want two distinct ports on %s", a.Addr(), b.Addr(), ip)
	}
}

func TestRelistenAfterClose(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	ab, ba := pair(t, a, b)
	b.Close()
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The old stream's peer sees the end.
	ab.SetReadDeadline(time.Now().Add(wait))
	if _, err := ab.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read from a stream whose peer transport closed: %v, want EOF", err)
	}
	if _, err := ba.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read on a closed transport's stream: %v, want net.ErrClosed", err)
	}
	if _, err := b.Dial(context.Background(), a.Addr(), transport.KindCall); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Dial on a closed transport: %v, want ErrClosed", err)
	}

	// A restarted node at the same address.
	b2 := listen(t, n, addr(2))
	a.WritePacket([]byte("to the new one"), b2.Addr())
	if p := recvPacket(t, b2); string(p.Data) != "to the new one" {
		t.Fatalf("got %q", p.Data)
	}
	noPacket(t, b) // the old transport's channel is never written again
	pair(t, a, b2)
	select {
	case c := <-b.Streams(transport.KindCall):
		t.Fatalf("closed transport got stream %v", c)
	default:
	}
}

func TestCloseDropsInFlight(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Delay(b.Addr(), time.Hour, 0)
	a.WritePacket([]byte("never"), b.Addr())
	b.Close() // must not wait for the hour
	if s := n.Stats(); s.DroppedNoListener != 1 {
		t.Fatalf("stats %+v, want the in-flight datagram dropped", s)
	}
}

func TestCloseEndsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	n := New(1)
	var trs []transport.Transport
	for i := range 4 {
		tr, err := n.Listen(addr(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		trs = append(trs, tr)
	}
	n.Delay(trs[3].Addr(), time.Hour, 0)
	trs[0].WritePacket([]byte("in flight"), trs[3].Addr())
	// Blocked operations of every kind: each must end on Close.
	done := make(chan error, 4)
	c, err := trs[0].Dial(context.Background(), trs[1].Addr(), transport.KindGossip)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	go func() { _, err := c.Write(make([]byte, 2*StreamBuffer)); done <- err }()
	n.Isolate(trs[2].Addr())
	go func() {
		_, err := trs[0].Dial(context.Background(), trs[2].Addr(), transport.KindCall)
		done <- err
	}()
	s := accept(t, trs[1], transport.KindGossip)
	go func() { _, err := s.Read(make([]byte, 2*StreamBuffer)); done <- err }()

	closed := make(chan struct{})
	go func() {
		n.Close()
		n.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Network.Close did not return")
	}
	for range 4 {
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatal("a blocked operation did not end on Close")
		}
	}
	if _, err := n.Listen(addr(9)); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Listen after Close: %v, want ErrClosed", err)
	}
	settleGoroutines(t, before)
}

func TestCrashClosesTogether(t *testing.T) {
	n := newNetwork(t, 1)
	watcher := listen(t, n, addr(1))
	victims := []transport.Transport{listen(t, n, addr(2)), listen(t, n, addr(3))}
	bystander := listen(t, n, addr(4))
	var streams []net.Conn
	for _, v := range victims {
		s, _ := pair(t, watcher, v)
		streams = append(streams, s)
	}
	if got := n.Crash(addr(2), addr(3), addr(9)); got != 2 {
		t.Fatalf("Crash closed %d transports, want 2 (addr(9) has none)", got)
	}
	for i, v := range victims {
		// Refused at once, not after a timeout.
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		_, err := watcher.Dial(ctx, v.Addr(), transport.KindGossip)
		cancel()
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Dial to crashed %s: %v, want ECONNREFUSED", v.Addr(), err)
		}
		streams[i].SetReadDeadline(time.Now().Add(wait))
		if _, err := streams[i].Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("Read from a stream to crashed %s: %v, want EOF", v.Addr(), err)
		}
		if _, err := v.Dial(context.Background(), bystander.Addr(), transport.KindCall); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Dial from crashed %s: %v, want ErrClosed", v.Addr(), err)
		}
		if err := v.Close(); err != nil {
			t.Fatalf("Close after Crash: %v", err)
		}
	}
	pair(t, watcher, bystander) // the others are untouched
	listen(t, n, addr(2))       // and a crashed address can be listened on again
}

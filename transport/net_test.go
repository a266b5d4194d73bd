package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func listen(t *testing.T) *Net {
	t.Helper()
	n, err := Listen(NetConfig{Bind: "127.0.0.1:0", HandshakeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func TestPacketsAndStreamsShareOnePort(t *testing.T) {
	a, b := listen(t), listen(t)
	if err := a.WritePacket([]byte("ping"), b.Addr()); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-b.Packets():
		if string(p.Data) != "ping" || p.From != a.Addr() {
			t.Fatalf("packet %q from %v, want ping from %v", p.Data, p.From, a.Addr())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no packet")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, kind := range []Kind{KindGossip, KindCall} {
		c, err := a.Dial(ctx, b.Addr(), kind)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(kind.String()))
		select {
		case s := <-b.Streams(kind):
			buf := make([]byte, len(kind.String()))
			if _, err := io.ReadFull(s, buf); err != nil || string(buf) != kind.String() {
				t.Fatalf("%v stream read %q, %v", kind, buf, err)
			}
			s.Close()
		case <-time.After(5 * time.Second):
			t.Fatalf("no %v stream", kind)
		}
		c.Close()
	}
}

func TestBadHandshakesAreClosedAndCounted(t *testing.T) {
	n := listen(t)
	// An unknown kind byte.
	c, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0xff, 1, 2, 3})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection with an unknown kind was not closed")
	}
	c.Close()
	// A client that never speaks is closed after the handshake timeout.
	silent, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("silent connection was not closed")
	}
	silent.Close()
	if got := n.Stats().BadHandshakes; got != 2 {
		t.Fatalf("BadHandshakes = %d, want 2", got)
	}
}

func TestClosedTransportRefuses(t *testing.T) {
	a, b := listen(t), listen(t)
	a.Close()
	if err := a.WritePacket([]byte("x"), b.Addr()); err != ErrClosed {
		t.Fatalf("WritePacket after Close = %v", err)
	}
	if _, err := a.Dial(context.Background(), b.Addr(), KindCall); err != ErrClosed {
		t.Fatalf("Dial after Close = %v", err)
	}
	if _, err := b.Dial(context.Background(), a.Addr(), Kind('x')); err == nil {
		t.Fatal("Dial with an unknown kind succeeded")
	}
	if err := b.WritePacket(make([]byte, MaxPacketSize+1), a.Addr()); err == nil {
		t.Fatal("oversized packet accepted")
	}
}

func TestParseBind(t *testing.T) {
	for _, ok := range []string{":4747", "127.0.0.1:0", "[::1]:4747", "0.0.0.0:1"} {
		if _, err := ParseBind(ok); err != nil {
			t.Errorf("ParseBind(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "4747", "host:1", "1.2.3.4", ":99999"} {
		if _, err := ParseBind(bad); err == nil {
			t.Errorf("ParseBind(%q) accepted", bad)
		}
	}
}

// Connections that never send their kind byte hold at most MaxHandshakes
// goroutines; more are closed at once and counted.
func TestPendingHandshakesAreBounded(t *testing.T) {
	n, err := Listen(NetConfig{Bind: "127.0.0.1:0", HandshakeTimeout: 5 * time.Second, MaxHandshakes: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	for range 4 {
		c, err := net.Dial("tcp", n.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for n.pending.Load() != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pending, want 4", n.pending.Load())
		}
		time.Sleep(time.Millisecond)
	}
	extra, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection beyond the bound not closed at once: %v", err)
	}
	if got := n.Stats().RefusedStreams; got != 1 {
		t.Fatalf("RefusedStreams = %d, want 1", got)
	}
}

// The OS's reason travels with ErrBind: a port in use matches
// syscall.EADDRINUSE.
func TestBindErrorWrapsTheOSError(t *testing.T) {
	a, err := Listen(NetConfig{Bind: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = Listen(NetConfig{Bind: a.Addr().String()})
	if !errors.Is(err, ErrBind) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second bind: %v, want ErrBind and EADDRINUSE", err)
	}
}

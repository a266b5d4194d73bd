package memnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

func TestDialRefused(t *testing.T) {
	n := newNetwork(t, 1)
	a := listen(t, n, addr(1))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	_, err := a.Dial(ctx, addr(2), transport.KindGossip)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to nobody: %v, want ECONNREFUSED", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Fatalf("Dial to nobody: %#v, want a *net.OpError", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusal took %v, want at once", d)
	}
	if s := n.Stats(); s.Refused != 1 {
		t.Fatalf("stats %+v, want 1 refused", s)
	}
}

func TestDialUnknownKind(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	if _, err := a.Dial(context.Background(), b.Addr(), transport.Kind('x')); !errors.Is(err, transport.ErrUnknownKind) {
		t.Fatalf("err = %v, want ErrUnknownKind", err)
	}
	if b.Streams(transport.Kind('x')) != nil {
		t.Fatal("Streams of an unknown kind is not nil")
	}
}

func TestDialKinds(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	for _, k := range []transport.Kind{transport.KindGossip, transport.KindCall} {
		c, err := a.Dial(context.Background(), b.Addr(), k)
		if err != nil {
			t.Fatal(err)
		}
		s := accept(t, b, k)
		if la, ok := c.LocalAddr().(*net.TCPAddr); !ok || la.AddrPort() != a.Addr() {
			t.Fatalf("client LocalAddr %v, want %s", c.LocalAddr(), a.Addr())
		}
		if ra, ok := c.RemoteAddr().(*net.TCPAddr); !ok || ra.AddrPort() != b.Addr() {
			t.Fatalf("client RemoteAddr %v, want %s", c.RemoteAddr(), b.Addr())
		}
		if ra, ok := s.RemoteAddr().(*net.TCPAddr); !ok || ra.AddrPort() != a.Addr() {
			t.Fatalf("server RemoteAddr %v, want %s", s.RemoteAddr(), a.Addr())
		}
		if la, ok := s.LocalAddr().(*net.TCPAddr); !ok || la.AddrPort() != b.Addr() {
			t.Fatalf("server LocalAddr %v, want %s", s.LocalAddr(), b.Addr())
		}
		c.Close()
		s.Close()
	}
	if s := n.Stats(); s.Dialled != 2 {
		t.Fatalf("stats %+v, want 2 dialled", s)
	}
}

func TestDialAcrossPartitionTimesOut(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Partition([]netip.AddrPort{a.Addr()}, []netip.AddrPort{b.Addr()})
	for _, to := range []netip.AddrPort{b.Addr(), addr(3)} { // a listener or nobody: the SYN is lost either way
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		dl, _ := ctx.Deadline()
		_, err := a.Dial(ctx, to, transport.KindGossip)
		cancel()
		if now := time.Now(); now.Before(dl) {
			t.Fatalf("Dial across a partition returned %v before its context ended", dl.Sub(now))
		}
		if !isTimeout(err) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Dial across a partition: %v, want a timeout", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Dial(ctx, b.Addr(), transport.KindGossip); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled context: %v, want context.Canceled", err)
	}
	if s := n.Stats(); s.DialTimeouts != 2 || s.Dialled != 0 {
		t.Fatalf("stats %+v, want 2 dial timeouts", s)
	}
}

func TestDialCompletesWhenHealed(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Isolate(b.Addr())
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c, err := a.Dial(ctx, b.Addr(), transport.KindCall)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Dial to an isolated node returned %v", err)
	case <-time.After(quiet):
	}
	n.Rejoin(b.Addr())
	if err := <-done; err != nil {
		t.Fatalf("Dial once the path opened: %v", err)
	}
}

func TestAcceptQueueFull(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	for range AcceptQueue {
		c, err := a.Dial(context.Background(), b.Addr(), transport.KindGossip)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// A full backlog drops the SYN: the dial waits, it is not refused.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Dial(ctx, b.Addr(), transport.KindGossip); errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial with a full accept queue until its deadline: %v, want the deadline", err)
	}
	// Room made while it waits lets it through.
	done := make(chan error, 1)
	go func() {
		c, err := a.Dial(context.Background(), b.Addr(), transport.KindGossip)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	(<-b.Streams(transport.KindGossip)).Close()
	if err := <-done; err != nil {
		t.Fatalf("Dial once the queue had room: %v", err)
	}
	// The other kind has its own queue.
	c, err := a.Dial(context.Background(), b.Addr(), transport.KindCall)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestStreamEcho(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	c, s := pair(t, a, b)
	go func() { // echo server
		buf := make([]byte, 1024)
		for {
			s.SetDeadline(time.Now().Add(wait))
			k, err := s.Read(buf)
			if err != nil {
				return
			}
			if _, err := s.Write(buf[:k]); err != nil {
				return
			}
		}
	}()
	for _, msg := range []string{"hello", "world", string(bytes.Repeat([]byte("z"), 1000))} {
		c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, c, len(msg)); string(got) != msg {
			t.Fatalf("echo %q, want %q", got, msg)
		}
	}
	// The other way: the server speaks first.
	if _, err := s.Write([]byte("server first")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, c, len("server first")); string(got) != "server first" {
		t.Fatalf("got %q", got)
	}
}

func TestStreamDeadlines(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	c, s := pair(t, a, b)

	dl := time.Now().Add(20 * time.Millisecond)
	c.SetReadDeadline(dl)
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
		t.Fatalf("Read past its deadline: %v, want a timeout", err)
	}
	if now := time.Now(); now.Before(dl) {
		t.Fatalf("Read timed out %v before its deadline", dl.Sub(now))
	}
	// A passed deadline fails at once, even with data there; clearing it
	// makes the data readable.
	s.Write([]byte("x"))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with a passed deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	if got := readN(t, c, 1); string(got) != "x" {
		t.Fatalf("got %q", got)
	}

	// A write deadline ends a Write blocked on a full buffer.
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	k, err := c.Write(make([]byte, StreamBuffer+10))
	if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) || k != StreamBuffer {
		t.Fatalf("Write past its deadline: %d, %v; want %d bytes and a timeout", k, err, StreamBuffer)
	}
}

func TestDeadlineExtendedWhileBlocked(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	c, s := pair(t, a, b)

	t.Run("read", func(t *testing.T) {
		c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			done <- err
		}()
		c.SetReadDeadline(time.Now().Add(time.Hour)) // extend while blocked
		select {
		case err := <-done:
			t.Fatalf("Read returned %v before the extended deadline", err)
		case <-time.After(100 * time.Millisecond):
		}
		c.SetReadDeadline(time.Now()) // then pull it in
		select {
		case err := <-done:
			if !isTimeout(err) {
				t.Fatalf("Read: %v, want a timeout", err)
			}
		case <-time.After(wait):
			t.Fatal("Read did not end when its deadline was moved to now")
		}
		c.SetReadDeadline(time.Time{})
	})

	t.Run("clear", func(t *testing.T) {
		c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			done <- err
		}()
		c.SetReadDeadline(time.Time{})
		select {
		case err := <-done:
			t.Fatalf("Read returned %v after its deadline was cleared", err)
		case <-time.After(100 * time.Millisecond):
		}
		s.Write([]byte("y"))
		if err := <-done; err != nil {
			t.Fatalf("Read: %v", err)
		}
	})

	t.Run("write", func(t *testing.T) {
		if _, err := c.Write(make([]byte, StreamBuffer)); err != nil { // fill the buffer
			t.Fatal(err)
		}
		c.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
		done := make(chan error, 1)
		go func() {
			_, err := c.Write([]byte("more"))
			done <- err
		}()
		c.SetWriteDeadline(time.Now().Add(time.Hour))
		select {
		case err := <-done:
			t.Fatalf("Write returned %v before the extended deadline", err)
		case <-time.After(100 * time.Millisecond):
		}
		readN(t, s, StreamBuffer)
		if err := <-done; err != nil {
			t.Fatalf("Write once the reader made room: %v", err)
		}
	})
}

func TestEOFAfterCloseDrains(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	c, s := pair(t, a, b)
	want := bytes.Repeat([]byte("0123456789"), 1000)
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, %v; want %d then EOF", len(got), err, len(want))
	}
	if k, err := s.Read(make([]byte, 1)); k != 0 || err != io.EOF {
		t.Fatalf("Read after EOF: %d, %v", k, err)
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Fatal("Write to a closed peer succeeded")
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); err == nil {
		t.Fatal("second Close returned nil")
	}
}

func TestCloseWakesBlocked(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	c, s := pair(t, a, b)
	readDone := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		readDone <- err
	}()
	if _, err := s.Write(make([]byte, StreamBuffer)); err != nil {
		t.Fatal(err)
	}
	c.Close() // discards what s sent
	select {
	case err := <-readDone:
		if !errors.Is(err, net.ErrClosed) && err != nil {
			t.Fatalf("blocked Read ended with %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not wake a blocked Read")
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write to a peer that closed: %v, want ECONNRESET", err)
	}
}

func TestBackpressure(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	c, s := pair(t, a, b)
	want := make([]byte, StreamBuffer+1000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		k, err := c.Write(want)
		done <- result{k, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("Write of more than the buffer returned (%d, %v) with no reader", r.n, r.err)
	case <-time.After(quiet):
	}
	got := readN(t, s, 2000) // room for the rest
	select {
	case r := <-done:
		if r.err != nil || r.n != len(want) {
			t.Fatalf("Write: %d, %v", r.n, r.err)
		}
	case <-time.After(wait):
		t.Fatal("Write stayed blocked after the reader made room")
	}
	got = append(got, readN(t, s, len(want)-2000)...)
	if !bytes.Equal(got, want) {
		t.Fatal("bytes changed or reordered")
	}
}

func TestStreamDelay(t *testing.T) {
	n := newNetwork(t, 7)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	c, s := pair(t, a, b)
	const d, jitter = 40 * time.Millisecond, 20 * time.Millisecond
	n.Delay(b.Addr(), d, jitter)
	start := time.Now()
	var want []byte
	for i := range 200 { // each write draws its own jitter; order must hold anyway
		msg := []byte{byte(i), byte(i >> 8)}
		want = append(want, msg...)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	first := readN(t, s, 2)
	if el := time.Since(start); el < d-jitter {
		t.Fatalf("first bytes after %v, want at least %v", el, d-jitter)
	}
	got := append(first, readN(t, s, len(want)-2)...)
	if !bytes.Equal(got, want) {
		t.Fatal("delayed stream bytes reordered")
	}
	// A dial waits a round trip.
	start = time.Now()
	c2, err := a.Dial(context.Background(), b.Addr(), transport.KindGossip)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	if el := time.Since(start); el < 2*(d-jitter) {
		t.Fatalf("dial took %v, want at least a round trip of %v", el, 2*(d-jitter))
	}
}

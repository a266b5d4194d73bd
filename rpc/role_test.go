package rpc

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// dialledConn returns the connection e uses for calls to p.
func dialledConn(t *testing.T, e *Endpoint, p Peer) *conn {
	t.Helper()
	e.mu.RLock()
	defer e.mu.RUnlock()
	pe := e.peers[keyOf(p)]
	if pe == nil || pe.conn == nil {
		t.Fatalf("no connection to %s", p)
	}
	return pe.conn
}

// roleState reports whether c's read role is held (or its token on its way
// to a waiting caller) and how many calls are pending.
func roleState(c *conn) (reading bool, pending int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reading, len(c.pending)
}

// awaitRole waits until c's read role is taken with n calls pending.
func awaitRole(t *testing.T, c *conn, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the read role taken with %d calls pending", n), func() bool {
		reading, pending := roleState(c)
		return reading && pending == n
	})
}

// The only caller holds the read role, blocked in a read; its context's end
// interrupts the read at a frame boundary, the cancel reaches the handler,
// the role is free again and the connection goes on.
func TestContextEndsWhileCallerReads(t *testing.T) {
	noLeaks(t)
	for _, tc := range []struct {
		name    string
		timeout time.Duration // 0: cancelled once the handler runs
		want    error
	}{
		{"cancel", 0, context.Canceled},
		{"deadline", 200 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := node(t, Config{})
			b, bp := node(t, Config{})
			b.Handle("echo", echo)
			started, seen := watcher(b, "wait")
			if _, err := a.Call(testCtx(t), bp, "echo", nil); err != nil {
				t.Fatal(err)
			}
			c := dialledConn(t, a, bp)
			ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(tc.timeout, waitTimeout))
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := a.Call(ctx, bp, "wait", nil)
				done <- err
			}()
			await(t, started, "handler start")
			awaitRole(t, c, 1)
			if tc.timeout == 0 {
				cancel()
			}
			if err := await(t, done, "call to return"); !errors.Is(err, tc.want) {
				t.Fatalf("caller: %v, want %v", err, tc.want)
			}
			if o := await(t, seen, "handler to see its context end"); !errors.Is(o.err, tc.want) {
				t.Fatalf("handler saw %v, want %v", o.err, tc.want)
			}
			if reading, pending := roleState(c); reading || pending != 0 {
				t.Fatalf("after the call: role held %v, %d pending", reading, pending)
			}
			// The same connection serves the next call: nothing was left
			// half read, and a late interrupt does no harm.
			for range 3 {
				if got, err := a.Call(testCtx(t), bp, "echo", []byte("next")); err != nil || string(got) != "next" {
					t.Fatalf("next call: %q, %v", got, err)
				}
			}
			if dialledConn(t, a, bp) != c || a.Stats().ProtocolErrors != 0 {
				t.Fatal("the connection was replaced")
			}
		})
	}
}

// The holder reads the answers of waiting callers and hands them over;
// when it leaves, a waiting caller takes the role and reads its own answer.
func TestReadRoleHandsOver(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	started, release := blocker(b, "block")
	if _, err := a.Call(testCtx(t), bp, "echo", nil); err != nil {
		t.Fatal(err)
	}
	c := dialledConn(t, a, bp)

	// The first caller holds the role while its handler blocks.
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	first := make(chan error, 1)
	go func() {
		_, err := a.Call(ctx1, bp, "block", nil)
		first <- err
	}()
	await(t, started, "first handler")
	awaitRole(t, c, 1)

	// Answers to other callers arrive while it reads: it hands them over.
	for i := range 5 {
		want := fmt.Sprint("echo ", i)
		if got, err := a.Call(testCtx(t), bp, "echo", []byte(want)); err != nil || string(got) != want {
			t.Fatalf("echo while another caller reads: %q, %v", got, err)
		}
	}

	// A second caller waits; the first gives up and passes the role on.
	second := make(chan []byte, 1)
	go func() {
		got, err := a.Call(testCtx(t), bp, "block", []byte("second"))
		if err != nil {
			got = []byte(err.Error())
		}
		second <- got
	}()
	await(t, started, "second handler")
	awaitRole(t, c, 2)
	cancel1()
	if err := await(t, first, "first caller"); !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want Canceled", err)
	}
	awaitRole(t, c, 1)
	// Only the second caller is left to read its answer.
	close(release)
	if got := await(t, second, "second caller"); string(got) != "second" {
		t.Fatalf("second caller: %q", got)
	}
	if reading, pending := roleState(c); reading || pending != 0 {
		t.Fatalf("after the calls: role held %v, %d pending", reading, pending)
	}
}

// Many callers on one connection, some giving up at random moments: each
// gets its own answer or its context's error, and the role never stalls.
func TestReadRoleUnderChurn(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("echo", func(ctx context.Context, r Request) ([]byte, error) {
		if r.Body[0]%4 == 0 {
			select {
			case <-time.After(time.Duration(r.Body[0]) * time.Microsecond): // the handler's work
			case <-ctx.Done():
			}
		}
		return r.Body, nil
	})
	const callers, calls = 16, 150
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for j := range calls {
				msg := fmt.Appendf([]byte{byte(rng.IntN(256))}, "caller %d call %d", i, j)
				timeout := waitTimeout
				if rng.IntN(4) == 0 {
					timeout = time.Duration(rng.IntN(200)) * time.Microsecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				got, err := a.Call(ctx, bp, "echo", msg)
				cancel()
				switch {
				case err == nil && string(got) != string(msg):
					t.Errorf("got %q, want %q", got, msg)
				case err != nil && !errors.Is(err, context.DeadlineExceeded):
					t.Errorf("call: %v", err)
				}
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d of %d calls gave up", failed.Load(), callers*calls)
	if got, err := a.Call(testCtx(t), bp, "echo", []byte{1}); err != nil || got[0] != 1 {
		t.Fatalf("after the churn: %v, %v", got, err)
	}
	if n := a.Stats().ProtocolErrors + b.Stats().ProtocolErrors; n != 0 {
		t.Fatalf("%d protocol errors", n)
	}
}

// rawServer accepts call streams on its own transport as an insecure peer
// with ID "raw#1" and hands each, after the hellos, to serve.
func rawServer(t *testing.T, serve func(nc net.Conn, br *bufio.Reader)) Peer {
	t.Helper()
	tr := listen(t)
	streams := tr.Streams(transport.KindCall)
	stop := make(chan struct{})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case nc := <-streams:
				mu.Lock()
				conns = append(conns, nc)
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer nc.Close()
					br := bufio.NewReader(nc)
					if _, err := readHello(br); err != nil {
						return
					}
					if _, err := nc.Write(appendHello(nil, hello{version: protoVersion, id: "raw#1"})); err != nil {
						return
					}
					serve(nc, br)
				}()
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		tr.Close()
		mu.Lock()
		for _, nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return Peer{ID: "raw#1", Addr: tr.Addr()}
}

// A reply that arrives in two parts, with the caller's deadline passing in
// between, is read whole: the call returns the reply or its deadline, and
// the connection stays in step for the next call.
func TestDeadlineInsideAFrame(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{Insecure: true})
	more := make(chan struct{})
	bp := rawServer(t, func(nc net.Conn, br *bufio.Reader) {
		for first := true; ; first = false {
			f, err := readFrame(br, 1<<20)
			if err != nil {
				return
			}
			if f.typ != frameRequest {
				continue // the cancel of an abandoned call
			}
			reply := appendReply(nil, f.id, f.body)
			if first {
				if _, err := nc.Write(reply[:headerSize+2]); err != nil {
					return
				}
				<-more
				reply = reply[headerSize+2:]
			}
			if _, err := nc.Write(reply); err != nil {
				return
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		got, err := a.Call(ctx, bp, "split", []byte("split reply"))
		if err == nil && string(got) != "split reply" {
			err = fmt.Errorf("got %q", got)
		}
		done <- err
	}()
	<-ctx.Done()
	close(more)
	if err := await(t, done, "split call"); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("split call: %v", err)
	}
	c := dialledConn(t, a, bp)
	for i := range 3 {
		want := fmt.Sprint("after ", i)
		if got, err := a.Call(testCtx(t), bp, "echo", []byte(want)); err != nil || string(got) != want {
			t.Fatalf("next call: %q, %v", got, err)
		}
	}
	if dialledConn(t, a, bp) != c || a.Stats().ProtocolErrors != 0 {
		t.Fatal("the connection was replaced")
	}
}

// The peer sends nothing unasked on a dialled connection: a request there
// is a protocol error, and the pending call fails with ErrNodeDown.
func TestRequestOnDialledConnectionIsProtocolError(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{Insecure: true})
	bp := rawServer(t, func(nc net.Conn, br *bufio.Reader) {
		if _, err := readFrame(br, 1<<20); err != nil {
			return
		}
		_, _ = nc.Write(appendRequest(nil, 1, "reverse", 0, nil))
		_, _ = readFrame(br, 1<<20) // until the caller closes
	})
	_, err := a.Call(testCtx(t), bp, "x", nil)
	if !errors.Is(err, ErrNodeDown) || !errors.Is(err, ErrProtocol) {
		t.Fatalf("call: %v, want ErrNodeDown and ErrProtocol", err)
	}
	if n := a.Stats().ProtocolErrors; n != 1 {
		t.Fatalf("ProtocolErrors = %d, want 1", n)
	}
}

// Nor does the dialler send answers on it.
func TestReplyOnAcceptedConnectionIsProtocolError(t *testing.T) {
	noLeaks(t)
	b, bp := node(t, Config{Insecure: true})
	garbageClient(t, bp.Addr, nil, true, appendReply(nil, 1, []byte("unasked")))
	if n := b.Stats().ProtocolErrors; n != 1 {
		t.Fatalf("ProtocolErrors = %d, want 1", n)
	}
}

// Nobody reads an idle dialled connection, so a close by the peer is
// noticed by the next call, which fails; the call after it dials again.
func TestPeerClosesIdleConnection(t *testing.T) {
	noLeaks(t)
	a, ap := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	if _, err := a.Call(testCtx(t), bp, "echo", nil); err != nil {
		t.Fatal(err)
	}
	b.PeerDown(ap.ID) // b believes a failed and drops its connections
	waitFor(t, "b to close its connections", func() bool { return b.Stats().Conns == 0 })
	if n := a.Stats().Conns; n != 1 {
		t.Fatalf("a has %d connections, want the idle one still", n)
	}
	if _, err := a.Call(testCtx(t), bp, "echo", nil); !errors.Is(err, ErrNodeDown) {
		t.Fatalf("call on the closed connection: %v, want ErrNodeDown", err)
	}
	if got, err := a.Call(testCtx(t), bp, "echo", []byte("again")); err != nil || string(got) != "again" {
		t.Fatalf("call after: %q, %v", got, err)
	}
}

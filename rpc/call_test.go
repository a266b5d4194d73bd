package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cloister-go/cloister/transport"
)

func TestCallReturnsReply(t *testing.T) {
	noLeaks(t)
	a, ap := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("upper", func(_ context.Context, r Request) ([]byte, error) {
		if r.From != ap.ID || r.Name != "upper" {
			return nil, fmt.Errorf("request from %q for %q", r.From, r.Name)
		}
		return bytes.ToUpper(r.Body), nil
	})
	got, err := a.Call(testCtx(t), bp, "upper", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "HELLO" {
		t.Fatalf("reply %q, want HELLO", got)
	}
	// An empty body and an empty reply are messages too.
	b.Handle("empty", func(context.Context, Request) ([]byte, error) { return nil, nil })
	if got, err := a.Call(testCtx(t), bp, "empty", nil); err != nil || len(got) != 0 {
		t.Fatalf("empty call: %q, %v", got, err)
	}
}

func TestCallsGoOverTheDialledConnection(t *testing.T) {
	noLeaks(t)
	a, ap := node(t, Config{})
	b, bp := node(t, Config{})
	a.Handle("echo", echo)
	b.Handle("echo", echo)
	if _, err := a.Call(testCtx(t), bp, "echo", []byte("a→b")); err != nil {
		t.Fatal(err)
	}
	if na, nb := a.Stats().Conns, b.Stats().Conns; na != 1 || nb != 1 {
		t.Fatalf("after a→b: connections a=%d b=%d, want 1 each", na, nb)
	}
	// b has accepted a's connection but calls a over one it dials: a
	// dialled connection is read by its callers, so the accepting side
	// sends no requests on it.
	for range 2 {
		if got, err := b.Call(testCtx(t), ap, "echo", []byte("b→a")); err != nil || string(got) != "b→a" {
			t.Fatalf("b→a: %q, %v", got, err)
		}
	}
	if na, nb := a.Stats().Conns, b.Stats().Conns; na != 2 || nb != 2 {
		t.Fatalf("after b→a: connections a=%d b=%d, want 2 each", na, nb)
	}
}

// countingTransport counts dials.
type countingTransport struct {
	transport.Transport
	dials atomic.Int64
}

func (c *countingTransport) Dial(ctx context.Context, to netip.AddrPort, k transport.Kind) (net.Conn, error) {
	c.dials.Add(1)
	return c.Transport.Dial(ctx, to, k)
}

func TestConcurrentCallsShareOneConnection(t *testing.T) {
	noLeaks(t)
	ct := &countingTransport{Transport: listen(t)}
	a, _ := node(t, Config{Transport: ct})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	const callers, calls = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range calls {
				want := fmt.Sprintf("caller %d call %d", i, j)
				got, err := a.Call(testCtx(t), bp, "echo", []byte(want))
				if err != nil || string(got) != want {
					errs <- fmt.Errorf("got %q, %v; want %q", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ct.dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1 (concurrent first calls share one)", n)
	}
	if n := b.Stats().Conns; n != 1 {
		t.Errorf("b has %d connections, want 1", n)
	}
}

func TestRepliesArriveOutOfOrder(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	release := make(chan struct{})
	started := make(chan struct{})
	b.Handle("slow", func(ctx context.Context, r Request) ([]byte, error) {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []byte("slow"), nil
	})
	b.Handle("fast", echo)
	slow := make(chan error, 1)
	go func() {
		got, err := a.Call(testCtx(t), bp, "slow", nil)
		if err == nil && string(got) != "slow" {
			err = fmt.Errorf("slow got %q", got)
		}
		slow <- err
	}()
	await(t, started, "slow handler")
	// The fast call, sent after the slow one on the same connection, is
	// answered while the slow one is still running.
	if got, err := a.Call(testCtx(t), bp, "fast", []byte("fast")); err != nil || string(got) != "fast" {
		t.Fatalf("fast: %q, %v", got, err)
	}
	select {
	case err := <-slow:
		t.Fatalf("slow call finished before it was released: %v", err)
	default:
	}
	close(release)
	if err := await(t, slow, "slow call"); err != nil {
		t.Fatal(err)
	}
}

func TestCastReachesHandler(t *testing.T) {
	noLeaks(t)
	a, ap := node(t, Config{})
	b, bp := node(t, Config{})
	got := make(chan Request, 1)
	b.Handle("note", func(_ context.Context, r Request) ([]byte, error) {
		got <- r
		return []byte("ignored"), errors.New("ignored too")
	})
	if err := a.Cast(context.Background(), bp, "note", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	r := await(t, got, "cast")
	if string(r.Body) != "hi" || r.From != ap.ID {
		t.Fatalf("cast %q from %q", r.Body, r.From)
	}
	// A cast to a name without a handler is dropped and counted.
	if err := a.Cast(context.Background(), bp, "nobody", nil); err != nil {
		t.Fatal(err)
	}
	// Frames on one connection are handled in order, so once a later call
	// is answered the dropped cast has been counted.
	b.Handle("echo", echo)
	if _, err := a.Call(testCtx(t), bp, "echo", nil); err != nil {
		t.Fatal(err)
	}
	if n := b.Stats().DroppedCasts; n != 1 {
		t.Fatalf("DroppedCasts = %d, want 1", n)
	}
}

func TestHandlerErrorIsRemoteError(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("fail", func(context.Context, Request) ([]byte, error) { return nil, errors.New("no such account") })
	_, err := a.Call(testCtx(t), bp, "fail", nil)
	var re *RemoteError
	if !errors.As(err, &re) || re.Node != bp.ID || re.Message != "no such account" {
		t.Fatalf("err = %v, want RemoteError from %s", err, bp.ID)
	}
}

func TestHandlerPanicIsRemoteError(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("boom", func(context.Context, Request) ([]byte, error) { panic("kaboom") })
	_, err := a.Call(testCtx(t), bp, "boom", nil)
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want RemoteError", err)
	}
	if n := b.Stats().HandlerPanics; n != 1 {
		t.Fatalf("HandlerPanics = %d", n)
	}
}

func TestNoHandler(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("gone", echo)
	b.Handle("gone", nil)
	if _, err := a.Call(testCtx(t), bp, "gone", nil); !errors.Is(err, ErrNoHandler) {
		t.Fatalf("err = %v, want ErrNoHandler", err)
	}
}

func TestTypedCall(t *testing.T) {
	noLeaks(t)
	type sum struct{ A, B int }
	type total struct{ Sum int }
	a, ap := node(t, Config{})
	b, bp := node(t, Config{})
	HandleTyped(b, "add", nil, func(_ context.Context, from string, r sum) (total, error) {
		if from != ap.ID {
			return total{}, fmt.Errorf("from %q", from)
		}
		return total{r.A + r.B}, nil
	})
	got, err := CallTyped[sum, total](testCtx(t), a, bp, "add", sum{2, 3}, JSON)
	if err != nil || got.Sum != 5 {
		t.Fatalf("add: %+v, %v", got, err)
	}
	// A request the handler cannot decode is its error.
	_, err = CallTyped[string, total](testCtx(t), a, bp, "add", "not a sum", nil)
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("bad request: %v, want RemoteError", err)
	}
	// A value the codec cannot encode never leaves.
	if _, err = CallTyped[chan int, total](testCtx(t), a, bp, "add", make(chan int), nil); !errors.Is(err, ErrCodec) {
		t.Fatalf("unencodable: %v, want ErrCodec", err)
	}
}

func TestMulticall(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	var peers []Peer
	for i := range 3 {
		n, p := node(t, Config{})
		n.Handle("whoami", func(context.Context, Request) ([]byte, error) { return []byte(fmt.Sprint(i)), nil })
		peers = append(peers, p)
	}
	// A peer whose port nobody listens on any more.
	gone := listen(t)
	peers = append(peers, Peer{ID: "gone#1", Addr: gone.Addr()})
	gone.Close()

	res := a.Multicall(testCtx(t), peers, "whoami", nil)
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res[:3] {
		if r.Err != nil || string(r.Body) != fmt.Sprint(i) || r.Peer != peers[i] {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if !errors.Is(res[3].Err, ErrNodeDown) {
		t.Errorf("unreachable peer: %v, want ErrNodeDown", res[3].Err)
	}
}

func TestInsecureModeCalls(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{Insecure: true})
	b, bp := node(t, Config{Insecure: true})
	b.Handle("echo", echo)
	if got, err := a.Call(testCtx(t), bp, "echo", []byte("plain")); err != nil || string(got) != "plain" {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestAnonymousPeer(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	b, bp := node(t, Config{})
	b.Handle("echo", echo)
	// No ID: whoever answers at the address.
	if got, err := a.Call(testCtx(t), Peer{Addr: bp.Addr}, "echo", []byte("x")); err != nil || string(got) != "x" {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestInvalidArguments(t *testing.T) {
	noLeaks(t)
	a, _ := node(t, Config{})
	_, bp := node(t, Config{})
	ctx := testCtx(t)
	for _, tc := range []struct {
		name string
		to   Peer
	}{
		{"", bp},
		{string(make([]byte, 256)), bp},
		{"x", Peer{ID: "no address"}},
	} {
		if _, err := a.Call(ctx, tc.to, tc.name, nil); err == nil {
			t.Errorf("Call(%v, %d-byte name) succeeded", tc.to, len(tc.name))
		}
	}
	for _, cfg := range []Config{
		{Transport: listen(t)}, // no security mode
		{Transport: listen(t), Insecure: true, Secret: testSecret},
		{Transport: listen(t), Secret: []byte("short")},
		{Transport: listen(t), Insecure: true, MaxMessageSize: MaxMessageSizeLimit + 1},
		{Insecure: true},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
}

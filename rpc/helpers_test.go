package rpc

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

var testSecret = []byte("test-cluster-secret-0123456789")

// waitTimeout bounds every wait in the tests; nothing should take close to it.
const waitTimeout = 10 * time.Second

var nodeSeq atomic.Int64

func listen(t testing.TB) *transport.Net {
	t.Helper()
	tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0", HandshakeTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// node starts an endpoint on its own loopback transport. cfg's Transport
// and ID are filled in when empty, and its security defaults to testSecret.
func node(t testing.TB, cfg Config) (*Endpoint, Peer) {
	t.Helper()
	if cfg.Transport == nil {
		cfg.Transport = listen(t)
	}
	if cfg.ID == "" {
		cfg.ID = fmt.Sprintf("node%d@%s#%016x", nodeSeq.Add(1), cfg.Transport.Addr(), time.Now().UnixNano())
	}
	if cfg.Secret == nil && cfg.TLS == nil && !cfg.Insecure {
		cfg.Secret = testSecret
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, Peer{ID: cfg.ID, Addr: cfg.Transport.Addr()}
}

func echo(_ context.Context, r Request) ([]byte, error) { return r.Body, nil }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// await waits for ch or fails the test after waitTimeout.
func await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// noLeaks registers, before the test's other cleanups so that it runs after
// them, a check that no goroutine of this package or of the transport is
// left once everything the test started has been closed. It polls the
// goroutine stacks until a deadline, because goroutines finish shortly after
// Close returns only for the runtime's own bookkeeping (Close itself waits
// for ours). Tests that use it must not run in parallel.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			leaked := ownGoroutines()
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines left after Close:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
			}
			<-tick.C
		}
	})
}

// ownGoroutines returns the stacks of goroutines running code of the rpc
// endpoint or of the transport.
func ownGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, marker := range []string{"rpc.(*Endpoint).", "rpc.(*conn).", "transport.(*Net)."} {
			if strings.Contains(g, marker) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

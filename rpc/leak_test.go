package rpc

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// TestCloseLeaksNoGoroutines runs three endpoints through calls in every
// direction, casts, blocked handlers, pending calls, a refused handshake
// and a failed dial, closes everything, and checks that the number of
// goroutines is back to where it started.
func TestCloseLeaksNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	pendingErrs := make(chan error, 8)
	func() {
		var eps []*Endpoint
		var trs []*transport.Net
		var peers []Peer
		for i := range 3 {
			tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("leak%d#1", i)
			e, err := New(Config{ID: id, Transport: tr, Secret: testSecret})
			if err != nil {
				t.Fatal(err)
			}
			e.Handle("echo", echo)
			trs, eps, peers = append(trs, tr), append(eps, e), append(peers, Peer{ID: id, Addr: tr.Addr()})
		}
		started, _ := blocker(eps[2], "block")
		ctx := testCtx(t)
		for i, e := range eps {
			for j, p := range peers {
				if i == j {
					continue
				}
				if _, err := e.Call(ctx, p, "echo", []byte("x")); err != nil {
					t.Fatal(err)
				}
				if err := e.Cast(context.Background(), p, "echo", nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Pending calls whose handlers block until their context ends.
		for _, e := range eps[:2] {
			for range 2 {
				go func() {
					_, err := e.Call(ctx, peers[2], "block", nil)
					pendingErrs <- err
				}()
			}
		}
		for range 4 {
			await(t, started, "blocked handler")
		}
		// A dial that fails its handshake, and one to a wrong incarnation.
		intruderTr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		intruder, err := New(Config{Transport: intruderTr, Secret: otherSecret})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = intruder.Call(ctx, peers[0], "echo", nil)
		_, _ = eps[0].Call(ctx, Peer{ID: "leak1#0", Addr: peers[1].Addr}, "echo", nil)
		intruder.Close()
		intruderTr.Close()

		for i := range eps {
			eps[i].Close()
			trs[i].Close()
		}
	}()
	for range 4 {
		await(t, pendingErrs, "pending call to fail")
	}
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", base, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		<-tick.C
	}
}

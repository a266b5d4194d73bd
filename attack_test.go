package cloister_test

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// settledGoroutines returns the goroutine count once it has not changed
// for half a second (the cluster's background work has settled), failing
// the test when it keeps moving for ten.
func settledGoroutines(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, since := runtime.NumGoroutine(), time.Now()
	for time.Since(since) < 500*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("the goroutine count did not settle in 10 s (now %d)", last)
		}
		time.Sleep(20 * time.Millisecond)
		if g := runtime.NumGoroutine(); g != last {
			last, since = g, time.Now()
		}
	}
	return last
}

// attack opens conns streams to addr that each send prefix and then junk
// bytes of junk, and slow streams that send prefix one byte per second; it
// returns once every fast stream has sent what it could (or was closed),
// and a function that closes everything and waits for the senders.
func attack(t *testing.T, addr string, prefix []byte, conns, junk, slow int) (stop func()) {
	t.Helper()
	var (
		mu   sync.Mutex
		open []net.Conn
		wg   sync.WaitGroup
		sent sync.WaitGroup
	)
	done := make(chan struct{})
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return nil
		}
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
		return c
	}
	body := make([]byte, 64<<10)
	for range conns {
		wg.Add(1)
		sent.Add(1)
		go func() {
			defer wg.Done()
			defer sent.Done()
			c := dial()
			if c == nil {
				return
			}
			_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(prefix); err != nil {
				return
			}
			for n := 0; n < junk; n += len(body) {
				if _, err := c.Write(body); err != nil {
					return
				}
			}
		}()
	}
	for range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial()
			if c == nil {
				return
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for _, b := range prefix {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				select {
				case <-tick.C:
				case <-done:
					return
				}
			}
		}()
	}
	sent.Wait()
	return func() {
		close(done)
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// gossipPrefix is what a memberlist stream of an encrypted push/pull
// starts with: the kind byte, the label header, the encrypted message type
// and the body length, here just under memberlist's 20 MiB limit.
func gossipPrefix(label string) []byte {
	b := append([]byte{'G', 244, byte(len(label))}, label...)
	b = append(b, 10)
	return binary.BigEndian.AppendUint32(b, 20<<20-1)
}

// callPrefix is the start of a TLS ClientHello claiming a 16 KiB record.
func callPrefix() []byte {
	return []byte{'C', 0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc}
}

// An outsider who knows only the port and the public label opens 100
// streams claiming large bodies and sending megabytes, plus slow streams
// that send a byte per second. The node buffers none of it, its goroutines
// return to their count before the attack, and the cluster goes on
// working.
func TestPreAuthenticationFloods(t *testing.T) {
	if testing.Short() {
		t.Skip("attack test")
	}
	for _, tc := range []struct {
		name   string
		prefix []byte
	}{
		{"gossip", gossipPrefix("cloister/cloistertest")},
		{"calls", callPrefix()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cloistertest.New(t, 3, cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
				// A generous stream timeout, as on a WAN: memberlist
				// would keep what it buffered that long.
				cfg.Detection.TCPTimeout = 10 * time.Second
			}))
			target := c.Node(0)
			for _, n := range c.Nodes() {
				if err := n.Handle("echo", func(_ context.Context, _ cloister.Member, b []byte) ([]byte, error) { return b, nil }); err != nil {
					t.Fatal(err)
				}
			}
			call := func() {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				for _, from := range c.Nodes() {
					if _, err := from.Call(ctx, target.Self(), "echo", []byte("x")); err != nil && from != target {
						t.Fatalf("call during the attack: %v", err)
					}
				}
			}
			call() // connections and TLS identities exist before the baseline
			// The watches between members open a moment after Ready:
			// the baseline is taken once the count has stopped moving.
			baseG := settledGoroutines(t)
			baseHeap := heapInUse()

			start := time.Now()
			stop := attack(t, target.Self().Addr.String(), tc.prefix, 100, 1<<20, 20)
			// The slow streams go on past the guards' deadlines.
			time.Sleep(3 * time.Second)
			heap := heapInUse()
			t.Logf("%s: 100 streams × 1 MiB + 20 slow: heap %d KiB before, %d KiB during the attack (%+d KiB), %v",
				tc.name, baseHeap>>10, heap>>10, (int64(heap)-int64(baseHeap))>>10, time.Since(start).Round(time.Millisecond))
			if heap > baseHeap+8<<20 {
				t.Errorf("heap grew by %d MiB under the attack", (heap-baseHeap)>>20)
			}
			call()
			stop()
			var g int
			deadline := time.Now().Add(15 * time.Second)
			for g = runtime.NumGoroutine(); g > baseG+5; g = runtime.NumGoroutine() {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("%d goroutines, %d before the attack:\n%s", g, baseG, buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s: goroutines %d before, %d after", tc.name, baseG, g)
			for i, n := range c.Nodes() {
				if s := n.Snapshot(); s.State != cloister.Ready || len(s.View.Members) != 3 {
					t.Fatalf("node %d after the attack: %v with %d members", i, s.State, len(s.View.Members))
				}
			}
			call()
			st := target.Stats()
			t.Logf("%s: stats %+v", tc.name, st)
			if g := st.Gossip; tc.name == "gossip" && (g.StreamsTooLarge+g.StreamsOverLimit < 100 || g.StreamsSlow == 0) {
				t.Errorf("attack streams not counted: %+v", g)
			}
		})
	}
}

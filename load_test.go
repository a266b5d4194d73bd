package cloister_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// Scenario 19: every node floods every other with casts (a 4 KiB cast to
// each peer every millisecond: 4,000 a second per node, 16 MB/s, far above
// what membership itself sends) while the handlers are slow. Queues stay
// bounded: a cast either goes or fails at once with ErrOverloaded; memory
// stays bounded; no member is declared failed and no view changes; calls
// still get through, and their latency under the flood is reported. (An
// unpaced flood that takes every CPU of the machine does make the failure
// detector declare live members failed: that is issue #11's subject.)
func TestMessageFloodKeepsMembership(t *testing.T) {
	rs := newRecorders(5)
	// The LAN profile, as deployed: the harness's default (local) profile
	// probes twice as often with a 50 ms timeout, which five flooding
	// nodes in one process under the race detector can miss (that is
	// issue #11's subject: failure detection under load).
	lan := cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		cfg.Detection = cloister.LANDetection()
		cfg.Listeners = append(cfg.Listeners, rs[i])
	})
	c := cloistertest.New(t, 5, lan)
	var handled atomic.Int64
	stuck := make(chan time.Time)
	defer close(stuck)
	for i, n := range c.Nodes() {
		// Slow consumers: a tenth of a millisecond per message, and node
		// 4 stuck until the flood ends: its bounds must drop the excess.
		pause := time.After
		if i == 4 {
			pause = func(time.Duration) <-chan time.Time { return stuck }
		}
		n.Handle("flood", func(ctx context.Context, _ cloister.Member, _ []byte) ([]byte, error) {
			handled.Add(1)
			select {
			case <-pause(100 * time.Microsecond):
			case <-ctx.Done():
			}
			return nil, nil
		})
		n.Handle("ping", func(context.Context, cloister.Member, []byte) ([]byte, error) { return []byte("pong"), nil })
	}
	views := make([]cloister.ViewID, 5)
	for i, n := range c.Nodes() {
		views[i] = n.Snapshot().View.ID
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// The flood lasts at least window, and on until the stuck consumer
	// has dropped casts (a busy machine sends fewer a second), at most
	// maxWindow and perNode casts per node. The stuck node drops a cast
	// once 1,024 from one sender wait (rpc.DefaultMaxInFlightPerConn):
	// under the race detector on a loaded CI machine, 6 s of flood once
	// sent fewer than that.
	const window, maxWindow = 1500 * time.Millisecond, 20 * time.Second
	const perNode = 20000
	msg := make([]byte, 4096)
	var sent, overloaded atomic.Int64
	var wrong atomic.Pointer[error]
	var peak atomic.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), maxWindow)
	defer cancel()
	began := time.Now()
	minEnd := began.Add(window)
	go func() {
		for ctx.Err() == nil {
			if time.Now().After(minEnd) && c.Node(4).Stats().Calls.DroppedCasts > 0 {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond) // pacing the check; the flood's end is the condition
		}
	}()
	var wg sync.WaitGroup
	for _, n := range c.Nodes() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for k := 0; k < perNode && ctx.Err() == nil; k++ {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
				err := n.Multicast(ctx, "flood", msg)
				switch {
				case err == nil:
					sent.Add(4)
				case errors.Is(err, cloister.ErrOverloaded):
					overloaded.Add(1)
				default:
					wrong.Store(&err)
				}
			}
		}()
	}
	// Calls during the flood, and the heap's peak.
	var lat []time.Duration
	for ctx.Err() == nil {
		start := time.Now()
		cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Node(0).Call(cctx, c.Node(1).Self(), "ping", nil)
		ccancel()
		if err == nil {
			lat = append(lat, time.Since(start))
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
		time.Sleep(10 * time.Millisecond) // paces the probe calls; not a wait for a condition
	}
	wg.Wait()
	took := time.Since(began).Round(time.Millisecond)
	if err := wrong.Load(); err != nil {
		t.Fatalf("a cast failed with %v: want nil or ErrOverloaded", *err)
	}
	for i, n := range c.Nodes() {
		s := n.Snapshot()
		if s.State != cloister.Ready || s.View.ID != views[i] {
			t.Fatalf("node %d is %s on view %x after the flood, was Ready on %x", i, s.StateName, s.View.ID, views[i])
		}
		if downs := rs[i].downs(); len(downs) != 0 {
			t.Fatalf("node %d declared %v failed under load", i, downs)
		}
	}
	dropped := c.Node(4).Stats().Calls.DroppedCasts
	if dropped == 0 && overloaded.Load() == 0 {
		t.Fatal("the slow node neither dropped casts nor refused them: its queue is not bounded")
	}
	growth := int64(peak.Load()) - int64(before.HeapInuse)
	if growth > 512<<20 {
		t.Fatalf("heap in use grew by %d MiB under the flood", growth>>20)
	}
	if len(lat) == 0 {
		t.Fatal("no call got through during the flood")
	}
	slices.Sort(lat)
	t.Logf("flood of %v: %d casts sent, %d refused with ErrOverloaded, %d handled, %d dropped by the slow node; "+
		"heap in use +%d MiB at peak; %d calls during it, p50 %v, p99 %v", took, sent.Load(), overloaded.Load(),
		handled.Load(), dropped, growth>>20, len(lat), lat[len(lat)/2], lat[len(lat)*99/100])
}

package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

func noop(context.Context, cloister.Member, []byte) ([]byte, error) { return nil, nil }

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(len(s)-1, i))]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// measureCloister measures one cluster of n nodes and returns its metrics.
func measureCloister(ctx context.Context, n, seq, conc, workers int, run int) (map[string]float64, error) {
	c, err := start(ctx, n)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	out := map[string]float64{}
	tag := fmt.Sprintf("r%d", run)

	// Sequential registration latency on node 0.
	ds := make([]time.Duration, 0, seq)
	for i := range seq {
		t0 := time.Now()
		if _, err := c.nodes[0].names.Register(ctx, fmt.Sprintf("%s-seq-%d", tag, i), noop); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t0))
	}
	out["register_p50_us"], out["register_p99_us"] = us(pct(ds, 0.5)), us(pct(ds, 0.99))

	// Cluster-wide rate.
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.nodes[w%n].names
			for {
				i := next.Add(1) - 1
				if i >= int64(conc) {
					return
				}
				if _, err := r.Register(ctx, fmt.Sprintf("%s-conc-%d", tag, i), noop); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	out["register_per_s"] = float64(conc) / time.Since(t0).Seconds()
	select {
	case err := <-errs:
		return nil, err
	default:
	}

	// Visible on every node: each node's watcher hears the registration
	// (no polling: a poller would take the processor from the nodes).
	vis := make([]time.Duration, 0, 200)
	for i := range 200 {
		name := fmt.Sprintf("%s-vis-%d", tag, i)
		seen := make(chan time.Time, n)
		var cancels []func()
		for _, nd := range c.nodes {
			events, cancel := nd.names.Watch(name)
			cancels = append(cancels, cancel)
			<-events // the current state: unregistered
			go func() {
				select {
				case <-events:
					seen <- time.Now()
				case <-ctx.Done():
				}
			}()
		}
		t0 := time.Now()
		if _, err := c.nodes[0].names.Register(ctx, name, noop); err != nil {
			return nil, err
		}
		last := t0
		for range n {
			last = later(last, <-seen)
		}
		for _, cancel := range cancels {
			cancel()
		}
		vis = append(vis, last.Sub(t0))
	}
	out["visible_p50_us"], out["visible_p99_us"] = us(pct(vis, 0.5)), us(pct(vis, 0.99))

	// Lookups on node 1 (any node: every node reads its own copy).
	names := make([]string, 0, conc)
	for i := range conc {
		names = append(names, fmt.Sprintf("%s-conc-%d", tag, i))
	}
	r := c.nodes[min(1, n-1)].names
	runtime.GC() // the registrations' garbage, collected before, not during, the lookups
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok := r.Lookup(names[i%len(names)]); !ok {
				b.Fatal("missing")
			}
		}
	})
	out["lookup_ns"], out["lookup_allocs"] = float64(res.NsPerOp()), float64(res.AllocsPerOp())

	// Groups: join latency, visibility, member listing.
	joins := make([]time.Duration, 0, seq)
	for i := range seq {
		t0 := time.Now()
		if err := c.nodes[0].groups.Join(fmt.Sprintf("%s-g-%d", tag, i), "m", noop); err != nil {
			return nil, err
		}
		joins = append(joins, time.Since(t0))
	}
	out["join_p50_us"] = us(pct(joins, 0.5))
	gvis := make([]time.Duration, 0, 200)
	for i := range 200 {
		g := fmt.Sprintf("%s-gv-%d", tag, i)
		seen := make(chan time.Time, n)
		var cancels []func()
		for _, nd := range c.nodes {
			events, cancel := nd.groups.Watch(g)
			cancels = append(cancels, cancel)
			go func() {
				select {
				case <-events:
					seen <- time.Now()
				case <-ctx.Done():
				}
			}()
		}
		t0 := time.Now()
		if err := c.nodes[0].groups.Join(g, "m", noop); err != nil {
			return nil, err
		}
		last := t0
		for range n {
			last = later(last, <-seen)
		}
		for _, cancel := range cancels {
			cancel()
		}
		gvis = append(gvis, last.Sub(t0))
	}
	out["join_visible_p50_us"], out["join_visible_p99_us"] = us(pct(gvis, 0.5)), us(pct(gvis, 0.99))
	gs := c.nodes[min(1, n-1)].groups
	g0 := tag + "-g-0"
	res = testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(gs.Members(g0)) != 1 {
				b.Fatal("missing")
			}
		}
	})
	out["members_ns"], out["members_allocs"] = float64(res.NsPerOp()), float64(res.AllocsPerOp())
	return out, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// spin polls cond without sleeping (the cost of a wakeup would be measured
// otherwise), yielding the processor between polls.
func spin(ctx context.Context, cond func() bool) error {
	for !cond() {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return nil
}

// measureCatchup times a fourth node's catch-up with total names held by
// three.
func measureCatchup(ctx context.Context, total, workers int) (float64, error) {
	c, err := start(ctx, 3)
	if err != nil {
		return 0, err
	}
	defer c.stop()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.nodes[w%3].names
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				if _, err := r.Register(ctx, fmt.Sprintf("user-%07d", i), noop); err != nil {
					failed.Store(&err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return 0, *err
	}
	if err := spin(ctx, func() bool {
		return c.nodes[0].names.Len() == total && c.nodes[1].names.Len() == total && c.nodes[2].names.Len() == total
	}); err != nil {
		return 0, err
	}
	t0 := time.Now()
	nd, err := c.add(ctx, 3, nil, nil)
	if err != nil {
		return 0, err
	}
	if err := spin(ctx, func() bool { return nd.names.Len() == total }); err != nil {
		return 0, err
	}
	return float64(time.Since(t0).Milliseconds()), nil
}

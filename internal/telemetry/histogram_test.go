package telemetry

import (
	"math"
	"slices"
	"sync"
	"testing"
)

// A bucket counts the values at most its bound, cumulatively; values
// above every bound are only in the count, as in Prometheus.
func TestHistogramBuckets(t *testing.T) {
	h := newHistogram([]float64{0.1, 1, 10})
	for _, v := range []float64{0.05, 0.1, 0.5, 1, 1.5, 10, 11, 100} {
		h.Observe(v)
	}
	got := h.Value()
	if want := []uint64{2, 4, 6}; !slices.Equal(got.Cumulative, want) {
		t.Errorf("cumulative buckets %v, want %v", got.Cumulative, want)
	}
	if got.Count != 8 || math.Abs(got.Sum-124.15) > 1e-9 {
		t.Errorf("count %d, sum %v; want 8, 124.15", got.Count, got.Sum)
	}
	if !slices.Equal(got.Bounds, []float64{0.1, 1, 10}) {
		t.Errorf("bounds %v", got.Bounds)
	}
	if empty := newHistogram(CallBuckets).Value(); empty.Count != 0 || empty.Sum != 0 || len(empty.Cumulative) != len(CallBuckets) {
		t.Errorf("an empty histogram reads %+v", empty)
	}
}

// Observe does not allocate, nor does the instrumentation of a call.
func TestObserveDoesNotAllocate(t *testing.T) {
	h := newHistogram(CallBuckets)
	if n := testing.AllocsPerRun(1000, func() { h.Observe(0.003) }); n != 0 {
		t.Errorf("Observe: %v allocations, want 0", n)
	}
	m := New()
	m.CallDone("warm", m.Start(), nil) // adds the name
	if n := testing.AllocsPerRun(1000, func() { m.CallDone("warm", m.Start(), nil) }); n != 0 {
		t.Errorf("CallDone: %v allocations, want 0", n)
	}
}

// Readings taken while values are observed hold as many values in the
// buckets as in the count, never fewer than an earlier reading, and the
// last reading has them all.
func TestHistogramConcurrent(t *testing.T) {
	const writers, each = 4, 20000
	h := newHistogram([]float64{0.5, 1, 2})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				h.Observe(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var last uint64
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		v := h.Value()
		if v.Cumulative[0] != 0 || v.Cumulative[1] != v.Count || v.Cumulative[2] != v.Count {
			t.Fatalf("buckets %v with a count of %d", v.Cumulative, v.Count)
		}
		if v.Count < last {
			t.Fatalf("count went from %d to %d", last, v.Count)
		}
		last = v.Count
	}
	if v := h.Value(); v.Count != writers*each || v.Sum != writers*each {
		t.Fatalf("count %d, sum %v; want %d of each", v.Count, v.Sum, writers*each)
	}
}

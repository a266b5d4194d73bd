package telemetry

import (
	"math"
	"sort"
	"sync/atomic"
)

// Histogram counts observations in buckets with fixed upper bounds, as
// Prometheus does (a bucket counts the values at most its bound; those
// above every bound only in the count). Observe takes no lock and does
// not allocate.
type Histogram struct {
	bounds []float64       // ascending; shared, never written
	counts []atomic.Uint64 // one per bound, then one for the values above them all
	sum    atomic.Uint64   // math.Float64bits of the sum
	count  atomic.Uint64   // written after a value's bucket and sum
}

func newHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe adds v.
func (h *Histogram) Observe(v float64) {
	h.counts[sort.SearchFloat64s(h.bounds, v)].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			break
		}
	}
	h.count.Add(1)
}

// HistogramValue is a histogram as an exporter writes it.
type HistogramValue struct {
	// Bounds are the upper bounds of the buckets, ascending. They are
	// shared: do not modify them.
	Bounds []float64
	// Cumulative holds, for each bound, the values at most that bound.
	Cumulative []uint64
	Count      uint64
	Sum        float64
}

// readTries bounds Value's attempts at a consistent reading.
const readTries = 100

// Value reads h. The count, the buckets and the sum describe the same
// observations unless Observe ran without pause through readTries
// attempts, when the count is that of the buckets and the sum may hold a
// value or two more.
func (h *Histogram) Value() HistogramValue {
	v := HistogramValue{Bounds: h.bounds, Cumulative: make([]uint64, len(h.bounds))}
	for range readTries {
		before := h.count.Load()
		v.Sum = math.Float64frombits(h.sum.Load())
		all := h.cumulate(v.Cumulative)
		// A value is counted after its bucket and sum: with the count
		// unchanged around the reading and equal to the buckets' total,
		// no Observe was half done.
		if h.count.Load() == before && all == before {
			v.Count = before
			return v
		}
	}
	v.Count = h.cumulate(v.Cumulative)
	return v
}

// cumulate writes the cumulative counts of the bounded buckets to cum
// and returns the total, the last bucket included.
func (h *Histogram) cumulate(cum []uint64) uint64 {
	var n uint64
	for i := range h.bounds {
		n += h.counts[i].Load()
		cum[i] = n
	}
	return n + h.counts[len(h.bounds)].Load()
}

package metrics

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/cloister-go/cloister/internal/membership"
)

// The histogram of late acks is exposed with cumulative buckets in
// seconds, the acks later than every bound only in the count.
func TestLateAcksHistogram(t *testing.T) {
	l := membership.Lateness{
		Bounds: []time.Duration{100 * time.Millisecond, time.Second},
		Counts: []uint64{2, 3, 4},
		Sum:    30 * time.Second,
	}
	var m dto.Metric
	if err := lateAcks(l).Write(&m); err != nil {
		t.Fatal(err)
	}
	h := m.GetHistogram()
	if h.GetSampleCount() != 9 || h.GetSampleSum() != 30 {
		t.Fatalf("count %d, sum %v; want 9, 30", h.GetSampleCount(), h.GetSampleSum())
	}
	want := map[float64]uint64{0.1: 2, 1: 5}
	if len(h.GetBucket()) != len(want) {
		t.Fatalf("%d buckets, want %d", len(h.GetBucket()), len(want))
	}
	for _, b := range h.GetBucket() {
		if want[b.GetUpperBound()] != b.GetCumulativeCount() {
			t.Errorf("bucket le=%v counts %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want[b.GetUpperBound()])
		}
	}
	if err := lateAcks(membership.Lateness{}).Write(&m); err != nil {
		t.Fatalf("a node without side pings: %v", err)
	}
}

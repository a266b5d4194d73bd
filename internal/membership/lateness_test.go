package membership

import (
	"testing"
	"time"
)

// Late acks land in the bucket of the first bound they do not exceed,
// and beyond every bound in the last one.
func TestLateAcksBuckets(t *testing.T) {
	var l lateAcks
	for _, late := range []time.Duration{0, 100 * time.Millisecond, 101 * time.Millisecond, time.Second, 16 * time.Second, time.Minute} {
		l.record(late)
	}
	h := l.histogram()
	want := []uint64{2, 1, 0, 1, 0, 0, 0, 1, 1}
	if len(h.Counts) != len(want) || len(h.Bounds) != len(want)-1 {
		t.Fatalf("%d counts and %d bounds, want %d and %d", len(h.Counts), len(h.Bounds), len(want), len(want)-1)
	}
	for i := range want {
		if h.Counts[i] != want[i] {
			t.Fatalf("counts %v, want %v", h.Counts, want)
		}
	}
	if wantSum := 100*time.Millisecond + 101*time.Millisecond + time.Second + 16*time.Second + time.Minute; h.Sum != wantSum {
		t.Fatalf("sum %v, want %v", h.Sum, wantSum)
	}
	h.Counts[0] = 99
	if l.histogram().Counts[0] != 2 {
		t.Fatal("the histogram handed out shares the record's counts")
	}
}

// lateTotal is how many late acks a histogram counts.
func lateTotal(h Lateness) uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

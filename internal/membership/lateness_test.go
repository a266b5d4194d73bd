package membership

import (
	"testing"
	"time"
)

// Late acks land in the bucket of the first bound they do not exceed,
// and beyond every bound in the last one.
func TestLateAcksBuckets(t *testing.T) {
	var l lateAcks
	now := time.Unix(1000, 0)
	for _, late := range []time.Duration{0, 100 * time.Millisecond, 101 * time.Millisecond, time.Second, 16 * time.Second, time.Minute} {
		l.record(late, now)
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

// The allowance is the largest lateness of this window and the one
// before, up to maxLateAllowance timeouts: it lasts while acks keep
// coming late, and ends two windows after the last.
func TestLateAllowanceFollowsRecentLateness(t *testing.T) {
	var l lateAcks
	t0 := time.Unix(1000, 0)
	const timeout = time.Second
	if a := l.allowance(t0, timeout); a != 0 {
		t.Fatalf("allowance %v before any late ack, want 0", a)
	}
	l.record(2*time.Second, t0)
	l.record(time.Second, t0.Add(time.Second))
	if a := l.allowance(t0.Add(2*time.Second), timeout); a != 2*time.Second {
		t.Fatalf("allowance %v, want the largest lateness, 2s", a)
	}
	if a := l.allowance(t0.Add(lateWindow+time.Second), timeout); a != 2*time.Second {
		t.Fatalf("allowance %v in the next window, want 2s still", a)
	}
	l.record(time.Minute, t0.Add(lateWindow+2*time.Second))
	if a := l.allowance(t0.Add(lateWindow+3*time.Second), timeout); a != maxLateAllowance*timeout {
		t.Fatalf("allowance %v after a minute late, want the cap %v", a, maxLateAllowance*timeout)
	}
	if a := l.allowance(t0.Add(2*lateWindow+time.Second), timeout); a != maxLateAllowance*timeout {
		t.Fatalf("allowance %v a window after the minute, want the cap still", a)
	}
	if a := l.allowance(t0.Add(3*lateWindow+time.Second), timeout); a != 0 {
		t.Fatalf("allowance %v two windows after the last late ack, want 0", a)
	}
	l.record(500*time.Millisecond, t0.Add(10*lateWindow))
	if a := l.allowance(t0.Add(10*lateWindow), timeout); a != 500*time.Millisecond {
		t.Fatalf("allowance %v after a long quiet and one late ack, want 500ms", a)
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

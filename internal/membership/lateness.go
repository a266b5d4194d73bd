package membership

import (
	"time"
)

// Late acks. A confirmation's last ping waits its timeout and a fixed
// grace (lateAckGrace probe timeouts) for an ack; an ack that comes after
// that base deadline is late: it came from a member that was alive. How
// late such acks come is recorded in a histogram (Stats.AckLateness), and
// the largest lateness of the last lateWindow or two is added to the
// grace of the confirmations that follow, up to maxLateAllowance of their
// timeouts (lateAcks.allowance): a node whose acks come late waits longer
// before it declares anybody failed, for as long as they keep coming
// late, and a node whose acks come in time pays nothing. An ack that
// still came after the confirmation ended counts as too late, as before,
// and is recorded too.
//
// Lifeguard's local health scales a member's timeouts by its own missed
// deadlines; this scales the confirmation's by the deadlines the acks it
// waits for missed. At 500 members in one process on two CPUs a start
// with false failures counted 1,687 acks that came after their
// confirmation had ended (5,794 pings), and how late they came was not
// known: the fixed grace was a guess.
const (
	lateWindow       = 30 * time.Second
	maxLateAllowance = 8 // times the ping timeout
)

// latenessBounds are the upper bounds of the buckets of the histogram
// of late acks.
var latenessBounds = [...]time.Duration{
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
}

// Lateness is a histogram of how late acks came past their
// confirmation's base deadline: Counts[i] counts those at most Bounds[i]
// late (and more than the bound before), the last count those later
// than every bound; Sum is their total lateness.
type Lateness struct {
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// lateAcks records late acks: their histogram, and the largest lateness
// of the current window and of the one before. Guarded by pinger.mu.
type lateAcks struct {
	counts      [len(latenessBounds) + 1]uint64
	sum         time.Duration
	cur, prev   time.Duration // largest lateness in the current window, and in the one before
	windowStart time.Time
}

// record adds one ack that came late past its base deadline.
func (l *lateAcks) record(late time.Duration, now time.Time) {
	i := 0
	for i < len(latenessBounds) && late > latenessBounds[i] {
		i++
	}
	l.counts[i]++
	l.sum += late
	l.rotate(now)
	l.cur = max(l.cur, late)
}

// rotate starts a new window when the current one is over.
func (l *lateAcks) rotate(now time.Time) {
	switch d := now.Sub(l.windowStart); {
	case d < lateWindow:
	case d < 2*lateWindow:
		l.prev, l.cur = l.cur, 0
		l.windowStart = l.windowStart.Add(lateWindow)
	default:
		l.prev, l.cur = 0, 0
		l.windowStart = now
	}
}

// allowance is how much longer than its base deadline a confirmation
// whose pings wait timeout each waits for an ack: the largest lateness of
// this window and the one before, up to maxLateAllowance timeouts.
func (l *lateAcks) allowance(now time.Time, timeout time.Duration) time.Duration {
	l.rotate(now)
	return min(max(l.cur, l.prev), maxLateAllowance*timeout)
}

// histogram copies the record out.
func (l *lateAcks) histogram() Lateness {
	return Lateness{Bounds: append([]time.Duration(nil), latenessBounds[:]...), Counts: append([]uint64(nil), l.counts[:]...), Sum: l.sum}
}

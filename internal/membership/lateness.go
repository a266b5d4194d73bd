package membership

import (
	"time"
)

// Late acks. A confirmation's last ping waits its timeout and a fixed
// grace (lateAckGrace probe timeouts) for an ack; an ack that comes after
// that base deadline is late: it came from a member that was alive. How
// late such acks come is recorded in a histogram (Stats.AckLateness):
// those too late (the confirmation had ended unanswered) and those a
// confirmation still took because the confirming node had slept through
// its wait (pinger.wait). At 500 members in one process on two CPUs a
// start with false failures counted 1,687 acks that came after their
// confirmation had ended (5,794 pings), and how late they came was not
// known: the fixed grace was a guess.
//
// The lateness is recorded, not acted on. Widening the next
// confirmations' waits by the largest recent lateness (tried: up to
// eight timeouts, for 30-60 s) took 713 of 6,639 late acks in time in a
// collapsing 500-node start, which collapsed all the same; and a member
// that was paused answers every ping queued for it when it resumes, so
// one paused member would have slowed every member's next reports of a
// silent host by up to eight timeouts.

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

// lateAcks is the histogram of late acks. Guarded by pinger.mu.
type lateAcks struct {
	counts [len(latenessBounds) + 1]uint64
	sum    time.Duration
}

// record adds one ack that came late past its base deadline.
func (l *lateAcks) record(late time.Duration) {
	i := 0
	for i < len(latenessBounds) && late > latenessBounds[i] {
		i++
	}
	l.counts[i]++
	l.sum += late
}

// histogram copies the record out.
func (l *lateAcks) histogram() Lateness {
	return Lateness{Bounds: append([]time.Duration(nil), latenessBounds[:]...), Counts: append([]uint64(nil), l.counts[:]...), Sum: l.sum}
}

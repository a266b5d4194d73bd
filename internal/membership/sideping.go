package membership

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Side pings. The caller's confirmations (a member memberlist declared
// dead, pinged directly before the failure stands) went through
// memberlist's Ping, and at 1,000 members in one process they were a third
// of the CPU: every ping walks memberlist's broadcast queue to piggyback
// gossip on it, and a member's dead message makes every other member
// confirm at once. A side ping is a side datagram of its own kind, sealed
// like the others, which names the member incarnation it is for; that very
// incarnation answers it with an ack as its transport adapter reads it,
// ahead of every queue (memberlist answers its pings from its packet
// reader too), so a member whose handlers are busy still answers, as it
// would memberlist's ping. Only members advertising pingWire get them;
// others get memberlist's.
const (
	// pingKind is a side ping: pingKind | uvarint seq | uvarint len(id) | id,
	// for the member id only.
	pingKind = 8
	// ackKind answers a side ping: ackKind | uvarint seq.
	ackKind = 9

	// pingWire is the delegate protocol version from which a node answers
	// side pings.
	pingWire = 5
)

// pinger matches side pings with their acks and says what to answer; the
// transport adapter does the sending (writeSide), so both count as side
// traffic. It is safe for concurrent use.
type pinger struct {
	self string

	now func() time.Time // the clock: time.Now but in tests

	mu      sync.Mutex
	next    uint64                 // the next ping's sequence number
	waiting map[uint64]*pingWaiter // pings waiting for their ack, by sequence number
	// unanswered holds the pings of confirmations that ended without an
	// ack, with their base deadlines, at most maxUnanswered (then it
	// starts again): an ack to one of them came too late, from a member
	// that was alive.
	unanswered map[uint64]time.Time
	late       lateAcks // acks past their base deadline (lateness.go)

	sent, acked, answered, unmatched, tooLate atomic.Uint64
}

// maxUnanswered bounds pinger.unanswered: 16 bytes and a map slot each.
const maxUnanswered = 4096

// pingWaiter is one confirmation's wait: every ping it sent stays in
// waiting until it ends, and the first ack of any of them closes done.
type pingWaiter struct {
	done chan struct{}
	seqs []uint64
	// deadline is the base deadline, once the last ping is sent: its
	// timeout and the grace after it; an ack after it is late. Guarded
	// by pinger.mu, like closed (done is closed).
	deadline time.Time
	closed   bool
}

func newPinger(self string) *pinger {
	return &pinger{self: self, now: time.Now, next: rand.Uint64(), waiting: map[uint64]*pingWaiter{}, unanswered: map[uint64]time.Time{}}
}

func encodePing(seq uint64, id string) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(id))
	return appendID(binary.AppendUvarint(append(b, pingKind), seq), id)
}

func encodeAck(seq uint64) []byte {
	return binary.AppendUvarint(append(make([]byte, 0, 1+binary.MaxVarintLen64), ackKind), seq)
}

// decodePing reads a side ping: its sequence number and the member it is
// for.
func decodePing(b []byte) (seq uint64, id string, ok bool) {
	if len(b) < 1 || b[0] != pingKind {
		return 0, "", false
	}
	seq, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return 0, "", false
	}
	id, rest, ok := readID(b[1+k:])
	return seq, id, ok && len(rest) == 0
}

// decodeAck reads an ack's sequence number.
func decodeAck(b []byte) (uint64, bool) {
	if len(b) < 1 || b[0] != ackKind {
		return 0, false
	}
	seq, k := binary.Uvarint(b[1:])
	return seq, k > 0 && 1+k == len(b)
}

// take handles a side message that is a ping or an ack, at once, and
// reports whether it was one, and the ack to send back to where it came
// from when it is a ping for this member; an ack wakes the ping it
// answers. Pings for another incarnation, acks nobody waits for (late, or
// unknown) and unreadable ones cost nothing more: an ack is one datagram
// no larger than the ping it answers, and, with a key, only a member
// holding it gets one.
func (p *pinger) take(msg []byte) (reply []byte, took bool) {
	if len(msg) == 0 {
		return nil, false
	}
	switch msg[0] {
	case pingKind:
		if seq, id, ok := decodePing(msg); ok && id == p.self {
			p.answered.Add(1)
			return encodeAck(seq), true
		}
		return nil, true
	case ackKind:
		if seq, ok := decodeAck(msg); !ok || !p.acknowledge(seq) {
			p.unmatched.Add(1)
		}
		return nil, true
	}
	return nil, false
}

// acknowledge takes the ack of ping seq: it wakes the confirmation that
// waits for it, or counts it as too late when that confirmation ended
// unanswered. It reports whether the ack matched either. An ack after
// the base deadline of its confirmation is recorded as late either way
// (lateness.go).
func (p *pinger) acknowledge(seq uint64) bool {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if w, ok := p.waiting[seq]; ok {
		delete(p.waiting, seq)
		if !w.closed {
			w.closed = true
			close(w.done)
			if !w.deadline.IsZero() && now.After(w.deadline) {
				p.late.record(now.Sub(w.deadline))
			}
		}
		return true
	}
	if deadline, ok := p.unanswered[seq]; ok {
		delete(p.unanswered, seq)
		p.tooLate.Add(1)
		p.late.record(max(0, now.Sub(deadline)))
		return true
	}
	return false
}

// ping sends up to tries side pings to the member incarnation id at addr
// with send, one after the other, and reports whether one was
// acknowledged: each waits timeout for an ack, pause() more between two
// of them, and grace more after the last (the base deadline). An ack counts
// whenever it comes before the last wait ends, whichever ping it
// answers: a starved member answers late, and its answer to the first
// ping, arriving while the second waits, is as good a sign of life (with
// one wait per ping, such acks were dropped as unmatched, and the member
// declared failed). A wait that this node itself slept through is made
// up for (see wait). It ends early, with false, when ctx ends.
func (p *pinger) ping(ctx context.Context, id string, addr netip.AddrPort, tries int, timeout, grace time.Duration,
	pause func() time.Duration, send func([]byte, netip.AddrPort) error) bool {
	w := &pingWaiter{done: make(chan struct{})}
	defer p.end(w)
	for i := range tries {
		last := i == tries-1
		seq := p.begin(w)
		if err := send(encodePing(seq, id), addr); err == nil {
			p.sent.Add(1)
		}
		wait := timeout
		if !last {
			wait += pause()
		} else {
			wait += grace
			p.lastPing(w, wait)
		}
		if p.wait(ctx, w, wait) {
			p.acked.Add(1)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
	}
	return false
}

// begin registers the next sequence number for w.
func (p *pinger) begin(w *pingWaiter) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	seq := p.next
	p.next++
	p.waiting[seq] = w
	w.seqs = append(w.seqs, seq)
	return seq
}

// lastPing notes that w's last ping was sent, its base deadline wait
// from now.
func (p *pinger) lastPing(w *pingWaiter, wait time.Duration) {
	deadline := p.now().Add(wait)
	p.mu.Lock()
	defer p.mu.Unlock()
	w.deadline = deadline
}

// end forgets every ping of w: acks to them come too late now. When none
// was acknowledged and the last one was sent (not a confirmation cut
// short as the node stops), they are kept in unanswered, to count such
// acks.
func (p *pinger) end(w *pingWaiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, seq := range w.seqs {
		delete(p.waiting, seq)
		if !w.closed && !w.deadline.IsZero() {
			if len(p.unanswered) >= maxUnanswered {
				clear(p.unanswered)
			}
			p.unanswered[seq] = w.deadline
		}
	}
}

// wait reports whether w was acknowledged within d; false when ctx ends.
//
// A wait this node slept through is made up for, once: when its timer is
// seen to fire more than a tenth of d late, the node itself was starved
// (a crowded host, a throttled container, a paused process), and so was
// the reader that would have taken the ack; it waits as long again as it
// was late, up to d more.
func (p *pinger) wait(ctx context.Context, w *pingWaiter, d time.Duration) bool {
	start := p.now()
	if p.waitFor(ctx, w, d) {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if lag := p.now().Sub(start) - d; lag > d/10 {
		return p.waitFor(ctx, w, min(lag, d))
	}
	return false
}

// waitFor reports whether w was acknowledged within d; false when ctx
// ends.
func (p *pinger) waitFor(ctx context.Context, w *pingWaiter, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// lateness copies out the histogram of late acks.
func (p *pinger) lateness() Lateness {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.late.histogram()
}

// pending is how many pings wait for their ack.
func (p *pinger) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting)
}

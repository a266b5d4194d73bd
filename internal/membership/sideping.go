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

	mu      sync.Mutex
	next    uint64                   // the next ping's sequence number
	waiting map[uint64]chan struct{} // pings waiting for their ack, by sequence number

	sent, acked, answered, unmatched atomic.Uint64
}

func newPinger(self string) *pinger {
	return &pinger{self: self, next: rand.Uint64(), waiting: map[uint64]chan struct{}{}}
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
	switch msg[0] {
	case pingKind:
		if seq, id, ok := decodePing(msg); ok && id == p.self {
			p.answered.Add(1)
			return encodeAck(seq), true
		}
		return nil, true
	case ackKind:
		seq, ok := decodeAck(msg)
		p.mu.Lock()
		w, found := p.waiting[seq]
		if ok && found {
			delete(p.waiting, seq)
		}
		p.mu.Unlock()
		if ok && found {
			close(w)
		} else {
			p.unmatched.Add(1)
		}
		return nil, true
	}
	return nil, false
}

// ping sends one side ping to the member incarnation id at addr with send
// and reports whether its ack came within timeout; it ends early, with
// false, when ctx ends.
func (p *pinger) ping(ctx context.Context, id string, addr netip.AddrPort, timeout time.Duration, send func([]byte, netip.AddrPort) error) bool {
	w := make(chan struct{})
	p.mu.Lock()
	seq := p.next
	p.next++
	p.waiting[seq] = w
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiting, seq)
		p.mu.Unlock()
	}()
	if err := send(encodePing(seq, id), addr); err != nil {
		return false
	}
	p.sent.Add(1)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w:
		p.acked.Add(1)
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// pending is how many pings wait for their ack.
func (p *pinger) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting)
}

package membership

import (
	"time"

	"golang.org/x/time/rate"
)

// Pulling an advert. Adverts are pushed: sent straight or through relays,
// and repaired later, each repair later than the one before. A member that
// missed one advert of one member holds up a whole round (agreement needs
// every member's view, a commit every member's acceptance): at 500 members
// in one process, whole starts stayed Rehashing on one agreed view for
// tens of seconds while nobody could commit. So a member whose record of
// another looks behind asks that member for its advert, and the member
// answers with its current advert, straight:
//
//	pullKind (1 byte) | uvarint len(id) | id (the asking member)
//
// It is encrypted and authenticated like all gossip when a key is set. A
// member answers only members memberlist holds alive, and at most
// maxPullAnswers a second in all: a request costs a member one datagram.
const (
	pullKind = 6

	// pullWire is the delegate protocol version from which a node
	// answers pulls (DelegateProtocolMax). A node from before pulls
	// counts them as unreadable adverts, so it is never asked.
	pullWire = 2

	// maxPullAnswers bounds the answers a member sends a second.
	maxPullAnswers = 256
)

// newPullAnswers returns the limiter of the answers a member sends:
// maxPullAnswers a second, as many at once.
func newPullAnswers() *rate.Limiter { return rate.NewLimiter(maxPullAnswers, maxPullAnswers) }

// receivePull answers a pull from a live member with this member's
// current advert. A pull from anybody else, or beyond the rate, is
// dropped (counted as unanswered). d.mu must not be held.
func (d *delegate) receivePull(b []byte) {
	id, p, alive, ok := d.named(pullKind, b)
	if !ok {
		return
	}
	if !alive || id == d.self || d.answer == nil || !d.answers.AllowN(time.Now(), 1) {
		d.pullsDropped.Add(1)
		return
	}
	d.pullsAnswered.Add(1)
	d.answer(Member{ID: id, Addr: p.addr, wire: p.wire}, encodeAdvert(d.self, d.meta()))
}

// Pull asks the members ids for their current adverts; it returns how many
// were asked. Only live members that answer pulls are asked (see
// pullWire); the answers arrive as adverts.
func (m *Membership) Pull(ids []string) int {
	n := m.sendToLive(ids, encodeID(pullKind, m.d.self), func(w wire) bool { return w.pulls })
	m.d.pullsSent.Add(uint64(n))
	return n
}

// sendToLive sends msg to each of the members ids that memberlist holds
// alive, that nobody found ended, and whose wire reads it (reads); it
// returns how many it sent it to.
func (m *Membership) sendToLive(ids []string, msg []byte, reads func(wire) bool) int {
	var to []Member
	m.d.mu.Lock()
	for _, id := range ids {
		if _, ended := m.d.ended[id]; ended {
			continue
		}
		if p, ok := m.d.alive[id]; ok && reads(p.wire) {
			to = append(to, Member{ID: id, Addr: p.addr, wire: p.wire})
		}
	}
	m.d.mu.Unlock()
	for _, p := range to {
		m.sendTo(p, msg)
	}
	return len(to)
}

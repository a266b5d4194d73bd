package membership

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Pulling endings. Down notices are pushed (SendDown's datagrams and their
// gossip), and a member whose queues were full while a row of them went
// round can lose every copy: at 1,000 members in one process, one or two
// members per ten kills still held some of the dead 20-54 s after the
// rest had dropped them all, and each reported a view of its own (994,
// 999, 998 members) on the way, views the others had to wait out. Nothing
// told such a member again until memberlist's own verdict, minutes at
// that size. So a member whose view most others do not share asks a few of
// them which members they found ended (Ended) that memberlist still holds
// alive; the answer is a batch of down notices, read like any other (the
// receiver checks each member itself before it acts):
//
//	endedPullKind (1 byte) | uvarint len(id) | id (the asking member)
//
// It is encrypted and authenticated like all gossip when a key is set. A
// member answers only members memberlist holds alive, and only when it
// found somebody ended, within the pulls' rate (maxPullAnswers a second,
// shared with them), with one batch (maxDownsBytes; one at random when
// more are needed): a request costs a member at most one datagram.
const (
	endedPullKind = 10

	// endedPullWire is the delegate protocol version from which a node
	// answers pulls of endings (DelegateProtocolMax). A node from before
	// counts them as unreadable adverts, so it is never asked.
	endedPullWire = 6
)

// receiveEndedPull answers a pull of endings from a live member with one
// batch naming members this member found ended. A pull from anybody else,
// or beyond the rate, is dropped (counted as unanswered); one to a member
// that found nobody ended goes unanswered. d.mu must not be held.
func (d *delegate) receiveEndedPull(b []byte) {
	id, p, alive, ok := d.named(endedPullKind, b)
	if !ok {
		return
	}
	if !alive || id == d.self || d.answer == nil {
		d.endedPullsDropped.Add(1)
		return
	}
	// The cheap checks first: an asker beyond the rate, or a member with
	// nothing to tell, costs no list of IDs.
	if d.endedCount() == 0 {
		d.endedPullsEmpty.Add(1)
		return
	}
	if !d.answers.AllowN(time.Now(), 1) {
		d.endedPullsDropped.Add(1)
		return
	}
	ended := d.endedIDs()
	if len(ended) == 0 { // its records departed meanwhile
		d.endedPullsEmpty.Add(1)
		return
	}
	d.endedPullsAnswered.Add(1)
	// More than one batch holds (dozens of members ended at once): one
	// of them at random, so that the asker's next asks bring the rest.
	batches := encodeDowns(ended)
	d.answer(Member{ID: id, Addr: p.addr, wire: p.wire}, batches[rand.IntN(len(batches))])
}

// endedCount is how many live members were found ended. d.mu must not be
// held.
func (d *delegate) endedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ended)
}

// endedIDs returns the live members found ended, sorted. d.mu must not be
// held.
func (d *delegate) endedIDs() []string {
	d.mu.Lock()
	ids := make([]string, 0, len(d.ended))
	for id := range d.ended {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// PullEnded asks the members ids which members they found ended; it
// returns how many were asked. Only live members that answer such pulls
// are asked (see endedPullWire); the answers arrive as down notices
// (Config.OnDown).
func (m *Membership) PullEnded(ids []string) int {
	n := m.sendToLive(ids, encodeID(endedPullKind, m.d.self), func(w wire) bool { return w.endedPulls })
	m.d.endedPullsSent.Add(uint64(n))
	return n
}

package membership

import (
	"encoding/binary"
)

// A down notice is a message (a side datagram, or a memberlist user
// message to a member from before them) saying that the sender saw a
// member's process end (its connection closed and its port refused a new
// one):
//
//	downKind (1 byte) | uvarint len(id) | id
//
// It is encrypted and authenticated like all gossip when a key is set. It
// is a hint only: the receiver checks the member itself before it acts.
const downKind = 3

func encodeDown(id string) []byte { return encodeID(downKind, id) }

func decodeDown(b []byte) (string, bool) { return decodeID(downKind, b) }

// encodeID is a message of the given kind that names one member:
//
//	kind (1 byte) | uvarint len(id) | id
func encodeID(kind byte, id string) []byte {
	return appendID(append(make([]byte, 0, 1+binary.MaxVarintLen64+len(id)), kind), id)
}

// named reads a message of encodeID's form and the given kind, and looks
// up the member it names among the live ones. An unreadable message is
// counted as a bad advert (ok false). d.mu must not be held.
func (d *delegate) named(kind byte, b []byte) (id string, p peer, alive, ok bool) {
	id, ok = decodeID(kind, b)
	if !ok {
		d.badAdverts.Add(1)
		return "", peer{}, false, false
	}
	d.mu.Lock()
	p, alive = d.alive[id]
	d.mu.Unlock()
	return id, p, alive, true
}

// decodeID reads a message of encodeID's form and the given kind.
func decodeID(kind byte, b []byte) (string, bool) {
	if len(b) < 1 || b[0] != kind {
		return "", false
	}
	id, rest, ok := readID(b[1:])
	return id, ok && len(rest) == 0
}

// receiveDown hands a notice about a member memberlist holds alive to
// onDown at once, not through the event queue: the receiver's loop may be
// busy applying a view (at 500 members in one process, notices waited
// there up to seconds, and members found ended together were applied as
// several views). A notice about anybody else (unknown, already gone, or
// this member) is dropped. d.mu must not be held.
func (d *delegate) receiveDown(b []byte) {
	if id, ok := decodeDown(b); ok {
		d.down([]string{id})
	} else {
		d.badAdverts.Add(1)
	}
}

// down passes the members ids that memberlist holds alive, but this
// member, on to onDown together, if there are any. d.mu must not be held.
func (d *delegate) down(ids []string) {
	if d.onDown == nil {
		return
	}
	var live []Member
	d.mu.Lock()
	for _, id := range ids {
		if p, alive := d.alive[id]; alive && id != d.self {
			live = append(live, Member{ID: id, Addr: p.addr})
		}
	}
	d.mu.Unlock()
	if len(live) > 0 {
		d.onDown(live)
	}
}

// Ended records that the processes of the members ids ended, as the
// caller found (their ports refuse connections): until memberlist's own
// record of them departs, they get no advert, relay batch, pull or down
// notice, and nobody picks them as a relay. memberlist holds a killed
// member alive until its probes and its suspicion run out (with the
// profile of 500 members in one process, bench/scale's, the suspicion
// alone lasts at least 4 × log10(500) probe intervals of 2.5 s: 27 s);
// meanwhile every round of adverts sent each victim its copies, and a
// relay group that picked one lost half its redundancy (about 2 % of the
// picks after ten kills at 500). Members memberlist does not hold alive
// are ignored.
func (m *Membership) Ended(ids []string) {
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	for _, id := range ids {
		if _, alive := m.d.alive[id]; alive {
			m.d.ended[id] = struct{}{}
		}
	}
}

// SendDown tells other live members that the members ids were seen to
// end: every one with fanout 0, else fanout of them at random (those pass
// it on, so a lost message costs little). A receiver that reads batches
// (downsWire) gets all of them in as few datagrams as they fit in
// (encodeDowns), an older one a datagram per member, back to back; either
// way it applies the members it checks together together.
func (m *Membership) SendDown(ids []string, fanout int) {
	single := make([][]byte, len(ids))
	for i, id := range ids {
		single[i] = encodeDown(id)
	}
	batches := single
	if len(ids) > 1 {
		batches = encodeDowns(ids)
	}
	for _, p := range m.d.somePeers(fanout, ids) {
		msgs := batches
		if !p.downs {
			msgs = single
		}
		for _, msg := range msgs {
			m.sendTo(p, msg)
		}
	}
}

// takeAtOnce handles the side messages that do not wait in the side
// queue, as the transport adapter reads them: pings and acks (sideping.go),
// and down notices, single or batched. It reports whether it took msg,
// and what to answer.
//
// The side queue is read in order, and after a kill at 500 members in one
// process it held every survivor's new adverts (relay batches of many
// members each): the notice a watcher sent every member at once reached
// some of them seconds later, behind those adverts, and they learned of
// the row from other paths first, in pieces. A notice costs the reader
// what it cost the queue's: one decode and a lookup per member named, and
// a hand-off that never blocks (OnDown).
func (m *Membership) takeAtOnce(msg []byte) (reply []byte, took bool) {
	if m.pings != nil {
		if reply, took := m.pings.take(msg); took {
			return reply, true
		}
	}
	if len(msg) == 0 || !m.downsAtOnce.Load() {
		return nil, false
	}
	switch msg[0] {
	case downKind:
		m.d.receiveDown(msg)
		return nil, true
	case downsKind:
		m.d.receiveDowns(msg)
		return nil, true
	}
	return nil, false
}

package membership

import (
	"math/rand/v2"
	"time"

	"github.com/hashicorp/memberlist"
)

// MaxDirectAdverts is how many members get a direct copy of new metadata
// at once; the next as many get theirs one pace (Profile.Pace) later, and so
// on until every live member has one. Sending to every member at once
// cost N datagrams per change and N² when every member re-advertises
// after a view change, arriving at each member as a burst of N: at 500
// members in one process that overflowed receive queues, and the acks
// lost with them became false failures. Sending to only a sample left the
// rest to gossip, which passes each of N adverts on RetransmitMult ×
// log10 N times from every member: at 500 members an agreement round took
// minutes of gossip, against N/MaxDirectAdverts paces.
const MaxDirectAdverts = 64

// directRound is the direct copies of the current metadata still to send.
// Guarded by Membership.gossipMu.
type directRound struct {
	msg   []byte   // the advert message
	rest  []Member // members still to send it to, in random order
	timer *time.Timer
	gen   uint64 // counts rounds: a timer of a replaced round does nothing
}

// startDirectLocked starts sending meta to every live member, replacing a
// round under way, and returns how long the round will take; gossipMu
// must be held. From RelayFrom live members on, meta goes to its relays
// instead (relay.go), and relayed says so.
func (m *Membership) startDirectLocked(meta []byte) (took time.Duration, relayed bool) {
	m.direct.stopLocked()
	peers := m.d.peers()
	if len(peers) >= m.relayFrom {
		return m.sendToRelays(meta, peers), true
	}
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	m.direct.msg = encodeAdvert(m.d.self, meta)
	m.direct.rest = peers
	m.sendBatchLocked()
	batches := (len(m.direct.rest) + m.directBatch - 1) / m.directBatch
	return time.Duration(batches) * m.pace, false
}

// sendBatchLocked sends the next directBatch copies and schedules the next
// batch; a send that fails is left to gossip.
func (m *Membership) sendBatchLocked() {
	r := &m.direct
	n := min(len(r.rest), m.directBatch)
	for _, p := range r.rest[:n] {
		m.sendTo(p, r.msg)
	}
	r.rest = r.rest[n:]
	if len(r.rest) > 0 {
		gen := r.gen
		r.timer = time.AfterFunc(m.pace, func() { m.sendNextBatch(gen) })
	} else {
		r.timer, r.msg, r.rest = nil, nil, nil
	}
}

// sendNextBatch is the timer's turn of round gen.
func (m *Membership) sendNextBatch(gen uint64) {
	m.gossipMu.Lock()
	defer m.gossipMu.Unlock()
	if m.left || m.direct.gen != gen || len(m.direct.rest) == 0 {
		return
	}
	m.sendBatchLocked()
}

// stopLocked drops the copies of a round not sent yet.
func (r *directRound) stopLocked() {
	if r.timer != nil {
		r.timer.Stop()
	}
	r.timer, r.msg, r.rest = nil, nil, nil
	r.gen++
}

// sendToRelays sends meta to this member's relays (relaying it itself when
// it is one of them) and returns how long their batch takes to reach
// every member.
func (m *Membership) sendToRelays(meta []byte, peers []Member) time.Duration {
	relays, viaSelf := pickRelays(m.d.self, peers)
	msg := encodeRelay(m.d.self, meta)
	for _, p := range relays {
		m.sendTo(p, msg)
	}
	var straight []byte // members from before relays read neither requests nor batches
	for _, p := range peers {
		if p.older {
			if straight == nil {
				straight = encodeAdvert(m.d.self, meta)
			}
			m.sendTo(p, straight)
		}
	}
	if viaSelf {
		m.relay.add(m.d.self, append([]byte(nil), meta...))
	}
	return m.relay.duration(len(peers))
}

// sendTo sends one datagram to a member: a side datagram to a member that
// reads them (side.go), else a memberlist user message. A send that fails
// is left to gossip.
func (m *Membership) sendTo(p Member, msg []byte) {
	var err error
	if p.side && m.tr.side != nil && len(msg) <= maxSideMessage {
		err = m.tr.writeSide(msg, p.Addr)
	} else {
		err = m.ml.SendToAddress(memberlist.Address{Addr: p.Addr.String(), Name: p.ID}, msg)
	}
	if err != nil {
		m.logger.Debug("direct message not sent", "member", p.ID, "err", err)
	}
}

package membership

import (
	"encoding/binary"

	"github.com/hashicorp/memberlist"
)

// A down notice is a memberlist user message saying that the sender saw a
// member's process end (its connection closed and its port refused a new
// one):
//
//	downKind (1 byte) | uvarint len(id) | id
//
// It is encrypted and authenticated like all gossip when a key is set. It
// is a hint only: the receiver checks the member itself before it acts.
const downKind = 3

func encodeDown(id string) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(id))
	b = append(b, downKind)
	b = binary.AppendUvarint(b, uint64(len(id)))
	return append(b, id...)
}

func decodeDown(b []byte) (string, bool) {
	if len(b) < 1 || b[0] != downKind {
		return "", false
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n == 0 || n > maxIDLen || n != uint64(len(b)-1-k) {
		return "", false
	}
	return string(b[1+k:]), true
}

// receiveDown hands a notice about a member memberlist holds alive to
// onDown at once, not through the event queue: the receiver's loop may be
// busy applying a view (at 500 members in one process, notices waited
// there up to seconds, and members found ended together were applied as
// several views). A notice about anybody else (unknown, already gone, or
// this member) is dropped. d.mu must not be held.
func (d *delegate) receiveDown(b []byte) {
	id, ok := decodeDown(b)
	if !ok {
		d.badAdverts.Add(1)
		return
	}
	d.mu.Lock()
	addr, alive := d.alive[id]
	d.mu.Unlock()
	if alive && id != d.self && d.onDown != nil {
		d.onDown(Member{ID: id, Addr: addr})
	}
}

// SendDown tells every other live member, by one direct message each,
// that the members ids were seen to end, and queues the same notices for
// gossip (GossipDown). Each receiver gets the notices back to back, so
// that the members it checks together it applies together.
func (m *Membership) SendDown(ids []string) {
	msgs := make([][]byte, len(ids))
	for i, id := range ids {
		msgs[i] = encodeDown(id)
	}
	for _, p := range m.d.somePeers(0, ids) {
		to := memberlist.Address{Addr: p.Addr.String(), Name: p.ID}
		for _, msg := range msgs {
			if err := m.ml.SendToAddress(to, msg); err != nil {
				m.logger.Debug("down notice not sent", "member", p.ID, "err", err)
			}
		}
	}
	m.GossipDown(ids)
}

// GossipDown queues down notices about the members ids for memberlist's
// gossip, which piggybacks them on its packets to random members and
// retransmits each RetransmitMult × log10 N times. A member that checks a
// notice and finds the member ended gossips it too (the caller's part), so
// a notice spreads as memberlist's own dead messages do: a member whose
// direct copy was lost (a full handler queue; at 1,000 members in one
// process one survivor of ten kills missed two notices and held the
// cluster out of agreement for minutes) hears it from several others
// within a few gossip intervals. Passed on before from each receiver to
// three random members once, a notice left about one member in twenty
// uncovered where the direct copy was lost.
func (m *Membership) GossipDown(ids []string) {
	for _, id := range ids {
		m.d.downs.QueueBroadcast(downBroadcast{id: id, msg: encodeDown(id)})
	}
	if n := m.d.downs.NumQueued(); n > maxQueuedDowns {
		m.d.downs.Prune(maxQueuedDowns)
	}
}

// maxQueuedDowns bounds the down notices waiting to be gossiped; past it
// the oldest are dropped (the direct copies and probing stand in).
const maxQueuedDowns = 256

// downBroadcast is a down notice queued for gossip; a newer notice about
// the same member replaces it.
type downBroadcast struct {
	id  string
	msg []byte
}

func (b downBroadcast) Invalidates(o memberlist.Broadcast) bool {
	other, ok := o.(downBroadcast)
	return ok && other.id == b.id
}

func (b downBroadcast) Message() []byte { return b.msg }
func (b downBroadcast) Finished()       {}

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

// receiveDown queues a DownHint for a member memberlist holds alive; a
// notice about anybody else (unknown, already gone, or this member) is
// dropped. d.mu must not be held.
func (d *delegate) receiveDown(b []byte) {
	id, ok := decodeDown(b)
	if !ok {
		d.badAdverts.Add(1)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if addr, alive := d.alive[id]; alive && id != d.self {
		d.q.push(Event{Kind: DownHint, Member: Member{ID: id, Addr: addr}})
	}
}

// SendDown tells other live members that the member id was seen to end,
// by one direct message each: every one with fanout 0, else fanout of them
// at random (those pass it on, so a lost message costs little).
func (m *Membership) SendDown(id string, fanout int) {
	msg := encodeDown(id)
	peers := m.d.peers() // in map order: random enough to pick from
	sent := 0
	for _, p := range peers {
		if p.ID == id {
			continue
		}
		if fanout > 0 && sent == fanout {
			return
		}
		sent++
		if err := m.ml.SendToAddress(memberlist.Address{Addr: p.Addr.String(), Name: p.ID}, msg); err != nil {
			m.logger.Debug("down notice not sent", "member", p.ID, "err", err)
		}
	}
}

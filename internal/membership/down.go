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

// SendDown tells every other live member that the member id was seen to
// end, by one direct message each (a lost one leaves that member to its
// own probing).
func (m *Membership) SendDown(id string) {
	msg := encodeDown(id)
	for _, p := range m.d.peers() {
		if p.ID == id {
			continue
		}
		if err := m.ml.SendToAddress(memberlist.Address{Addr: p.Addr.String(), Name: p.ID}, msg); err != nil {
			m.logger.Debug("down notice not sent", "member", p.ID, "err", err)
		}
	}
}

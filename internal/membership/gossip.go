package membership

import (
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// The service gossip channel. Services above membership (names, groups,
// replicated data) share state two ways: small broadcasts, which memberlist
// piggybacks on its gossip and retransmits RetransmitMult × log N times,
// and the full state, which rides every state exchange (a join, and the
// periodic push/pull) and repairs any broadcast that was lost. A broadcast
// is a user message:
//
//	serviceKind (1 byte) | payload
//
// encrypted and labelled like all gossip when a key is set.
const serviceKind = 2

// MaxBroadcast is the largest payload Broadcast takes: a broadcast travels
// in one gossip packet, beside memberlist's own messages.
const MaxBroadcast = 1024

// MaxServiceState bounds the full state LocalState hands memberlist for a
// state exchange: well under what the stream guard lets a peer claim
// before authentication (MaxGossipStreamBody), with room for the member
// list itself.
const MaxServiceState = 1 << 20

// ErrBroadcastTooLarge is returned by Broadcast for a payload over
// MaxBroadcast.
var ErrBroadcastTooLarge = errors.New("membership: broadcast too large")

// ServiceGossip is the receiving end of the service channel. Its methods
// are called on memberlist's goroutines and must not block.
type ServiceGossip interface {
	// Receive takes a broadcast's payload (a copy it may keep).
	Receive(payload []byte)
	// LocalState returns the full state for a state exchange, at most
	// MaxServiceState bytes (more is not sent).
	LocalState() []byte
	// MergeState takes a peer's full state (a copy it may keep).
	MergeState(state []byte)
}

// serviceBroadcast is one queued broadcast; a broadcast never replaces
// another (services merge; they do not overwrite).
type serviceBroadcast []byte

func (b serviceBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b serviceBroadcast) Message() []byte                       { return b }
func (b serviceBroadcast) Finished()                             {}

// maxQueuedBroadcasts bounds the broadcasts waiting to be gossiped: past
// it the oldest are dropped (the next state exchange repairs them).
const maxQueuedBroadcasts = 1024

// Broadcast queues a payload for the service channel.
func (m *Membership) Broadcast(payload []byte) error {
	if len(payload) > MaxBroadcast {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrBroadcastTooLarge, len(payload), MaxBroadcast)
	}
	if m.d.broadcasts == nil {
		return errors.New("membership: no service channel configured")
	}
	msg := make([]byte, 0, 1+len(payload))
	msg = append(msg, serviceKind)
	msg = append(msg, payload...)
	m.d.broadcasts.QueueBroadcast(serviceBroadcast(msg))
	if n := m.d.broadcasts.NumQueued(); n > maxQueuedBroadcasts {
		m.d.broadcasts.Prune(maxQueuedBroadcasts)
		m.d.prunedBroadcasts.Add(uint64(n - maxQueuedBroadcasts))
	}
	return nil
}

// GetBroadcasts hands memberlist the queued down notices and service
// broadcasts that fit, the notices first: they are small, few, and a
// member that misses one holds a dead member in its view.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	var msgs [][]byte
	if d.downs != nil {
		msgs = d.downs.GetBroadcasts(overhead, limit)
		for _, m := range msgs {
			limit -= overhead + len(m)
		}
	}
	if d.broadcasts == nil {
		return msgs
	}
	return append(msgs, d.broadcasts.GetBroadcasts(overhead, limit)...)
}

// LocalState is this member's service state for a state exchange.
func (d *delegate) LocalState(join bool) []byte {
	if d.services == nil {
		return nil
	}
	s := d.services.LocalState()
	if len(s) > MaxServiceState {
		d.oversizedStates.Add(1)
		return nil
	}
	return s
}

// MergeRemoteState hands a peer's service state to the services.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	if d.services == nil || len(buf) == 0 {
		return
	}
	d.services.MergeState(append([]byte(nil), buf...))
}

// receiveService hands a broadcast's payload to the services.
func (d *delegate) receiveService(b []byte) {
	if d.services == nil {
		return
	}
	d.services.Receive(append([]byte(nil), b[1:]...))
}

package membership

import "github.com/hashicorp/memberlist"

// Down notices also ride the gossip. SendDown's datagrams go once: the
// watcher's to every member, and each receiver's to a few at random. At
// 1,000 members in one process, memberlist's handler queues were full
// while ten killed members were announced, and a few survivors lost every
// copy about a member; nothing told them again, so they held the dead in
// their view for minutes (until memberlist's own verdict, at least its
// suspicion timeout), and kept the survivors from agreeing on the view
// without them. So every member that confirmed an ending also queues the
// notice in memberlist's gossip, which piggybacks it on its gossip packets
// RetransmitMult × log10(N+1) times, to members picked at random each
// time: an epidemic, in which a member that lost one copy gets another a
// gossip interval later. The notice is the same message as SendDown's, so
// nodes from before this read it as they read those.
type downBroadcast struct {
	id  string
	msg []byte
}

// Invalidates drops an older notice about the same member from the queue.
func (b downBroadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(downBroadcast)
	return ok && o.id == b.id
}

func (b downBroadcast) Message() []byte { return b.msg }
func (b downBroadcast) Finished()       {}

// maxQueuedDowns bounds the notices waiting to be gossiped: past it the
// oldest are dropped (the direct notices and probing stand in).
const maxQueuedDowns = 256

// newDownQueue returns the queue of down notices to gossip, retransmitted
// retransmitMult × log10(N+1) times for N live members.
func newDownQueue(retransmitMult int, numNodes func() int) *memberlist.TransmitLimitedQueue {
	return &memberlist.TransmitLimitedQueue{RetransmitMult: retransmitMult, NumNodes: numNodes}
}

// GossipDown queues a down notice about each of the members ids for
// memberlist's gossip (see downBroadcast). Call it only for endings this
// member confirmed itself: every member that gossips a notice makes the
// epidemic bigger.
func (m *Membership) GossipDown(ids []string) {
	for _, id := range ids {
		m.d.downs.QueueBroadcast(downBroadcast{id: id, msg: encodeDown(id)})
	}
	if n := m.d.downs.NumQueued(); n > maxQueuedDowns {
		m.d.downs.Prune(maxQueuedDowns)
		m.d.prunedDowns.Add(uint64(n - maxQueuedDowns))
	}
}

package membership

import (
	"slices"

	"github.com/hashicorp/memberlist"
)

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
//
// Members found ended together are gossiped together, as one batch
// (downs.go), while every live member reads batches. Gossiped a notice per
// member, the row went out in pieces: memberlist fills its gossip packets
// with its own messages first, so each packet carried the two or three
// notices that fitted, each to other members, and at 500 members in one
// process survivors that heard two of ten killed members by gossip a
// second before the whole row reached them applied the two as a view of
// their own (10 of 490 survivors in one run, 9 distinct views).
type downBroadcast struct {
	key string // the member's ID, or a batch's whole message
	msg []byte
}

// Invalidates drops an older notice about the same member (or the same
// batch) from the queue.
func (b downBroadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(downBroadcast)
	return ok && o.key == b.key
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

// GossipDown queues down notices about the members ids, found ended
// together, for memberlist's gossip (see downBroadcast): one batch while
// every live member reads batches, else a notice per member. Call it only
// for endings this member confirmed itself: every member that gossips a
// notice makes the epidemic bigger.
func (m *Membership) GossipDown(ids []string) {
	// Sorted, one row's batch is the same message whoever found it, and
	// replaces its copy in the queue (Invalidates).
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) > 1 && m.d.everyoneReadsBatches() {
		for _, msg := range encodeDowns(ids) {
			m.d.downs.QueueBroadcast(downBroadcast{key: string(msg), msg: msg})
		}
	} else {
		for _, id := range ids {
			m.d.downs.QueueBroadcast(downBroadcast{key: id, msg: encodeDown(id)})
		}
	}
	if n := m.d.downs.NumQueued(); n > maxQueuedDowns {
		m.d.downs.Prune(maxQueuedDowns)
		m.d.prunedDowns.Add(uint64(n - maxQueuedDowns))
	}
}

// everyoneReadsBatches reports whether this member and every live member
// read batches of down notices (downsWire): gossip goes to members picked
// at random, and one from before batches counts a batch as unreadable.
func (d *delegate) everyoneReadsBatches() bool {
	if d.beforeDowns {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.alive {
		if !p.downs {
			return false
		}
	}
	return true
}

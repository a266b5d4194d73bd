package cloister

import (
	"time"

	"github.com/cloister-go/cloister/internal/membership"
	"github.com/cloister-go/cloister/rpc"
	"github.com/cloister-go/cloister/transport"
)

// Stats is a copy of a node's counters, taken by Node.Stats. Counters
// count since the node started; nothing in it changes afterwards.
type Stats struct {
	// DroppedEvents counts events dropped because a listener's or
	// subscription's queue was full (also Node.DroppedEvents).
	DroppedEvents uint64
	// HealthScore is memberlist's Lifeguard awareness: 0 is healthy,
	// higher means this node has been missing its own deadlines (it is
	// overloaded or its network is), and it waits longer before it accuses
	// others.
	HealthScore int
	// BadAdverts counts direct adverts dropped as unreadable.
	BadAdverts uint64
	// Gossip counts the gossip traffic refused before or by authentication.
	Gossip GossipStats
	// Calls are the call layer's counters.
	Calls rpc.Stats
	// Transport counts connections the port refused before they said
	// which layer they were for. Zero when Config.Transport is not a
	// *transport.Net.
	Transport transport.NetStats
	// Services holds the services' counters (Host.Counter), by
	// "service.counter".
	Services map[string]uint64
	// ServiceUpdatesDropped counts gossip-channel updates not handed to a
	// service: its queue was full, it does not run here, or the update
	// was unreadable. The next state exchange repairs them.
	ServiceUpdatesDropped uint64
	// ServiceBroadcastsPruned counts service broadcasts dropped from the
	// full gossip queue before they were sent.
	ServiceBroadcastsPruned uint64
	// PullsSent counts the members this node asked for their adverts,
	// theirs looking behind while it waited for them (see pull.go);
	// PullsAnswered and PullsDropped count the asks it answered, and
	// those it did not (from a member it does not hold alive, or beyond
	// its rate of 256 answers a second).
	PullsSent, PullsAnswered, PullsDropped uint64
	// EndedPullsSent counts the members this node asked which members
	// they found ended, most of its view advertising another view (see
	// endedpull.go); EndedPullsAnswered the asks it answered, naming
	// members it had found ended.
	EndedPullsSent, EndedPullsAnswered uint64
	// Pings counts the side pings that confirm memberlist's failure
	// verdicts (see Detection), sent and answered.
	Pings PingStats
	// FailuresNotConfirmed counts failures memberlist declared that this
	// node did not report, because the member answered its direct pings
	// (see Detection).
	FailuresNotConfirmed uint64
	// FailuresHinted counts members reported failed at once because their
	// connection to this node closed and their port refused a connection.
	FailuresHinted uint64
	// FailuresSwept counts, of those, members this node found ended by
	// checking the member after one it had found ended itself (neighbours
	// in ID order killed together), before a watch or a notice named them.
	FailuresSwept uint64
	// FailuresConfirming is how many failures memberlist declared that
	// this node is confirming now or that wait for a confirmation slot
	// (see Detection): they are not reported until confirmed.
	FailuresConfirming int
	// CommitsOnCommit counts the views this node committed because
	// another member advertised the view committed at the term it
	// accepted it at, before every member's acceptance had reached it.
	CommitsOnCommit uint64
}

// PingStats counts the pings by which a node confirms that a member
// memberlist declared failed really does not answer. They travel beside
// memberlist's own datagrams, and a member answers one as it reads it,
// before any queue; a member from before them gets memberlist's ping
// instead, which is not counted here.
type PingStats struct {
	Sent     uint64 // pings this node sent
	Acked    uint64 // confirmations that found the member answering (one ack each)
	Answered uint64 // pings for this node it acknowledged
	// TooLate counts acks to the pings of a confirmation that had ended
	// unanswered: the member was alive, and its failure stood all the
	// same. A crowded host shows them before it declares live members
	// failed.
	TooLate uint64
	// Unmatched counts the other acks nobody waited for: a second ack
	// to a confirmation already answered, replayed or unreadable ones.
	// They cost nothing more.
	Unmatched uint64
	// Late is how late the acks came that came after their
	// confirmation's base deadline (its last ping's timeout and a grace
	// of three more): the too-late ones, and those a confirmation still
	// took in the time it made up after this node itself was starved
	// (its timer fired late).
	Late AckLateness
}

// AckLateness is a histogram of how late acks came past their
// confirmation's base deadline: Counts[i] counts those at most Bounds[i]
// late and more than the bound before it; the last count, one more than
// the bounds, those later than every bound. Sum is their total lateness.
type AckLateness struct {
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// Total is how many acks came late.
func (l AckLateness) Total() uint64 {
	var n uint64
	for _, c := range l.Counts {
		n += c
	}
	return n
}

// GossipStats counts the gossip streams and datagrams refused, by reason.
// Streams refused before authentication are never read beyond their first
// bytes (see docs/security.md).
type GossipStats struct {
	StreamsAccepted   uint64 // streams whose prefix passed, handed to memberlist
	StreamsWrongLabel uint64 // streams of another app (label), or with none
	StreamsWrongMode  uint64 // unencrypted streams to a node with a secret, or encrypted ones to a node without
	StreamsTooLarge   uint64 // streams claiming a body above the limit (4 MiB)
	StreamsOverLimit  uint64 // streams beyond the concurrency or memory bounds
	StreamsSlow       uint64 // streams that did not send their prefix in time
	StreamsMalformed  uint64 // streams of an unknown type, truncated or unreadable
	StreamsAuthFailed uint64 // streams that did not decrypt: another secret

	PacketsAuthFailed uint64 // datagrams of this app that did not decrypt: another secret
	PacketsWrongLabel uint64 // datagrams of another app
	PacketsMalformed  uint64 // datagrams that are not gossip at all

	// JoinsAuthFailed counts joins this node tried that the peer refused,
	// or whose answer this node could not authenticate: the peer has
	// another secret or app.
	JoinsAuthFailed uint64
	// SuppressedLogLines counts memberlist log lines dropped by the rate
	// limit on its logs.
	SuppressedLogLines uint64
	// HandlerQueueFull counts messages received and dropped because the
	// queue they wait in was full: memberlist's handler queue, where
	// suspicions wait behind alive messages, or the queue of cloister's
	// own datagrams (adverts, notices) beside it. The gossiped copy of an
	// advert repairs the loss, later.
	HandlerQueueFull uint64
}

// Stats returns a copy of the node's counters.
func (n *Node) Stats() Stats {
	ms := n.ml.Stats()
	s := Stats{
		DroppedEvents: n.dropped.Load(),
		HealthScore:   ms.HealthScore,
		BadAdverts:    ms.BadAdverts,
		Gossip:        gossipStats(ms),
		Calls:         n.calls.Stats(),

		Services:                n.counters.snapshot(),
		ServiceUpdatesDropped:   n.gossip.dropped.Load(),
		ServiceBroadcastsPruned: ms.PrunedBroadcasts,
		PullsSent:               ms.PullsSent,
		PullsAnswered:           ms.PullsAnswered,
		PullsDropped:            ms.PullsDropped,
		EndedPullsSent:          ms.EndedPullsSent,
		EndedPullsAnswered:      ms.EndedPullsAnswered,
		Pings: PingStats{Sent: ms.PingsSent, Acked: ms.PingsAcked, Answered: ms.PingsAnswered, TooLate: ms.AcksTooLate, Unmatched: ms.AcksUnmatched,
			Late: AckLateness{Bounds: ms.AckLateness.Bounds, Counts: ms.AckLateness.Counts, Sum: ms.AckLateness.Sum}},
		FailuresNotConfirmed: n.failuresRefuted.Load(),
		FailuresHinted:       n.failuresHinted.Load(),
		FailuresSwept:        n.failuresSwept.Load(),
		CommitsOnCommit:      n.commitsOnCommit.Load(),
		FailuresConfirming:   n.failuresConfirming(),
	}
	if ts, ok := n.tr.(interface{ Stats() transport.NetStats }); ok {
		s.Transport = ts.Stats()
	}
	return s
}

func gossipStats(ms membership.Stats) GossipStats {
	return GossipStats{
		StreamsAccepted:    ms.StreamsAccepted,
		StreamsWrongLabel:  ms.StreamsWrongLabel,
		StreamsWrongMode:   ms.StreamsWrongMode,
		StreamsTooLarge:    ms.StreamsTooLarge,
		StreamsOverLimit:   ms.StreamsOverLimit,
		StreamsSlow:        ms.StreamsSlow,
		StreamsMalformed:   ms.StreamsMalformed,
		StreamsAuthFailed:  ms.StreamsAuthFailed,
		PacketsAuthFailed:  ms.PacketsAuthFailed,
		PacketsWrongLabel:  ms.PacketsWrongLabel,
		PacketsMalformed:   ms.PacketsMalformed,
		JoinsAuthFailed:    ms.JoinsAuthFailed,
		SuppressedLogLines: ms.SuppressedLogLines,
		HandlerQueueFull:   ms.HandlerQueueFull,
	}
}

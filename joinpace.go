package cloister

import "time"

// joinPerMember is how long a node waits between the state exchanges it
// starts toward discovered addresses that are not members, per member it
// knows (its view's, or memberlist's live ones when more: knownSize), while
// many of them are missing. A join is a full state
// exchange of every member both sides know, and during a large start every
// node misses most of the others for a while: every node of a 1,000-node
// start rejoined every discovery round, a thousand exchanges of a thousand
// members a second, a quarter of the CPU of 1,000 nodes sharing two CPUs
// plus the garbage collection it caused. With the gap the cluster as a
// whole makes at most about 1/joinPerMember of them a second (50),
// whatever its size, while gossip and memberlist's own push-pull spread
// the members meanwhile.
//
// A node that misses only a few members (the odd one out of a start,
// which missed one alive message) rejoins sooner: the gap is
// joinPerMember for each of missPace members per missing one, at most the
// members it knows. A 100-node start waited its full 2 s gap in two runs of three
// (2.4 s to Ready, against 1.0-1.2 s without the gap).
const (
	joinPerMember = 20 * time.Millisecond
	missPace      = 10
)

// unpacedJoins is how many joins a node makes with company (knowing more
// members than itself) before the pacing applies; its joins while alone are
// never paced. A node's first join brings the view of whichever member
// answered, and in a start that member is young too: the last node of a
// 50-process start joined one that knew 41 members, learnt 42, and waited
// the 840 ms gap of a 42-member view (half that start's time to Ready)
// while the 8 that started after it trickled in by gossip. The first node
// of a start, joined by the others, missed one of them for 400 ms the same
// way. The next join, one rejoin period later, is with one of those it
// misses, which knows them. It costs each node one more state exchange per
// start: less than memberlist's own push-pull makes every few seconds. The
// gap itself is not made shorter: a 100-process start with gaps of 2
// members per missing one instead of 10 took 5.2-8.6 s instead of
// 3.0-3.7, with up to 95 false failure reports.
const unpacedJoins = 1

// joinPacer spaces the joins of one discovery loop. Only that loop uses it.
type joinPacer struct {
	last  time.Time
	joins int // started with company
}

// joinGap is the pause after a join for a node that knows members members
// (itself included) and misses missing discovered addresses.
func joinGap(members, missing int) time.Duration {
	if members <= 1 {
		return 0
	}
	return time.Duration(min(members, missPace*missing)) * joinPerMember
}

// heardGap is joinGap for a join toward members heard of (see
// heardAbsent): a tenth of it, joinPerMember per missing member. Such a
// member is surely up, and in a start it advertised a view of at least
// Consensus members, so one state exchange with it brings those: these
// are not the rejoins racing gossip that the gap paces, and they are few
// (6 and 43 of the 222 and 261 joins of two 100-process starts). With the
// whole gap, the stragglers of 50-process starts held them back 0.3-0.6 s
// while the others waited for those stragglers.
func heardGap(members, missing int) time.Duration {
	return joinGap(members, missing) / missPace
}

// wait returns how long until a join may start (0: now); heard says the
// join is toward members heard of (heardGap).
func (p *joinPacer) wait(now time.Time, members, missing int, heard bool) time.Duration {
	if p.joins < unpacedJoins {
		return 0
	}
	gap := joinGap(members, missing)
	if heard {
		gap = heardGap(members, missing)
	}
	return max(0, p.last.Add(gap).Sub(now))
}

// started records a join started at now by a node that knows members
// members.
func (p *joinPacer) started(now time.Time, members int) {
	p.last = now
	if members > 1 {
		p.joins++
	}
}

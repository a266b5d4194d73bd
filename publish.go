package cloister

import (
	"context"
	"time"

	"github.com/cloister-go/cloister/internal/core"
)

// Adverts: each member gossips its view ID and state as memberlist
// metadata, and every metadata change is an alive message that each member
// receives and regossips several times. In a 50-member assembly that
// traffic, not the joins, used most of the CPU, so the publisher decides
// which adverts are worth it and when:
//
//   - A view smaller than Consensus is not advertised while the node stays
//     Assembling: no member can agree on it, since a member holding the
//     same view is below consensus too.
//   - The first view of at least Consensus members is advertised at once:
//     every member waits for it before it can be Ready.
//   - Any later change of view is advertised once the view has been quiet
//     for a quiet period (one pace (Detection.Pace) per ten members, at most
//     maxQuietGossips), so an
//     assembly costs one advert per node, not one per member heard of.
//   - A vote or an acceptance goes at once: every member waits for them.
//   - A change of state alone (Rehashing to Ready and back on one view),
//     a commit included, is advertised after stateOnlyQuiets quiet
//     periods, once the round's traffic is over. A member still waiting
//     for acceptances then commits on the first commit it hears of (core:
//     committedBy): that caps a round held up by lost acceptances.
//     Advertised sooner (within two quiet periods, or at once), the
//     commits of hundreds of members went out while the last members
//     still needed the round's adverts, and 500-node starts and kills
//     were no faster, the kills' rounds rather slower (docs/benchmarks.md).
//
// A view is sent straight to every member at once and gossiped
// stateOnlyQuiets quiet periods later (see membership.SetMeta).
//   - Whatever is pending is advertised at the latest maxQuiets quiet
//     periods after it first changed, even if the view keeps changing.
//
// Stopping is advertised by Stop itself, which waits for it to go out.
const (
	stateOnlyQuiets = 5
	maxQuiets       = 10
	maxQuietGossips = 8 // bound of a quiet period, in paces
)

// published is what this node last advertised.
type published struct {
	advert  core.Advert
	members int // size of that view
}

// advertDelay says whether the snapshot is worth advertising, given what
// was last advertised, and how long to let it settle first. A change of
// the quorum advert alone (a vote, an acceptance) goes at once: every
// member of the view waits for it before it can be Ready.
func advertDelay(s *Snapshot, last published, quiet time.Duration) (time.Duration, bool) {
	members := len(s.View.Members)
	a, l := s.advert, last.advert
	switch {
	case a == l:
		return 0, false
	case a.State == Assembling && l.State == Assembling && members < s.Consensus && a.Quorum.Floor == 0:
		return 0, false
	case a.View != l.View && last.members < s.Consensus && members >= s.Consensus:
		return 0, true
	case a.View != l.View:
		return quiet, true
	case a.Quorum.OK != l.Quorum.OK || a.Quorum.Accept != l.Quorum.Accept:
		return 0, true
	}
	return stateOnlyQuiets * quiet, true
}

// publishLoop advertises this node's view and state as advertDelay
// decides, until ctx ends.
func (n *Node) publishLoop(ctx context.Context) {
	defer close(n.pubDone)
	last := n.firstAdvert
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pendingSince time.Time // zero when nothing is pending
	for {
		select {
		case <-n.publish:
			quiet := n.quietPeriod()
			d, ok := advertDelay(n.snap.Load(), last, quiet)
			if !ok {
				timer.Stop()
				pendingSince = time.Time{}
				continue
			}
			if pendingSince.IsZero() {
				pendingSince = time.Now()
			}
			timer.Reset(min(d, time.Until(pendingSince.Add(maxQuiets*quiet))))
			continue
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		pendingSince = time.Time{}
		s := n.snap.Load()
		if _, ok := advertDelay(s, last, 0); !ok {
			continue
		}
		// A change of state alone goes the same way: its direct copies
		// cost each member one datagram, where gossiping it at once (as
		// it did) cost each member about RetransmitMult × log10 N
		// decodes of every member's change, the heaviest part of a
		// 500-member start.
		if err := n.ml.SetMeta(n.encodeAdvert(s.advert), stateOnlyQuiets*n.quietPeriod()); err != nil {
			n.logger.Warn("advert not published", "err", err)
			continue
		}
		last = published{advert: s.advert, members: len(s.View.Members)}
	}
}

// quietPeriod is one pace (Detection.Pace) per ten members of the current view,
// at most maxQuietGossips of them: beyond 80 members a longer wait only
// delayed agreement (50 paces at 500 members, ten times that
// before a pending advert had to go), while the direct copies, paced at
// membership.MaxDirectAdverts per pace, already spread an
// advert's cost.
func (n *Node) quietPeriod() time.Duration {
	members := len(n.snap.Load().View.Members)
	return n.cfg.Detection.pace() * time.Duration(min(maxQuietGossips, max(1, (members+9)/10)))
}

// settled reports whether this node is Ready and every other member of its
// view advertises that view, Ready: until then, membership keeps repairing
// a relayed advert (membership.Config.Settled), since a member that missed
// this node's last advert may be waiting for it.
func (n *Node) settled() bool {
	s := n.snap.Load()
	if s.State != Ready {
		return false
	}
	for _, m := range s.View.Members {
		if (m.ViewID != s.View.ID || m.State != Ready) && m.ID != n.self.ID {
			return false
		}
	}
	return true
}

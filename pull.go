package cloister

import (
	"context"
	"time"
)

// Pulling adverts that look behind. Adverts are pushed (straight, through
// relays, and repaired later, each repair later than the one before), and a
// member that missed one member's advert holds up the whole round:
// agreement needs every member's view, a commit every member's acceptance.
// At 500 members in one process, whole starts stayed Rehashing on one view
// for 20-30 s before anybody could commit. So while a node waits for its
// view to be agreed or committed, it asks each member whose advert, as it
// holds it, is behind (another view, or not yet accepting the term this
// node accepts) for its current advert, while at most a tenth of them
// look behind (nearlyAgreed), once the record has stayed behind
// for pullAfterQuiets quiet periods (an advert in flight arrives within
// about one), then twice as late each time it stays behind, up to
// maxPullWait: a member that really is behind answers with the same
// advert. At most maxPullsPerTick members are asked per pullTick
// (membership.Pull; members from before pulls are never asked).
const (
	pullTick        = time.Second
	pullAfterQuiets = 3
	minPullAfter    = time.Second
	maxPullWait     = 16 * time.Second
	maxPullsPerTick = 16
)

// pullLoop asks, every pullTick while the node waits for adverts, for the
// adverts that look behind (pullPlan), until the node stops. While the
// node does not wait for adverts (Ready, or Assembling below consensus) it
// sleeps until its snapshot changes: a ticker in every member of an idle
// cluster woke every process once a second for nothing.
func (n *Node) pullLoop() {
	defer n.wg.Done()
	ctx := n.loopCtx
	tick := time.NewTimer(pullTick)
	defer tick.Stop()
	var plan pullPlan
	for {
		slept, err := n.awaitWaitingForAdverts(ctx)
		if err != nil {
			return
		}
		if slept {
			plan = pullPlan{} // what looked behind before is stale
		}
		tick.Reset(pullTick)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		if ids := plan.due(n.snap.Load(), time.Now(), max(minPullAfter, pullAfterQuiets*n.quietPeriod())); len(ids) > 0 {
			n.ml.Pull(ids)
		}
	}
}

// awaitWaitingForAdverts returns once the node's snapshot is in a state
// that waits for adverts (waitingForAdverts), reporting whether it had to
// wait for a change first; ctx's error when ctx ends first.
func (n *Node) awaitWaitingForAdverts(ctx context.Context) (slept bool, err error) {
	for {
		changed := n.nextChange()
		if s := n.snap.Load(); s != nil && waitingForAdverts(s) {
			return slept, nil
		}
		select {
		case <-changed:
			slept = true
		case <-ctx.Done():
			return slept, ctx.Err()
		}
	}
}

// pullPlan remembers, for one pullLoop, which members' adverts look
// behind, since when, and when to ask them next.
type pullPlan struct {
	behind map[string]*behindAdvert // by member ID
}

// behindAdvert is a member's advert that looks behind.
type behindAdvert struct {
	view   ViewID // the advert as held: a change restarts the wait
	accept uint64
	next   time.Time     // when to ask
	wait   time.Duration // the wait before the next ask after that
}

// waitingForAdverts reports whether s is a state in which this node waits
// for other members' adverts: Rehashing, NoQuorum, or Assembling on a view
// of at least Consensus members.
func waitingForAdverts(s *Snapshot) bool {
	switch s.State {
	case Rehashing, NoQuorum:
		return true
	case Assembling:
		return len(s.View.Members) >= s.Consensus
	}
	return false
}

// nearlyAgreed reports whether at most a tenth of the other members
// (at least one) look behind: advertise another view, or not yet the
// acceptance at accept. While the view is still being assembled or
// changes, most members differ for good reasons, and asking them all
// would be a round of requests and answers on top of the round of
// adverts (at 500 members, asking during the assembly sent about 48,000
// pulls in 33 s); the stragglers of a nearly agreed view are what a lost
// advert leaves behind.
func nearlyAgreed(s *Snapshot, accept uint64) bool {
	behind := 0
	for _, m := range s.View.Members {
		if (m.ViewID != s.View.ID || m.accept < accept) && m.ID != s.Self.ID {
			behind++
		}
	}
	return behind <= max(1, (len(s.View.Members)-1)/10)
}

// due returns the members to ask now, given the snapshot: those whose
// advert has looked behind for after, or since their last ask for twice
// the wait before it. It forgets members whose adverts caught up.
func (p *pullPlan) due(s *Snapshot, now time.Time, after time.Duration) []string {
	if !waitingForAdverts(s) {
		p.behind = nil
		return nil
	}
	if p.behind == nil {
		p.behind = map[string]*behindAdvert{}
	}
	accept := s.advert.Quorum.Accept
	if !nearlyAgreed(s, accept) {
		p.behind = nil
		return nil
	}
	seen := make(map[string]bool, len(p.behind))
	var out []string
	for _, m := range s.View.Members {
		if m.ViewID == s.View.ID && m.accept >= accept || m.ID == s.Self.ID {
			continue
		}
		seen[m.ID] = true
		b := p.behind[m.ID]
		if b == nil || b.view != m.ViewID || b.accept != m.accept {
			b = &behindAdvert{view: m.ViewID, accept: m.accept, next: now.Add(after), wait: 2 * after}
			p.behind[m.ID] = b
		}
		if now.Before(b.next) || len(out) == maxPullsPerTick {
			continue
		}
		out = append(out, m.ID)
		b.next = now.Add(b.wait)
		b.wait = min(2*b.wait, maxPullWait)
	}
	for id := range p.behind {
		if !seen[id] {
			delete(p.behind, id)
		}
	}
	return out
}

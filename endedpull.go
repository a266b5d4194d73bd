package cloister

import (
	"math/rand/v2"
	"time"
)

// Asking who ended. A member that lost every copy of a row of down notices
// (its queues full while they went round) holds the dead in its view until
// memberlist's own verdict, minutes at 1,000 members in one process, while
// the others have moved on: at that size one or two members per ten kills
// still held some of them 20-54 s later, and each reported views of its
// own on the way. Such a member sees it: most of its view advertises
// another view. So, Ready or waiting for a round, it asks a few of those
// members which members they found ended (membership.PullEnded); their
// answers are down notices, checked like any other (watch.go) before the
// members are reported failed. It asks once the others have advertised
// another view for endedPullAfterQuiets quiet periods, then twice as late
// each time while they still do, up to maxPullWait. A member that is
// ahead instead (it found the ending first) asks too, and gets nothing
// new or no answer: a datagram each way.
const (
	endedPullAfterQuiets = 3
	minEndedPullAfter    = 250 * time.Millisecond
	endedPullAsks        = 2 // members asked each time
	// minEndedPullLook is the least time between two looks at the
	// snapshot: each walks the view.
	minEndedPullLook = 100 * time.Millisecond
)

// endedPullLoop asks members which members they found ended while most of
// the view advertises another one (endedPullPlan), until the node stops.
// It looks again at most every minEndedPullLook: after a change of the
// snapshot (a burst of adverts makes many), and until plan.next while the
// others look elsewhere; while they do not, it sleeps until the snapshot
// changes.
func (n *Node) endedPullLoop() {
	defer n.wg.Done()
	ctx := n.loopCtx
	tick := time.NewTimer(pullTick)
	defer tick.Stop()
	var plan endedPullPlan
	for {
		changed := n.nextChange()
		after := max(minEndedPullAfter, endedPullAfterQuiets*n.quietPeriod())
		ids, waiting := plan.due(n.snap.Load(), time.Now(), after)
		if len(ids) > 0 {
			n.ml.PullEnded(ids)
		}
		wait := minEndedPullLook
		if waiting {
			wait = min(pullTick, max(minEndedPullLook, time.Until(plan.next)))
		} else {
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
		tick.Reset(wait)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// endedPullPlan remembers, for one endedPullLoop, since when most of the
// view has advertised another view, and when to ask next.
type endedPullPlan struct {
	view ViewID        // this node's view when that began; a new view starts again
	next time.Time     // when to ask; zero while the others agree
	wait time.Duration // the wait after the next ask
}

// due returns the members to ask now, given the snapshot, and whether the
// others still look elsewhere (the loop then looks again at plan.next).
func (p *endedPullPlan) due(s *Snapshot, now time.Time, after time.Duration) ([]string, bool) {
	elsewhere := viewedElsewhere(s)
	if elsewhere == nil {
		*p = endedPullPlan{}
		return nil, false
	}
	if p.next.IsZero() || p.view != s.View.ID {
		*p = endedPullPlan{view: s.View.ID, next: now.Add(after), wait: 2 * after}
	}
	if now.Before(p.next) {
		return nil, true
	}
	p.next = now.Add(p.wait)
	p.wait = min(2*p.wait, maxPullWait)
	rand.Shuffle(len(elsewhere), func(i, j int) { elsewhere[i], elsewhere[j] = elsewhere[j], elsewhere[i] })
	return elsewhere[:min(endedPullAsks, len(elsewhere))], true
}

// viewedElsewhere returns the members of s's view, this node left out,
// that advertise another view than s's, when they are more than half of
// them and this node is Ready or waiting for a round (Rehashing,
// NoQuorum); nil otherwise. While a view is being assembled views differ
// for good reasons.
func viewedElsewhere(s *Snapshot) []string {
	if s == nil || s.State != Ready && s.State != Rehashing && s.State != NoQuorum {
		return nil
	}
	elsewhere := 0
	for _, m := range s.View.Members {
		if m.ViewID != s.View.ID && m.ID != s.Self.ID {
			elsewhere++
		}
	}
	others := len(s.View.Members) - 1 // this node is in its view
	if elsewhere*2 <= others {
		return nil
	}
	out := make([]string, 0, elsewhere)
	for _, m := range s.View.Members {
		if m.ViewID != s.View.ID && m.ID != s.Self.ID {
			out = append(out, m.ID)
		}
	}
	return out
}

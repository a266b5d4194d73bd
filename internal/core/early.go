package core

// acceptsEarly reports whether this node may accept its view before every
// member advertises it. For a node that committed a view, that is
// acceptsShrinkEarly; otherwise only while the cluster forms for the
// first time (no present member ever committed a view, and this node
// joined no established cluster), only the first view it accepts (or
// that view again, at a higher term another member accepts it at), and
// only when its own start-gate vote and the vote of every member already
// on the view say yes, while no member on another view accepted anything
// (that member is ahead or behind on a view of its own; accepting this
// one early would only raise the term every member then has to follow).
//
// The acceptance then rides on the advert of the view itself, so the
// members that agree on a forming cluster's first view have accepted it
// by the time they agree, and commit on the round that agreed it: one
// round of adverts to every member instead of two. In 500-member starts
// in one process nobody was Ready for 7-18 s after every node held the
// full view (the second round, every member's acceptance to every
// member); with this the first was Ready within 0-6 s.
//
// A commit still needs every member of the view to advertise it and to
// accept it at one term (advance checks the agreement before it
// commits), so every argument of the commit rule holds as before. What an
// early acceptance adds is an acceptance of a view that may never be
// agreed, as when a view that seemed complete loses a member: that is
// the acceptance round that never ended, which the rules already cover
// (the floor rises, the newest reference votes too). The start gate is
// the same for every member of a forming cluster (Consensus members, and
// the static quorum's size), so a member not yet on the view would vote
// on it as this node does, if both were started with the same Consensus;
// one with a larger Consensus does not accept the view, and no member
// commits it. Established clusters accept after agreement, as before,
// but for the shrinks of acceptsShrinkEarly: there the votes depend on
// references that members hold and others may not know.
func (c *Core) acceptsEarly(present []Member) bool {
	if c.ref.Term > 0 {
		return c.acceptsShrinkEarly(present)
	}
	if c.joined || len(c.pending) > 1 || len(c.pending) == 1 && !c.lastPendingIsView() {
		return false
	}
	if !c.okFor(present) {
		return false
	}
	for _, m := range present {
		switch {
		case m.ID == c.self.ID:
		case m.Quorum.Term > 0: // it committed a view: the cluster has started (voters.standing)
			return false
		case m.View == c.view.ID && !m.Quorum.OK, m.View != c.view.ID && m.Quorum.Floor > 0:
			return false
		}
	}
	return true
}

// acceptsShrinkEarly is acceptsEarly for a node that committed a view:
// it may accept its view before every member advertises it when the view
// is its reference less members that never come back (they left, or
// their process was seen to end; nobody joined: shrinksForGood), it
// accepted nothing since that commit (or only this view, which it follows
// to a higher term another member accepts it at), its own vote counts and
// says yes, and no present member holds a newer reference or accepted
// another view since (that member is ahead, or on a view of its own:
// accepting this one early would only raise the term everybody then
// follows).
//
// The acceptance rides on the advert of the view, as in a forming
// cluster: when every survivor of a kill removes the same members, each
// has accepted the new view by the time it advertises it, and the round
// that agrees the view commits it. Accepting after agreement took a
// second round of adverts from every member to every member: at 1,000
// members in one process the survivors of ten kills all advertised the
// new view, having accepted nothing, for a minute and more before they
// could commit it.
//
// What the commit needs is unchanged: every member advertises the view
// (advance checks the agreement) and accepts it at one term. Each member
// that accepts early checks its own vote, as it is a voter; a member that
// is not one accepts only after agreement, when the voters' votes on
// this very view are advertised (quorate). A member that heard of only
// some of the removals accepts nothing early once the others accepted the
// full view (their floors are above its reference), and then accepts the
// full view at their term; had it accepted its smaller view first, the
// full view goes to the next term, which the others follow: the round
// that accepting after agreement costs anyway. A member only declared
// failed does not count: it may come back.
func (c *Core) acceptsShrinkEarly(present []Member) bool {
	switch {
	case c.hidden:
		return false
	case len(c.pending) == 0 && c.floor == c.ref.Term && !c.refIsView():
	case len(c.pending) == 1 && c.lastPendingIsView():
	default:
		return false
	}
	if !c.shrinksForGood() || !c.votesAlone(present) || !c.okFor(present) {
		return false
	}
	for _, m := range present {
		switch {
		case m.ID == c.self.ID:
		case m.Quorum.Term > c.ref.Term:
			return false
		case m.View == c.view.ID && !m.Quorum.OK && m.Quorum.Term > 0,
			m.View != c.view.ID && m.Quorum.Floor > c.ref.Term:
			return false
		}
	}
	return true
}

// shrinksForGood reports whether the view is the reference less members
// that never come back (Core.final: they left, or their process was seen
// to end). A member only declared failed may be alive, cut off from this
// node alone: if it comes back, the view returns to the reference, and a
// node that accepted nothing meanwhile is Ready on it again at once
// (cameBack), while one that accepted the smaller view early would have
// raised every member's next term, a round of adverts for nothing.
func (c *Core) shrinksForGood() bool {
	ms, ref := c.view.Members, c.ref.Members
	i := 0
	for _, r := range ref {
		if i < len(ms) && ms[i].ID == r.ID {
			i++
			continue
		}
		if _, ok := c.final[r.ID]; !ok {
			return false
		}
	}
	return i == len(ms) // every member of the view is in the reference
}

package core

// acceptsEarly reports whether this node may accept its view before every
// member advertises it: only while the cluster forms for the first time
// (no present member ever committed a view, and this node joined no
// established cluster), only the first view it accepts (or that view
// again, at a higher term another member accepts it at), and only when
// its own start-gate vote and the vote of every member already on the
// view say yes, while no member on another view accepted anything (that
// member is ahead or behind on a view of its own; accepting this one
// early would only raise the term every member then has to follow).
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
// commits it. Established clusters accept after agreement, as before:
// there the votes depend on references that members hold and others may
// not know.
func (c *Core) acceptsEarly(present []Member) bool {
	if c.ref.Term > 0 || c.joined || len(c.pending) > 1 || len(c.pending) == 1 && !c.lastPendingIsView() {
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

package core

// Hidden members (Erlang's -hidden nodes) join the gossip but never count:
// they are never in a view, so never in a reference, a quorum, a ring or
// an agreement. The core drops them at its input (admits); a core that is
// hidden itself observes: its view is the members it sees, without
// itself, and it is Ready when they all advertise that view, Ready, at
// one term, which becomes its term, or advertise another view on which
// they accepted nothing since. It never votes, accepts or commits.

// SetHidden makes this core a hidden member's: it observes the cluster
// without being part of its view. Call it before Start.
func (c *Core) SetHidden() {
	c.hidden = true
	c.setView(View{ID: digest(nil), Epoch: 1})
}

// Hidden reports whether this core is a hidden member's.
func (c *Core) Hidden() bool { return c.hidden }

// admits reports whether a member's reports reach the view: hidden
// members' never do.
func (c *Core) admits(m Member) bool { return !m.Hidden }

// observe is a hidden core's state: Ready when the members that advertise
// its view all advertise it Ready at one term (adopted as its term), and
// the members on another view accepted nothing since that term (the rule
// a member's core follows: standsDespiteDisagreement); NoQuorum when a
// member it sees says it has none; Rehashing otherwise (Assembling before
// its first Ready).
func (c *Core) observe() State {
	var term uint64
	on, agreed, noQuorum := 0, true, false
	for _, m := range c.view.Members {
		noQuorum = noQuorum || m.State == NoQuorum
		if m.View != c.view.ID {
			continue
		}
		if m.State != Ready || on > 0 && m.Quorum.Term != term {
			agreed = false
		}
		term = m.Quorum.Term
		on++
	}
	agreed = agreed && on > 0
	for _, m := range c.view.Members {
		if m.View != c.view.ID && (m.Quorum.Floor > term || m.Quorum.Term > 0 && !m.Quorum.OK) {
			agreed = false
		}
	}
	switch {
	case agreed:
		c.ref.Term = max(c.ref.Term, term)
		c.votes++
		return Ready
	case c.ref.Term == 0:
		return Assembling
	case noQuorum:
		return NoQuorum
	}
	return Rehashing
}

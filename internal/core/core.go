package core

import "slices"

// Core is the state machine of one node. It is not safe for concurrent use:
// one goroutine (the node loop) owns it.
type Core struct {
	self      Member
	consensus int
	state     State
	known     map[string]Member // every live member incarnation, including self
	gone      map[string]Reason // why a member left known, until the view forgets it
	view      View
}

// New returns a core in state Down whose view holds only self.
func New(self Member, consensus int) *Core {
	if consensus < 1 {
		consensus = 1
	}
	c := &Core{
		self:      self,
		consensus: consensus,
		known:     map[string]Member{self.ID: self},
		gone:      map[string]Reason{},
	}
	members := []Member{self}
	c.view = View{ID: digest(members), Epoch: 1, Members: members}
	return c
}

// State returns the current state.
func (c *Core) State() State { return c.state }

// View returns the current view. The caller must not modify its Members;
// the core never does either: every change makes a new slice.
func (c *Core) View() View { return c.view }

// Consensus returns the number of live members required to be Ready.
func (c *Core) Consensus() int { return c.consensus }

// Start moves Down to Assembling, and on to Ready when nothing needs waiting for.
func (c *Core) Start() []Change {
	if c.state != Down {
		return nil
	}
	return c.settle(c.transition(nil, Assembling), Assembling)
}

// InputKind says what memberlist reported about a member.
type InputKind uint8

// The membership input kinds.
const (
	// Alive: the member is live, perhaps with new metadata (a join, an
	// update, or an advert sent straight to this node).
	Alive InputKind = iota + 1
	// Departed: the member left or was declared dead. memberlist does not
	// say which: the core counts it as Left when the member's newest
	// advert, from this input or an earlier one, said Stopping, and as
	// Failed otherwise.
	Departed
)

// Input is one membership report for Apply.
type Input struct {
	Kind   InputKind
	Member Member
}

// Apply records a batch of membership inputs in order and then settles
// once: the view is rebuilt at most once and changes at most once, however
// many members the batch admits or removes, and the state changes at most
// once. A member that joins and departs within one batch is never in a
// view, so no listener hears of it.
func (c *Core) Apply(inputs []Input) []Change {
	if c.state == Stopped {
		return nil
	}
	var rebuild, updated bool
	for _, in := range inputs {
		switch in.Kind {
		case Alive:
			r, u := c.recordAlive(in.Member)
			rebuild, updated = rebuild || r, updated || u
		case Departed:
			rebuild = c.recordDeparture(in.Member.ID, c.departureReason(in.Member)) || rebuild
		}
	}
	switch {
	case rebuild:
		return c.settle(c.rebuild(), c.state)
	case updated:
		c.refreshViewMembers()
		return c.settle(nil, c.state)
	}
	return nil
}

// Join records a live member incarnation (memberlist's alive).
func (c *Core) Join(m Member) []Change { return c.Apply([]Input{{Kind: Alive, Member: m}}) }

// Update records new metadata for a live member. An unknown member is
// treated as a join.
func (c *Core) Update(m Member) []Change { return c.Join(m) }

// Leave removes a member incarnation that left or failed.
func (c *Core) Leave(id string, reason Reason) []Change {
	if c.state == Stopped || !c.recordDeparture(id, reason) {
		return nil
	}
	return c.settle(c.rebuild(), c.state)
}

// recordAlive records m in known. It reports whether the view must be
// rebuilt (the member set may change) or only refreshed (new metadata for
// a member already in the view).
func (c *Core) recordAlive(m Member) (rebuild, updated bool) {
	if m.ID == c.self.ID {
		return false, false
	}
	cur, known := c.known[m.ID]
	if known {
		if m.AdvertSeq < cur.AdvertSeq {
			// Adverts travel both by gossip and straight from their
			// member, so an older one can arrive after a newer one.
			return false, false
		}
		if m.AdvertSeq == cur.AdvertSeq && m.View == cur.View && m.State == cur.State {
			return false, false // the same advert by the other path
		}
		c.known[m.ID] = m
		if c.view.Has(m.ID) {
			return false, true
		}
		return true, false
	}
	c.known[m.ID] = m
	delete(c.gone, m.ID)
	return true, false
}

// recordDeparture removes a member incarnation from known and keeps why,
// reporting whether it was known.
func (c *Core) recordDeparture(id string, reason Reason) bool {
	if id == c.self.ID {
		return false
	}
	if _, ok := c.known[id]; !ok {
		return false
	}
	delete(c.known, id)
	c.gone[id] = reason
	return true
}

// departureReason tells a leave from a death: a member whose newest advert
// announced Stopping has left. The departing copy of the advert can be
// older than one that arrived by the other path, so both are consulted.
func (c *Core) departureReason(m Member) Reason {
	if known, ok := c.known[m.ID]; m.State == Stopping || ok && known.State == Stopping {
		return Left
	}
	return Failed
}

// refreshViewMembers copies the newest metadata of known members into a new
// member slice for the view: slices already handed out are never modified.
func (c *Core) refreshViewMembers() {
	members := slices.Clone(c.view.Members)
	for i := range members {
		members[i] = c.known[members[i].ID]
	}
	c.view.Members = members
}

// Stop moves to Stopping from any state but Stopping and Stopped.
func (c *Core) Stop() []Change {
	if c.state == Stopping || c.state == Stopped {
		return nil
	}
	return c.transition(nil, Stopping)
}

// Stopped moves to the final state.
func (c *Core) Stopped() []Change {
	if c.state == Stopped {
		return nil
	}
	return c.transition(nil, Stopped)
}

// Advert is what this node gossips about itself: its view ID and state.
func (c *Core) Advert() (view uint64, state State) { return c.view.ID, c.state }

// rebuild recomputes the view from known members and returns the changes
// to it, members first. Views are sorted by name, then ID, so the newest
// incarnation of each name is found, and the old and new views compared,
// by walking sorted slices: no maps, one allocation for the members.
func (c *Core) rebuild() []Change {
	members := make([]Member, 0, len(c.known))
	for _, m := range c.known {
		if m.Name == c.self.Name && m.ID != c.self.ID {
			continue // nobody else may hold this node's name
		}
		members = append(members, m)
	}
	sortMembers(members)
	kept := members[:0]
	for _, m := range members {
		if n := len(kept); n > 0 && kept[n-1].Name == m.Name {
			if m.Incarnation > kept[n-1].Incarnation || m.Incarnation == kept[n-1].Incarnation && m.ID > kept[n-1].ID {
				kept[n-1] = m
			}
			continue
		}
		kept = append(kept, m)
	}
	members = kept
	old := c.view
	next := View{ID: digest(members), Epoch: old.Epoch, Members: members}

	var changes []Change
	for _, m := range onlyIn(old.Members, members) {
		reason, ok := c.gone[m.ID]
		if !ok {
			reason = Replaced
		}
		changes = append(changes, MemberDown{Member: m, Reason: reason})
	}
	for _, m := range onlyIn(members, old.Members) {
		changes = append(changes, MemberUp{Member: m})
	}
	if next.ID != old.ID {
		next.Epoch++
		changes = append(changes, ViewChanged{Old: old, New: next})
	}
	c.view = next
	// Reasons are needed only until the view change that reports them.
	clear(c.gone)
	return changes
}

// onlyIn returns the members of a whose ID is not in b; both are sorted by
// name, then ID.
func onlyIn(a, b []Member) []Member {
	var out []Member
	j := 0
	for _, m := range a {
		for j < len(b) && compareMembers(b[j], m) < 0 {
			j++
		}
		if j == len(b) || b[j].ID != m.ID {
			out = append(out, m)
		}
	}
	return out
}

// settle appends the state change that the view calls for, if any. floor is
// the state to evaluate from (Assembling when starting).
func (c *Core) settle(changes []Change, floor State) []Change {
	switch floor {
	case Down, Stopping, Stopped:
		return changes
	}
	return c.transition(changes, c.evaluate())
}

// evaluate is the rule for the running states.
func (c *Core) evaluate() State {
	if len(c.view.Members) < c.consensus {
		return Assembling
	}
	for _, m := range c.view.Members {
		if m.ID != c.self.ID && m.View != c.view.ID {
			return Rehashing
		}
	}
	return Ready
}

func (c *Core) transition(changes []Change, to State) []Change {
	if to == c.state {
		return changes
	}
	from := c.state
	c.state = to
	return append(changes, StateChanged{From: from, To: to, View: c.view})
}

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

// View returns the current view. The caller must not modify its Members.
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

// Join records a live member incarnation (memberlist's alive).
func (c *Core) Join(m Member) []Change {
	if m.ID == c.self.ID || c.state == Stopped {
		return nil
	}
	if cur, known := c.known[m.ID]; known {
		if m.AdvertSeq < cur.AdvertSeq {
			// Adverts travel both by gossip and straight from their
			// member, so an older one can arrive after a newer one.
			return nil
		}
		if i := c.view.index(m.ID); i >= 0 {
			// New metadata for a member in the view: the member set, and so
			// the view ID, stay. Snapshots share the old slice.
			c.known[m.ID] = m
			members := slices.Clone(c.view.Members)
			members[i] = m
			c.view.Members = members
			return c.settle(nil, c.state)
		}
	}
	c.known[m.ID] = m
	delete(c.gone, m.ID)
	return c.settle(c.rebuild(), c.state)
}

// Update records new metadata for a live member. An unknown member is
// treated as a join.
func (c *Core) Update(m Member) []Change { return c.Join(m) }

// Leave removes a member incarnation that left or failed.
func (c *Core) Leave(id string, reason Reason) []Change {
	if id == c.self.ID || c.state == Stopped {
		return nil
	}
	if _, ok := c.known[id]; !ok {
		return nil
	}
	delete(c.known, id)
	c.gone[id] = reason
	return c.settle(c.rebuild(), c.state)
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

// Member returns the live member incarnation id as last advertised (the
// newest advert heard by either path), if it is known.
func (c *Core) Member(id string) (Member, bool) {
	m, ok := c.known[id]
	return m, ok
}

// Advert is what this node gossips about itself: its view ID and state.
func (c *Core) Advert() (view uint64, state State) { return c.view.ID, c.state }

// rebuild recomputes the view from known members and returns the changes
// to it, members first.
func (c *Core) rebuild() []Change {
	newest := map[string]Member{} // by name
	for _, m := range c.known {
		if m.Name == c.self.Name && m.ID != c.self.ID {
			continue // nobody else may hold this node's name
		}
		if cur, ok := newest[m.Name]; !ok || m.Incarnation > cur.Incarnation ||
			(m.Incarnation == cur.Incarnation && m.ID > cur.ID) {
			newest[m.Name] = m
		}
	}
	members := make([]Member, 0, len(newest))
	for _, m := range newest {
		members = append(members, m)
	}
	sortMembers(members)
	old := c.view
	next := View{ID: digest(members), Epoch: old.Epoch, Members: members}

	inNext := make(map[string]bool, len(members))
	for _, m := range members {
		inNext[m.ID] = true
	}
	inOld := make(map[string]bool, len(old.Members))
	for _, m := range old.Members {
		inOld[m.ID] = true
	}
	var changes []Change
	for _, m := range old.Members {
		if !inNext[m.ID] {
			reason, ok := c.gone[m.ID]
			if !ok {
				reason = Replaced
			}
			changes = append(changes, MemberDown{Member: m, Reason: reason})
			delete(c.gone, m.ID)
		}
	}
	for _, m := range members {
		if !inOld[m.ID] {
			changes = append(changes, MemberUp{Member: m})
		}
	}
	if next.ID != old.ID {
		next.Epoch++
		changes = append(changes, ViewChanged{Old: old, New: next})
	}
	c.view = next
	// Reasons of members never in the view are not needed any more.
	for id := range c.gone {
		delete(c.gone, id)
	}
	return changes
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

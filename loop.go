package cloister

import (
	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
)

// loop is the node's one owner of the core: it feeds membership events and
// stop requests in, and carries the resulting changes out.
func (n *Node) loop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ml.Signal():
			// One snapshot per batch of events, not per event: a 50-member
			// assembly delivers thousands of adverts.
			var changes []core.Change
			for _, e := range n.ml.Drain() {
				changes = append(changes, n.step(e)...)
			}
			n.apply(changes)
		case ack := <-n.stopReq:
			n.apply(n.core.Stop())
			close(ack)
		case <-n.loopCtx.Done():
			return
		}
	}
}

// step feeds one membership event to the core.
func (n *Node) step(e membership.Event) []core.Change {
	m, err := decodeMember(e.Member)
	if err != nil {
		n.logger.Warn("unreadable member", "member", e.Member.ID, "err", err)
	}
	switch e.Kind {
	case membership.Joined:
		return n.core.Join(m)
	case membership.Updated:
		return n.core.Update(m)
	case membership.Departed:
		// memberlist does not tell its delegates a leave from a death;
		// a member whose last advert announced it was stopping has left.
		// The departure carries memberlist's copy of that advert, which
		// can be older than the one sent straight to us.
		if known, ok := n.core.Member(m.ID); m.State == core.Stopping || ok && known.State == core.Stopping {
			return n.core.Leave(m.ID, core.Left)
		}
		return n.core.Leave(m.ID, core.Failed)
	}
	return nil
}

// apply publishes a new snapshot, tells listeners and wakes the metadata
// publisher when this node's advert changed. It runs after every batch of
// inputs, including metadata-only updates that change no state, so the
// snapshot always shows what members last advertised. Only the goroutine
// that owns the core calls it.
func (n *Node) apply(changes []core.Change) {
	state, view := n.core.State(), viewFromCore(n.core.View())
	self := memberFromCore(n.self)
	self.ViewID, self.State, self.StateName = view.ID, state, state.String()
	for i := range view.Members {
		if view.Members[i].ID == self.ID {
			view.Members[i] = self
		}
	}
	cfgs := n.cfg.ringConfigs()
	// Rings answer only when Ready, so they are built only then: not on
	// each of the many view changes of an assembly.
	if state == Ready && (n.rings.built == nil || n.rings.viewID != view.ID) {
		n.rings = buildRings(cfgs, view)
	}
	snap := &Snapshot{
		Self:      self,
		State:     state,
		StateName: state.String(),
		Consensus: n.core.Consensus(),
		View:      view,
		rings:     n.rings.ringsFor(cfgs, view, state, self.ID),
	}
	n.snap.Store(snap)
	for _, c := range changes {
		e := n.toEvent(c, *snap)
		if down, ok := e.(*MemberDown); ok {
			n.calls.PeerDown(down.Member.ID) // its pending calls fail now
			n.mon.fire(*down)
		}
		n.emit(e)
	}
	if state == Ready && (n.readyRings == nil || n.readyRings[DefaultRing].viewID != view.ID) {
		for _, rc := range cfgs {
			n.emit(&RingChanged{Name: rc.Name, Old: n.readyRings[rc.Name], New: snap.rings[rc.Name]})
		}
		n.readyRings = snap.rings
	}
	if snap.State == Ready {
		n.readyOne.Do(func() { close(n.ready) })
	}
	if key := (advertKey{view.ID, state}); key != n.advertised {
		// Only a change of what this node advertises wakes the publisher:
		// the other members' adverts arrive as updates too, and waking it
		// for those would keep postponing its own.
		n.advertised = key
		select {
		case n.publish <- struct{}{}:
		default:
		}
	}
	n.changeMu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.changeMu.Unlock()
}

func (n *Node) toEvent(c core.Change, snap Snapshot) Event {
	switch c := c.(type) {
	case core.MemberUp:
		n.logger.Info("member up", "member", c.Member.Name, "id", c.Member.ID)
		return &MemberUp{Member: memberFromCore(c.Member)}
	case core.MemberDown:
		n.logger.Info("member down", "member", c.Member.Name, "reason", c.Reason)
		return &MemberDown{Member: memberFromCore(c.Member), Reason: c.Reason}
	case core.ViewChanged:
		return &ViewChanged{Old: viewFromCore(c.Old), New: viewFromCore(c.New)}
	case core.StateChanged:
		n.logger.Info("state changed", "from", c.From, "to", c.To, "members", len(c.View.Members))
		s := snap
		s.State, s.StateName, s.View = c.To, c.To.String(), viewFromCore(c.View)
		return &StateChanged{From: c.From, To: c.To, Snapshot: s}
	}
	return nil
}

// emit hands an event to every listener and subscriber without blocking.
func (n *Node) emit(e Event) {
	if e == nil {
		return
	}
	n.dispatchMu.Lock()
	defer n.dispatchMu.Unlock()
	for _, d := range n.dispatch {
		d.push(e)
	}
}

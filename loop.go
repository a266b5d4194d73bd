package cloister

import (
	"time"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
)

// loop is the node's one owner of the core: it feeds membership events,
// the time (for Quorum.StableAfter) and stop requests in, and carries the
// resulting changes out.
func (n *Node) loop() {
	defer n.wg.Done()
	wake := time.NewTimer(time.Hour)
	wake.Stop()
	defer wake.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	drain := time.NewTimer(time.Hour)
	drain.Stop()
	defer drain.Stop()
	var s settling
	var pending bool        // membership has events the loop has not drained
	var lastDrain time.Time // when it last drained them
	for {
		select {
		case <-n.ml.Signal():
			pending = true
		case <-drain.C:
		case f := <-n.confirmed:
			// A failure confirmed off the loop. memberlist may have
			// brought the member back meanwhile, unless its process was
			// seen to end (then memberlist finds out later).
			if f.ended || !n.ml.Alive(f.event.Member.ID) {
				inputs, set := n.inputs([]membership.Event{f.event}, false)
				n.apply(n.feed(&s, inputs, set, time.Now()))
			}
		case <-settle.C:
			n.apply(n.feed(&s, nil, false, time.Now()))
		case <-n.checksDone:
			// The last check under way ended (unless another began
			// since): held inputs may be due.
			if now := time.Now(); len(s.held) > 0 && !now.Before(s.due(n.checksUnderWay())) {
				n.apply(n.feed(&s, nil, false, now))
			}
		case <-wake.C:
			n.apply(n.core.Tick(time.Now()))
		case ack := <-n.stopReq:
			n.apply(n.core.Stop())
			close(ack)
		case <-n.loopCtx.Done():
			return
		}
		if pending {
			// One core step and one snapshot per batch of events, not per
			// event: a 50-member assembly delivers thousands of adverts.
			// Batches are at least drainGap apart (see there).
			if wait := time.Until(lastDrain.Add(drainGap(len(n.snap.Load().View.Members)))); wait > 0 {
				drain.Reset(wait)
			} else {
				pending, lastDrain = false, time.Now()
				inputs, set := n.inputs(n.ml.Drain(), true)
				changes := n.core.Tick(lastDrain)
				n.apply(append(changes, n.feed(&s, inputs, set, lastDrain)...))
			}
		}
		if at := n.core.Wake(); !at.IsZero() {
			wake.Reset(time.Until(at))
		}
		settle.Stop()
		if at := s.due(n.checksUnderWay()); !at.IsZero() {
			settle.Reset(time.Until(at))
		}
	}
}

// drainPerMemberPair is how far apart, per member of the view squared,
// the loop drains membership's events. Each batch costs the core and the
// snapshot a pass over the whole view, so a node that drained every advert
// as it came did work in proportion to the square of the cluster's size
// per round of adverts, and a cluster in proportion to the cube: at 1,000
// nodes in one process, copies of views were most of the memory. A gap
// linear in the view (20 µs a member) still made about 150 batches of a
// round of adverts whatever the size (a round is paced over N/64 gossip
// intervals), three adverts a batch at 500 members, and the loop was a
// fifth of the CPU of a 500-node start in one process. With the square,
// batches grow with the cluster: nothing below 50 members (a kill at N=10
// is still applied at once), 0.5 ms at 50, 2 ms at 100 (as before), 50 ms
// at 500, 200 ms at 1,000. Five 500-node starts in one process were all
// Ready in 26-32 s, and four of them agreed on 10 kills within 90 s (in
// 42-57 s); with the linear gap, Ready in 31-44 s and one of five.
const drainPerMemberPair = 200 * time.Nanosecond

// drainGap is the least time between two drains for a view of members.
func drainGap(members int) time.Duration {
	if members < 50 {
		return 0
	}
	return time.Duration(members*members) * drainPerMemberPair
}

// Settling membership changes. Members join and fail in bursts (a
// thousand nodes starting at once, a rack losing power), and each change
// the core applies is a new view that the node reports and its members
// agree on. So while the member set is changing, the loop holds the
// inputs back and applies them in one batch once no member has joined or
// departed for settleQuiet, or settleMax after the first one held: a burst
// costs one view change, not one per member (Rapid's multi-process cut
// detection, done here in time rather than by counting reports). Metadata
// updates that arrive meanwhile are held with them, in order. The core is
// unchanged: it sees fewer, larger batches.
//
// The quiet period grows with the view, settlePerMember from settleQuiet
// up to maxSettleQuiet, and the bound with it (settleMaxQuiets quiet
// periods, at least settleMax): news of a burst takes longer to reach
// every member of a larger cluster. Ten members killed at once in a
// cluster of 200 were found by the survivors over 350 ms, and a 50 ms
// quiet period cut that into up to 20 distinct views. At 500 members in
// one process the notices reached a tenth of the survivors only after a
// second: a quiet period of 1 ms a member (500 ms) cut the kill into 4-6
// views in three runs even while the checks under way held it (see due),
// 2 ms a member (1 s) made it one view in three of three. Below 25
// members the floor is settleQuiet: in a cluster of 10 the news of a kill
// reaches every survivor within about 15 ms of the first, and a floor of
// 50 ms was half of the 100 ms in which each of them should report it
// (docs/benchmarks.md). A kill in a cluster of 10 is applied within about
// 20 ms of its confirmation, of 25 within about 50 ms, of 100 within
// about 200 ms.
const (
	settleQuiet     = 20 * time.Millisecond
	settlePerMember = 2 * time.Millisecond
	maxSettleQuiet  = 2 * time.Second
	settleMax       = 500 * time.Millisecond
	settleMaxQuiets = 10
)

// settling holds the inputs of a burst of membership changes; owned by the
// loop.
type settling struct {
	held        []core.Input
	change      map[string]bool // while assembling: IDs the held inputs add to the view (true) or take from it (false)
	first, last time.Time       // when the first input was held; the last change of the member set
	quiet       time.Duration   // the quiet period for the view's size when the first was held
	bound       time.Duration   // and the bound
}

// settleFor returns the quiet period and the bound for a view of members.
func settleFor(members int) (quiet, bound time.Duration) {
	quiet = min(maxSettleQuiet, max(settleQuiet, time.Duration(members)*settlePerMember))
	return quiet, max(settleMax, settleMaxQuiets*quiet)
}

// due is when the held inputs are applied, or zero when none are held.
// While endings are being checked (checking), the quiet period does not
// end: the bound alone does, or the end of the checks (the loop asks
// again then).
func (s *settling) due(checking bool) time.Time {
	if len(s.held) == 0 {
		return time.Time{}
	}
	quiet, limit := s.last.Add(s.quiet), s.first.Add(s.bound)
	if !checking && quiet.Before(limit) {
		return quiet
	}
	return limit
}

// feed applies inputs to the core, or holds them while the member set is
// changing (set: they join or remove a member); held inputs are applied,
// before these, once due.
func (n *Node) feed(s *settling, inputs []core.Input, set bool, now time.Time) []core.Change {
	if len(s.held) == 0 && !set {
		return n.core.Apply(inputs)
	}
	if len(s.held) == 0 {
		s.first = now
		s.quiet, s.bound = settleFor(len(n.snap.Load().View.Members))
	}
	if set {
		s.last = now
	}
	s.held = append(s.held, inputs...)
	if now.Before(s.due(n.checksUnderWay())) && !n.reachesConsensus(s, inputs) {
		return nil
	}
	held := s.held
	s.held, s.change = nil, nil
	return n.core.Apply(held)
}

// reachesConsensus records how inputs, held, change the member set of a
// node Assembling below Consensus, and reports whether the held inputs
// bring it to Consensus members. That batch is applied at once: the node
// is waiting for exactly that many, its smaller views were never
// advertised, and the bound of a burst (up to a second at 100 members) is
// what the last node of a 100-process start waited, after its memberlist
// knew everyone, before the cluster could agree. A node Assembling with
// its Consensus in view (a member still votes no) settles as usual.
func (n *Node) reachesConsensus(s *settling, inputs []core.Input) bool {
	if n.core.State() != core.Assembling || len(n.core.View().Members) >= n.core.Consensus() {
		return false
	}
	for _, in := range inputs {
		id, alive := in.Member.ID, in.Kind == core.Alive
		switch {
		case in.Member.Hidden:
			// never in the view
		case alive == n.core.InView(id):
			delete(s.change, id) // back to what the view holds
		default:
			if s.change == nil {
				s.change = map[string]bool{}
			}
			s.change[id] = alive
		}
	}
	members := len(n.core.View().Members)
	for _, added := range s.change {
		if added {
			members++
		} else {
			members--
		}
	}
	return members >= n.core.Consensus()
}

// inputs converts membership events to core inputs. A member whose
// metadata cannot be read still counts as live (it joins the view, and
// holds up agreement until it advertises something readable). With
// confirm, a failure is held back until confirmed (confirm.go). set
// reports whether an input joins a member the view lacks or removes one it
// holds. News that changes no member is no burst to settle: memberlist's
// own verdict on members the view already lost (their ends seen and
// announced seconds before), or its revival of a member whose death was
// never confirmed here. Counting those held every advert behind them for a
// quiet period or more, each node at its own time, while the view stayed
// as it was (memberlist's verdicts on killed members come after its
// suspicion timeout, at least 27 s at 500 members with the harness's
// profile, when the survivors may be in the acceptance round of the view
// without them).
func (n *Node) inputs(events []membership.Event, confirm bool) (in []core.Input, set bool) {
	in = make([]core.Input, 0, len(events))
	for _, e := range events {
		m, err := decodeMember(e.Member)
		if err != nil {
			n.logger.Warn("unreadable member", "member", e.Member.ID, "err", err)
		}
		switch e.Kind {
		case membership.Joined, membership.Updated:
			if n.hints.isEnded(e.Member.ID) {
				continue // its process ended; this advert is old news
			}
			n.checkName(m)
			set = set || e.Kind == membership.Joined && !n.core.InView(e.Member.ID)
			in = append(in, core.Input{Kind: core.Alive, Member: m})
		case membership.Departed:
			if confirm && m.State != Stopping && !n.hints.isEnded(e.Member.ID) && n.startConfirm(e) {
				continue // a failure: applied once confirmed (confirm.go)
			}
			set = set || n.core.InView(e.Member.ID)
			in = append(in, core.Input{Kind: core.Departed, Member: m, Ended: n.hints.isEnded(e.Member.ID)})
		}
	}
	return in, set
}

// apply publishes a new snapshot, tells listeners and wakes the metadata
// publisher when this node's advert changed. It runs after every batch of
// inputs, including metadata-only updates that change no state, so the
// snapshot always shows what members last advertised. Only the goroutine
// that owns the core calls it.
func (n *Node) apply(changes []core.Change) {
	state := n.core.State()
	view := n.publicView(n.core.View(), state)
	self := memberFromCore(n.self)
	self.ViewID, self.State, self.StateName = view.ID, state, state.String()
	prev := n.snap.Load()
	cfgs := n.ringCfgs
	// Rings answer only when Ready, so they are prepared only then (not
	// on each of the many view changes of an assembly), and built on
	// first use, never on this goroutine.
	if state == Ready && (n.rings.tables == nil || n.rings.viewID != view.ID) {
		n.rings = prepareRings(cfgs, view)
	}
	var rings map[string]*Ring
	if prev != nil && prev.State == state && prev.View.ID == view.ID && prev.View.Epoch == view.Epoch &&
		(state != Ready || sameSlice(prev.View.Members, view.Members)) {
		// Nothing the rings hold changed (outside Ready they hold only
		// why they cannot answer): most batches of an assembly are other
		// members' adverts.
		rings = prev.rings
	} else {
		rings = n.rings.ringsFor(cfgs, view, state, self.ID)
	}
	advert := n.core.Advert()
	n.commitsOnCommit.Store(n.core.CommitsOnCommit())
	mismatch, differing := n.ringMismatches(n.core.View().Members)
	self.Term = advert.Quorum.Term
	snap := &Snapshot{
		Self:      self,
		State:     state,
		StateName: state.String(),
		Consensus: n.core.Consensus(),
		Term:      advert.Quorum.Term,
		Quorate:   n.core.Serving(),
		View:      view,
		rings:     rings,
		advert:    advert,

		RingMismatch: mismatch,
	}
	n.snap.Store(snap)
	for _, c := range changes {
		e := n.toEvent(c, prev, snap)
		switch e := e.(type) {
		case *MemberDown:
			n.calls.PeerDown(e.Member.ID) // its pending calls fail now
			if e.Reason == Failed {
				n.reconnect.failed(e.Member.Addr, time.Now())
			} else {
				n.reconnect.forget(e.Member.Addr)
			}
		case *MemberUp:
			n.reconnect.forget(e.Member.Addr)
		}
		n.emit(e)
	}
	for _, m := range differing {
		n.emit(&RingConfigDiffers{Member: m})
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
	if advert != n.advertised {
		// Only a change of what this node advertises wakes the publisher:
		// the other members' adverts arrive as updates too, and waking it
		// for those would keep postponing its own.
		n.advertised = advert
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

func (n *Node) toEvent(c core.Change, prev, snap *Snapshot) Event {
	switch c := c.(type) {
	case core.MemberUp:
		n.logger.Info("member up", "member", c.Member.Name, "id", c.Member.ID)
		return &MemberUp{Member: memberFromCore(c.Member)}
	case core.MemberDown:
		n.logger.Info("member down", "member", c.Member.Name, "reason", c.Reason)
		return &MemberDown{Member: memberFromCore(c.Member), Reason: c.Reason}
	case core.ViewChanged:
		return &ViewChanged{Old: convertedView(c.Old, prev), New: convertedView(c.New, snap)}
	case core.StateChanged:
		n.logger.Info("state changed", "from", c.From, "to", c.To, "members", len(c.View.Members))
		s := *snap
		s.State, s.StateName, s.View = c.To, c.To.String(), convertedView(c.View, snap)
		return &StateChanged{From: c.From, To: c.To, Snapshot: s}
	}
	return nil
}

// convertedView is v as the snapshot shows it when the snapshot holds that
// very view (the usual case: a batch changes the view at most once),
// else a fresh conversion.
func convertedView(v core.View, s *Snapshot) View {
	if s != nil && s.View.ID == ViewID(v.ID) && s.View.Epoch == v.Epoch {
		return s.View
	}
	return viewFromCore(v)
}

// sameSlice reports whether a and b are the same slice (not equal copies).
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
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

package core

import (
	"slices"
	"time"
)

// Core is the state machine of one node. It is not safe for concurrent use:
// one goroutine (the node loop) owns it.
type Core struct {
	self      Member
	consensus int
	quorum    Quorum
	state     State
	known     map[string]Member // every live member incarnation, including self
	gone      map[string]Reason // why a member left known, until the view forgets it
	// departed holds the last record of member incarnations that left
	// known, at most maxDeparted (then it starts again): see recordAlive.
	departed map[string]Member
	// final holds the member incarnations that left or were seen to end
	// (Input.Ended): they never come back. At most maxDeparted (then it
	// starts again); an incarnation that does come back leaves it.
	final map[string]struct{}
	view  View
	at    map[string]int      // the position of each member ID in view.Members
	dirty map[string]struct{} // members of the view whose advert changed since view.Members was built
	// stopping: a member of view.Members other than this node advertises
	// Stopping. It is found once per member slice (setView,
	// refreshViewMembers), not by each of the passes a batch makes.
	stopping bool

	// The quorum protocol (see the package documentation).
	ref     reference   // the last view committed here; Term 0 before the first
	pending []reference // views accepted here and not committed yet, oldest first
	floor   uint64      // the highest term accepted or committed here
	// returnsFrom is the lowest term whose acceptance or commit may come
	// back with its view (cameBack): one above the floor this node held
	// when it last lost quorum, 0 again once it is Ready. A node that
	// lost quorum cannot know what the others accepted meanwhile, and the
	// records that bring its view back may be from before the split.
	returnsFrom uint64
	// commitsOnCommit counts the views committed on another member's
	// commit before every acceptance reached this node.
	commitsOnCommit uint64
	// joined: this node accepted a view holding a member that had
	// committed one, so it joined an established cluster and has no vote
	// of its own until it commits a view itself.
	joined bool
	// votes counts changes to what okFor reads besides the view's
	// members: the reference, the pending acceptances, the policy, joined.
	votes     uint64
	okMemo    okMemo    // okFor's last answer on the whole view (okmemo.go)
	now       time.Time // the latest Tick
	viewSince time.Time // when the view last changed, by the clock of Tick
	hidden    bool      // this core observes without counting (hidden.go)
}

// maxPending bounds the views accepted and not yet committed. Past it the
// node accepts nothing more until a commit: it stays Rehashing, which is
// safe. Only a view that changes faster than its members can accept it
// piles them up.
const maxPending = 64

// maxDeparted bounds Core.departed: a member record each.
const maxDeparted = 4096

// New returns a core in state Down whose view holds only self, with the
// default quorum policy (KeepMajority).
func New(self Member, consensus int) *Core {
	if consensus < 1 {
		consensus = 1
	}
	c := &Core{
		self:      self,
		consensus: consensus,
		known:     map[string]Member{self.ID: self},
		gone:      map[string]Reason{},
		departed:  map[string]Member{},
		final:     map[string]struct{}{},
		dirty:     map[string]struct{}{},
	}
	members := []Member{self}
	c.setView(View{ID: digest(members), Epoch: 1, Members: members})
	return c
}

// SetQuorum sets the quorum policy. Call it before Start.
func (c *Core) SetQuorum(q Quorum) {
	if q.Kind == StaticQuorum && q.Size < 1 {
		q.Size = 1
	}
	c.quorum = q
	c.votes++
}

// Term returns the term of the last view committed here: 0 before the
// first. It never decreases.
func (c *Core) Term() uint64 { return c.ref.Term }

// CommitsOnCommit counts the views this node committed on another
// member's commit, before every member's acceptance had reached it.
func (c *Core) CommitsOnCommit() uint64 { return c.commitsOnCommit }

// Quorate reports whether this node may act: it is Ready on a committed view.
func (c *Core) Quorate() bool { return c.state == Ready }

// Tick tells the core the time, for Quorum.StableAfter. The core reads no
// clock of its own.
func (c *Core) Tick(now time.Time) []Change {
	c.now = now
	if c.viewSince.IsZero() {
		c.viewSince = now
	}
	// Only StableAfter makes time matter; without it there is nothing to
	// settle (the loop ticks before every batch, which settles anyway).
	if c.quorum.StableAfter <= 0 || c.state == Stopped || c.state == Down || c.state == Stopping {
		return nil
	}
	return c.settle(nil, c.state)
}

// Wake returns when the core next needs a Tick (a view waiting out
// StableAfter), or the zero time.
func (c *Core) Wake() time.Time {
	if c.quorum.StableAfter <= 0 || c.viewSince.IsZero() || c.state != Rehashing {
		return time.Time{}
	}
	if at := c.viewSince.Add(c.quorum.StableAfter); at.After(c.now) {
		return at
	}
	return time.Time{}
}

// State returns the current state.
func (c *Core) State() State { return c.state }

// View returns the current view. The caller must not modify its Members;
// the core never does either: every change makes a new slice.
func (c *Core) View() View { return c.view }

// Consensus returns the number of live members required to be Ready.
func (c *Core) Consensus() int { return c.consensus }

// InView reports whether the member with this ID is in the current view.
func (c *Core) InView(id string) bool {
	_, in := c.at[id]
	return in
}

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
	// Ended, with Departed: the member's process was seen to end (its
	// connection closed and its port refused one). That incarnation
	// never comes back, so a view without it may be accepted before it
	// is agreed (acceptsShrinkEarly). Only the root knows; the core
	// takes its word.
	Ended bool
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
	var leavers []Member
	for _, in := range inputs {
		switch in.Kind {
		case Alive:
			r, u := c.recordAlive(in.Member)
			rebuild, updated = rebuild || r, updated || u
		case Departed:
			reason := c.departureReason(in.Member)
			if in.Ended || reason == Left {
				c.recordFinal(in.Member.ID)
			}
			last := c.known[in.Member.ID]
			if c.recordDeparture(in.Member.ID, reason) {
				rebuild = true
				if reason == Left {
					leavers = append(leavers, last)
				}
			}
		}
	}
	c.forget(leavers...)
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
	last := c.known[id]
	if c.state == Stopped || !c.recordDeparture(id, reason) {
		return nil
	}
	if reason == Left {
		c.forget(last)
	}
	return c.settle(c.rebuild(), c.state)
}

// forget removes members that left gracefully from the reference and the
// accepted views: each announced that it stops, so it will never be on any
// side, and a leave never costs quorum. Only a leaver that knew no newer view
// than this node's reference, though: a leaver that accepted a newer view
// may have made it quorate elsewhere, and shrinking a stale reference by
// it let a stale node alone reach a majority (the randomized test of
// graceful stops found that).
//
// The members of one batch are dropped together, each reference copied
// once: a copy per leaver made a hundred nodes stopping together copy
// their references the square of their number of times.
func (c *Core) forget(ms ...Member) {
	var gone map[string]struct{}
	for _, m := range ms {
		if c.mayForget(m) {
			if gone == nil {
				gone = make(map[string]struct{}, len(ms))
			}
			gone[m.ID] = struct{}{}
		}
	}
	if gone == nil {
		return
	}
	drop := func(m Member) bool { _, ok := gone[m.ID]; return ok }
	c.ref = c.ref.withoutAll(drop)
	for i := range c.pending {
		c.pending[i] = c.pending[i].withoutAll(drop)
	}
	c.votes++
}

// mayForget reports whether a member that leaves may be dropped from this
// node's references: it accepted nothing newer than the reference.
func (c *Core) mayForget(m Member) bool { return m.Quorum.Floor <= c.ref.Term }

// recordAlive records m in known. It reports whether the view must be
// rebuilt (the member set may change) or only refreshed (new metadata for
// a member already in the view).
func (c *Core) recordAlive(m Member) (rebuild, updated bool) {
	if m.ID == c.self.ID || !c.admits(m) {
		return false, false
	}
	cur, known := c.known[m.ID]
	if known {
		if m.AdvertSeq < cur.AdvertSeq {
			// Adverts travel both by gossip and straight from their
			// member, so an older one can arrive after a newer one.
			return false, false
		}
		if m.AdvertSeq == cur.AdvertSeq && m.View == cur.View && m.State == cur.State && m.Quorum == cur.Quorum {
			return false, false // the same advert by the other path
		}
		// The same strings as before, decoded anew from each advert:
		// keep the first copy, so the new ones are garbage at once and
		// comparing IDs of the view and the references they were
		// cloned into finds equal pointers.
		m.ID = cur.ID
		if m.Name == cur.Name {
			m.Name = cur.Name
		}
		c.known[m.ID] = m
		if _, in := c.at[m.ID]; in {
			c.dirty[m.ID] = struct{}{}
			return false, true
		}
		return true, false
	}
	if d, ok := c.departed[m.ID]; ok {
		// The incarnation comes back, with the record memberlist's
		// gossip last carried: it can be older than the one that came
		// straight from the member before it departed (memberlist's
		// copy of an advert is published after the direct ones), and an
		// older advert never replaces a newer one, departure or not.
		delete(c.departed, m.ID)
		if m.AdvertSeq < d.AdvertSeq {
			m = d
		}
	}
	c.known[m.ID] = m
	delete(c.gone, m.ID)
	delete(c.final, m.ID)
	return true, false
}

// recordFinal notes that the member incarnation left or ended for good.
func (c *Core) recordFinal(id string) {
	if id == c.self.ID {
		return
	}
	if len(c.final) >= maxDeparted {
		clear(c.final)
	}
	c.final[id] = struct{}{}
}

// recordDeparture removes a member incarnation from known and keeps why,
// reporting whether it was known.
func (c *Core) recordDeparture(id string, reason Reason) bool {
	if id == c.self.ID {
		return false
	}
	last, ok := c.known[id]
	if !ok {
		return false
	}
	if len(c.departed) >= maxDeparted {
		clear(c.departed)
	}
	c.departed[id] = last
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

// refreshViewMembers copies the newest metadata of the members whose
// adverts changed into a new member slice for the view: slices already
// handed out are never modified. Only those members are looked up: the
// core runs once per batch of adverts, and a lookup of every member each
// time made an assembly cost each node the square of the cluster's size.
func (c *Core) refreshViewMembers() {
	if len(c.dirty) == 0 {
		return
	}
	members := slices.Clone(c.view.Members)
	for id := range c.dirty {
		members[c.at[id]] = c.known[id]
	}
	clear(c.dirty)
	c.view.Members = members
	c.stopping = c.anyStopping(members)
}

// setView makes v the view, with its index of positions.
func (c *Core) setView(v View) {
	c.view = v
	c.at = make(map[string]int, len(v.Members))
	for i, m := range v.Members {
		c.at[m.ID] = i
	}
	clear(c.dirty)
	c.stopping = c.anyStopping(v.Members)
}

// anyStopping reports whether a member of ms other than this node
// advertises Stopping.
func (c *Core) anyStopping(ms []Member) bool {
	return slices.ContainsFunc(ms, c.isStopping)
}

// isStopping reports whether m, another member, advertises Stopping.
func (c *Core) isStopping(m Member) bool { return m.State == Stopping && m.ID != c.self.ID }

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

// Advert is what this node gossips about itself.
type Advert struct {
	View   uint64
	State  State
	Quorum QuorumAdvert
}

// Advert returns what this node gossips about itself: its view ID, state
// and part in the quorum protocol.
func (c *Core) Advert() Advert {
	q := QuorumAdvert{Term: c.ref.Term, Accept: c.acceptedTerm(), Floor: c.floor, Committed: c.committed()}
	if c.state != Down && c.state != Stopping && c.state != Stopped {
		q.OK = c.okFor(c.present())
	}
	return Advert{View: c.view.ID, State: c.state, Quorum: q}
}

// rebuild recomputes the view from known members and returns the changes
// to it, members first. Views are sorted by name, then ID, so the newest
// incarnation of each name is found, and the old and new views compared,
// by walking sorted slices: no maps, one allocation for the members.
func (c *Core) rebuild() []Change {
	members := make([]Member, 0, len(c.known))
	for _, m := range c.known {
		if m.Name == c.self.Name && m.ID != c.self.ID || c.hidden && m.ID == c.self.ID {
			continue // nobody else may hold this node's name; a hidden node is in no view
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
		c.viewSince = c.now
	}
	c.setView(next)
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

// settle advances the quorum protocol as far as the members' adverts allow,
// then appends the state change that the view calls for, if any. from is
// the state to evaluate from (Assembling when starting).
func (c *Core) settle(changes []Change, from State) []Change {
	switch from {
	case Down, Stopping, Stopped:
		return changes
	}
	if c.hidden {
		return c.transition(changes, c.observe())
	}
	term := c.ref.Term
	c.advance()
	to := c.evaluate()
	if from == Ready && to == Ready && c.ref.Term != term {
		// Ready at a new term within one batch: the view changed and was
		// committed on the advert that agreed it (acceptsShrinkEarly), or
		// the node followed a higher term. Listeners hear that the node
		// left Ready at the old term before it is Ready at the new one:
		// services take a new term at their Ready (the registry marks it,
		// the replica drops the entries of members gone), and a Ready
		// they never heard of left them at the old one.
		changes = c.transition(changes, Rehashing)
	}
	return c.transition(changes, to)
}

// present returns the view's members that count for quorum: all but those
// that advertise Stopping (they are leaving and will act no more).
func (c *Core) present() []Member {
	if !c.stopping {
		return c.view.Members
	}
	out := make([]Member, 0, len(c.view.Members))
	for _, m := range c.view.Members {
		if !c.isStopping(m) {
			out = append(out, m)
		}
	}
	return out
}

// okFor is this node's vote on whether the members present may form a
// quorate view. Before it ever accepted a view, the start gate decides:
// Consensus members. After, the policy decides against the reference and
// every accepted view not yet committed (the joint rule: a view accepted
// here may have been committed elsewhere, so a later side must also hold a
// quorum of it).
func (c *Core) okFor(present []Member) bool {
	key, memo := c.okKey(present)
	if memo && c.okMemo.key == key {
		return c.okMemo.ok
	}
	ok := c.votesFor(present)
	if memo {
		c.okMemo = okMemo{key: key, ok: ok}
	}
	return ok
}

// votesFor is okFor without the memo.
func (c *Core) votesFor(present []Member) bool {
	switch {
	case c.ref.Term == 0 && c.joined:
		// It accepted a view of an established cluster and committed
		// none: it does not know the reference that made that view
		// quorate, so it votes no and follows the members that do.
		return false
	case c.ref.Term == 0:
		if len(present) < c.consensus || c.quorum.Kind == StaticQuorum && len(present) < c.quorum.Size {
			return false
		}
	case !c.quorum.holds(present, c.leaving(c.ref)):
		return false
	}
	for _, p := range c.pending {
		if !c.quorum.holds(present, c.leaving(p)) {
			return false
		}
	}
	return true
}

// leaving returns r without the members that advertise Stopping: they
// announced a graceful leave and will never be on any side again, so, as
// when their departure arrives, the leave costs nobody quorum (without
// this, the last of three nodes stopped one after the other lost quorum
// while the other two were still saying goodbye).
//
// The reference is copied once, whatever the number of leavers: a copy per
// leaver made each check cost the leavers times the reference, and a
// hundred nodes of one process stopping together allocated 282 MB in it
// (docs/benchmarks.md).
func (c *Core) leaving(r reference) reference {
	if !c.stopping {
		return r
	}
	return r.withoutAll(func(m Member) bool {
		i, in := c.at[m.ID]
		return in && c.isStopping(c.view.Members[i]) && c.mayForget(c.view.Members[i])
	})
}

// agreed reports whether every member advertises this node's view.
func (c *Core) agreed() bool {
	for _, m := range c.view.Members {
		if m.View != c.view.ID && m.ID != c.self.ID {
			return false
		}
	}
	return true
}

// standsDespiteDisagreement reports whether this node keeps its view as
// committed while some members advertise another one: the view is
// committed here, no member advertises a floor above its term, and no
// member on another view that committed a view votes no there.
//
// Every member accepted this view at the term, so anything a member
// accepted since is at a higher term and raises its floor: a member on
// another view at this floor accepted nothing there (as one that declared
// a live member dead and waits for the refutation), and every Ready node
// of the view still holds the same rings and term. A member that never
// committed votes by the start gate (a view short of Consensus is a no),
// which says nothing about this view, and has no vote once a member has
// committed one (quorate).
//
// At 1,000 members in one process, one such member made every Ready node
// Rehashing until it came back (a start had 982 of 1,000 nodes committed
// on one term and only 523 Ready), and the start-gate no of members that
// lost one member before they committed took hundreds more out of Ready.
func (c *Core) standsDespiteDisagreement() bool {
	if !c.committed() {
		return false
	}
	for _, m := range c.view.Members {
		if m.ID == c.self.ID {
			continue
		}
		if m.Quorum.Floor > c.ref.Term || m.View != c.view.ID && m.Quorum.Term > 0 && !m.Quorum.OK {
			return false
		}
	}
	return true
}

// quorate reports whether the present members form a quorum by every
// vote that counts. The votes that count are those of the members that
// have committed a view and, among them, those that accepted the newest
// one (the highest floor) and those that hold the newest reference (the
// highest term). A member that accepted a view knows every view its
// commit could have superseded (a commit needs every member of the new
// view to accept it, and the new view holds a quorum of the old); but
// that acceptance may never have been committed, and then the newest
// reference is one only its holders know: with the highest floor alone
// voting, the randomized test found two disjoint Ready views. The others
// defer: a member with older knowledge would otherwise veto for ever by a
// reference the cluster has moved past, and a member that never committed
// a view does not know the reference that made the view it accepted
// quorate. Before any present member committed a view (a cluster forming
// for the first time), every member votes.
func (c *Core) quorate(present []Member) bool {
	v := c.voters(present)
	if v.count(c.ref.Term, c.floor) && !c.okFor(present) {
		return false
	}
	for _, m := range present {
		if !m.Quorum.OK && v.count(m.Quorum.Term, m.Quorum.Floor) && m.ID != c.self.ID {
			return false
		}
	}
	return true
}

// voters says whose votes count among the present members: see quorate.
type voters struct {
	standing bool   // this node or a present member committed a view
	floor    uint64 // the highest floor among those that did
	term     uint64 // the highest reference term among those that did
}

// count reports whether the vote of a member with this reference term
// and floor counts.
func (v voters) count(term, floor uint64) bool {
	return !v.standing || term > 0 && (floor == v.floor || term == v.term)
}

// voters returns whose votes count among the present members.
func (c *Core) voters(present []Member) voters {
	var v voters
	if c.ref.Term > 0 {
		v = voters{standing: true, floor: c.floor, term: c.ref.Term}
	}
	for _, m := range present {
		if m.Quorum.Term > 0 && m.ID != c.self.ID {
			v = voters{standing: true, floor: max(v.floor, m.Quorum.Floor), term: max(v.term, m.Quorum.Term)}
		}
	}
	return v
}

// acceptedTerm is the term at which this node accepted (or committed) the
// current view, or 0.
func (c *Core) acceptedTerm() uint64 {
	var t uint64
	if c.refIsView() {
		t = c.ref.Term
	}
	if c.lastPendingIsView() {
		t = max(t, c.pending[len(c.pending)-1].Term)
	}
	return t
}

// refIsView reports whether the reference is the current view: accepted
// at this epoch of it, or at an earlier one (the view left and came back,
// as when a member's record flaps) with nothing accepted since, here or by
// any member (cameBack).
func (c *Core) refIsView() bool {
	r := c.ref
	return r.Term > 0 && r.ViewID == c.view.ID && (r.Epoch == c.view.Epoch || len(c.pending) == 0 && c.cameBack(r.Term))
}

// lastPendingIsView reports whether the newest accepted view not yet
// committed is the current view: at this epoch of it, or at an earlier
// one with nothing accepted at a higher term since (cameBack).
func (c *Core) lastPendingIsView() bool {
	n := len(c.pending)
	if n == 0 {
		return false
	}
	r := c.pending[n-1]
	return r.ViewID == c.view.ID && (r.Epoch == c.view.Epoch || c.cameBack(r.Term))
}

// cameBack reports whether what this node holds of a view at term t still
// stands now that the view came back at a new epoch: neither this node
// nor any member advertises a floor above t, and this node did not lose
// quorum since it accepted t. A node back from a minority side that the
// majority left behind accepts the view anew, as before: it lost quorum
// on its side, and it cannot count on the majority's higher floors to
// tell it, because the records that bring the view back may be older
// than the majority's acceptance (memberlist's copy of an advert is
// published after the copies sent straight to the members of the view,
// and a member that rejoins carries memberlist's: on the in-memory
// network a node back from the minority was Ready at its old term for a
// moment, in about one heal of a hundred under load).
func (c *Core) cameBack(t uint64) bool {
	if c.floor != t || t < c.returnsFrom {
		return false
	}
	for _, m := range c.view.Members {
		if m.Quorum.Floor > t {
			return false
		}
	}
	return true
}

// committed reports whether the current view is committed here at the
// highest term this node accepts it at.
func (c *Core) committed() bool {
	// acceptedTerm() == c.ref.Term, without a second refIsView.
	return c.refIsView() && !(c.lastPendingIsView() && c.pending[len(c.pending)-1].Term > c.ref.Term)
}

// advance takes the quorum protocol's next steps for the current view:
// accept it once it is agreed and quorate (and stable), at a term above
// every term any member accepted before (a forming cluster's first view
// sooner: acceptsEarly); raise the acceptance to the highest term another
// member accepted it at; commit it once every member accepted it at the
// same term.
func (c *Core) advance() {
	present := c.present()
	agreed := c.agreed()
	switch {
	case agreed && !c.quorate(present):
		return
	case !agreed && !c.acceptsEarly(present):
		return
	case c.quorum.StableAfter > 0 && c.now.Sub(c.viewSince) < c.quorum.StableAfter:
		return
	}
	acc := c.acceptedTerm()
	highest := acc
	for _, m := range present {
		if m.Quorum.Accept > highest && m.View == c.view.ID && m.ID != c.self.ID {
			highest = m.Quorum.Accept
		}
	}
	switch {
	case acc == 0:
		if !c.accept(c.nextTerm(present), present) {
			return
		}
	case highest > acc:
		// Another member accepts this view at a higher term (its own
		// view changed and came back meanwhile, or it saw a higher
		// floor): follow it, even from a committed view, so that all
		// end on one term.
		if !c.accept(highest, present) {
			return
		}
	case c.committed():
		return
	}
	if !agreed {
		return // a commit needs every member's acceptance of this view
	}
	t := c.acceptedTerm()
	if !allAccepted(present, c.self.ID, t) {
		if !committedBy(present, c.self.ID, t) {
			return
		}
		c.commitsOnCommit++
	}
	c.ref = reference{Term: t, ViewID: c.view.ID, Epoch: c.view.Epoch, Members: slices.Clone(present)}
	c.pending = nil // all accepted at lower terms: the commit supersedes them
	c.votes++
}

// allAccepted reports whether every present member other than self
// accepts the view at term t.
func allAccepted(present []Member, self string, t uint64) bool {
	for _, m := range present {
		if m.Quorum.Accept != t && m.ID != self {
			return false
		}
	}
	return true
}

// committedBy reports whether a present member other than self advertises
// the view (the caller checked that every member advertises it) committed
// at term t: it saw every member accept it at t, which is what this node
// would otherwise wait to see for itself. Every member commits on the
// first such advert instead of on the last acceptance to reach it: at
// 1,000 members in one process, each member waited for a thousand
// acceptances, any of which a full queue could drop, and the acceptance
// round took minutes of repairs and pulls.
func committedBy(present []Member, self string, t uint64) bool {
	for _, m := range present {
		if m.Quorum.Committed && m.Quorum.Term == t && m.Quorum.Accept == t && m.ID != self {
			return true
		}
	}
	return false
}

// nextTerm is the term to accept the current view at: above every term
// that this node or another present member accepted or committed before,
// and at least the term another member already accepts this view at (its
// floor then includes that acceptance, which is no reason to go higher).
// A member that advertises another view (an early acceptance, before the
// view is agreed) accepts that view, not this one: its floor counts.
func (c *Core) nextTerm(present []Member) uint64 {
	t := c.floor + 1
	for _, m := range present {
		if m.ID == c.self.ID {
			continue
		}
		q := m.Quorum
		if q.Accept > 0 && q.Floor <= q.Accept && m.View == c.view.ID {
			t = max(t, q.Accept)
		} else {
			t = max(t, q.Floor+1)
		}
	}
	return t
}

// accept records the current view as accepted at term t, reporting false
// when too many accepted views are pending.
func (c *Core) accept(t uint64, present []Member) bool {
	c.votes++
	if n := len(c.pending); c.lastPendingIsView() {
		c.pending[n-1].Term, c.pending[n-1].Epoch = t, c.view.Epoch
	} else {
		if n >= maxPending {
			return false
		}
		c.pending = append(c.pending, reference{Term: t, ViewID: c.view.ID, Epoch: c.view.Epoch, Members: slices.Clone(present)})
	}
	if c.ref.Term == 0 && slices.ContainsFunc(present, func(m Member) bool { return m.Quorum.Term > 0 }) {
		c.joined = true
	}
	c.floor = max(c.floor, t)
	return true
}

// evaluate is the rule for the running states.
func (c *Core) evaluate() State {
	present := c.present()
	if c.ref.Term == 0 && !c.joined && len(c.view.Members) < c.consensus {
		return Assembling
	}
	switch {
	case c.votesAlone(present) && !c.okFor(present):
		return NoQuorum // its vote counts and says no: no need to wait for agreement
	case !c.agreed() && !c.standsDespiteDisagreement():
		return Rehashing
	case !c.quorate(present):
		if !c.voters(present).standing && !c.joined {
			return Assembling // nobody has started yet
		}
		return NoQuorum
	case !c.committed():
		return Rehashing
	}
	return Ready
}

func (c *Core) transition(changes []Change, to State) []Change {
	if to == c.state {
		return changes
	}
	switch to {
	case NoQuorum:
		c.returnsFrom = c.floor + 1 // see cameBack
	case Ready:
		c.returnsFrom = 0 // quorate again: every member of its view is back, or it committed anew
	}
	from := c.state
	c.state = to
	return append(changes, StateChanged{From: from, To: to, View: c.view})
}

// Serving reports whether this node should stay in service (a readiness
// probe): it is Ready, or it has committed a view and is rehashing a change
// without having learned that its side lost quorum.
func (c *Core) Serving() bool {
	if c.hidden {
		return c.state == Ready // it has no vote: it serves what it sees agreed
	}
	switch c.state {
	case Ready:
		return true
	case Rehashing:
		return c.ref.Term > 0 && c.okFor(c.present())
	}
	return false
}

// votesAlone reports whether this node's vote counts on the present
// members (see quorate).
func (c *Core) votesAlone(present []Member) bool {
	return c.ref.Term > 0 && c.voters(present).count(c.ref.Term, c.floor)
}

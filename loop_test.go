package cloister

import (
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
)

// memberlist hands a departure its own copy of the member's advert, which
// can be older than the stopping advert sent straight to us: the member
// still left.
func TestDepartureAfterDirectStoppingAdvertIsALeave(t *testing.T) {
	n := loopNode(2)
	peer := func(st State, seq uint64) membership.Member {
		return membership.Member{ID: "app@127.0.0.1:2#1", Addr: netip.MustParseAddrPort("127.0.0.1:2"),
			Meta: encodeMeta(meta{State: st, Weight: 1, Seq: seq})}
	}
	feed := func(events ...membership.Event) []core.Change {
		in, _ := n.inputs(events, false)
		return n.core.Apply(in)
	}
	feed(membership.Event{Kind: membership.Joined, Member: peer(Assembling, 0)})
	changes := feed(
		membership.Event{Kind: membership.Updated, Member: peer(Stopping, 2)}, // the direct copy
		membership.Event{Kind: membership.Departed, Member: peer(Assembling, 0)},
	)
	for _, c := range changes {
		if down, ok := c.(core.MemberDown); ok {
			if down.Reason != core.Left {
				t.Fatalf("departure reported %v, want left", down.Reason)
			}
			return
		}
	}
	t.Fatalf("no MemberDown in %v", changes)
}

// While assembling, joins are held like any burst, except the batch that
// brings the view to Consensus members: that one is applied at once. Once
// the node has its Consensus, a join is held again.
func TestSettlingAppliesTheJoinThatReachesConsensus(t *testing.T) {
	n := loopNode(4)
	peer := func(i int) membership.Event {
		addr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", i))
		return membership.Event{Kind: membership.Joined, Member: membership.Member{
			ID: fmt.Sprintf("app@%s#1", addr), Addr: addr, Meta: encodeMeta(meta{State: Assembling, Weight: 1})}}
	}
	left := func(e membership.Event) membership.Event { e.Kind = membership.Departed; return e }
	var s settling
	now := time.Unix(1000, 0)
	feed := func(events ...membership.Event) []core.Change {
		in, set := n.inputs(events, false)
		now = now.Add(time.Millisecond) // well inside the quiet period
		return n.feed(&s, in, set, now)
	}
	viewSize := func(changes []core.Change) int {
		for _, c := range changes {
			if v, ok := c.(core.ViewChanged); ok {
				return len(v.New.Members)
			}
		}
		return 0
	}
	if c := feed(peer(2), peer(3)); c != nil {
		t.Fatalf("2 joins of a 4-member start applied at once: %v", c)
	}
	if c := feed(left(peer(3))); c != nil {
		t.Fatalf("a departure that leaves 2 of 4 applied at once: %v", c)
	}
	if c := feed(peer(4)); c != nil {
		t.Fatalf("a join that makes 3 of 4 (one joined then left) applied at once: %v", c)
	}
	if got := viewSize(feed(peer(3))); got != 4 {
		t.Fatalf("the join that makes 4 of 4: view of %d applied, want 4", got)
	}
	if n.core.State() == core.Assembling {
		t.Fatalf("still Assembling with 4 of 4")
	}
	if c := feed(peer(5)); c != nil {
		t.Fatalf("a join after the start applied at once: %v", c)
	}
}

// A node can be Assembling with its Consensus in view: every member
// advertises its view but one votes no (it does not have its Consensus
// yet). Joins then settle like any burst: only the batch that crosses to
// Consensus goes at once.
func TestSettlingHoldsJoinsOnceConsensusIsInView(t *testing.T) {
	n := loopNode(2)
	addr := netip.MustParseAddrPort("127.0.0.1:2")
	peer := func(kind membership.EventKind, m meta) membership.Event {
		return membership.Event{Kind: kind, Member: membership.Member{ID: "app@127.0.0.1:2#1", Addr: addr, Meta: encodeMeta(m)}}
	}
	var s settling
	now := time.Unix(1000, 0)
	feed := func(events ...membership.Event) []core.Change {
		in, set := n.inputs(events, false)
		now = now.Add(time.Millisecond)
		return n.feed(&s, in, set, now)
	}
	if c := feed(peer(membership.Joined, meta{State: Assembling, Weight: 1})); c == nil {
		t.Fatal("the join that makes 2 of 2 was held")
	}
	feed(peer(membership.Updated, meta{State: Assembling, Weight: 1, Seq: 1, View: n.core.View().ID, HasQuorum: true}))
	if st := n.core.State(); st != core.Assembling {
		t.Fatalf("state %v with a member voting no, want Assembling", st)
	}
	third := netip.MustParseAddrPort("127.0.0.1:3")
	join := membership.Event{Kind: membership.Joined, Member: membership.Member{ID: "app@127.0.0.1:3#1", Addr: third,
		Meta: encodeMeta(meta{State: Assembling, Weight: 1})}}
	if c := feed(join); c != nil {
		t.Fatalf("a join to an Assembling node with its Consensus in view applied at once: %v", c)
	}
}

// assemblingPeer is a membership event of the given kind about member i
// (at 127.0.0.1:i), advertising Assembling.
func assemblingPeer(kind membership.EventKind, i int) membership.Event {
	addr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", i))
	return membership.Event{Kind: kind, Member: membership.Member{
		ID: fmt.Sprintf("app@%s#1", addr), Addr: addr, Meta: encodeMeta(meta{State: Assembling, Weight: 1})}}
}

// A burst of departures is not applied while this node is still checking
// endings (a down notice waiting, a check under way): they are news of the
// same burst. The bound still holds, and the end of the checks wakes the
// loop to apply what is due.
func TestSettlingWaitsForChecksUnderWay(t *testing.T) {
	n := loopNode(2)
	n.checksDone = make(chan struct{}, 1)
	peer := assemblingPeer
	var s settling
	now := time.Unix(1000, 0)
	feed := func(events ...membership.Event) []core.Change {
		in, set := n.inputs(events, false)
		return n.feed(&s, in, set, now)
	}
	removes := func(changes []core.Change, id string) bool {
		for _, c := range changes {
			if d, ok := c.(core.MemberDown); ok && d.Member.ID == id {
				return true
			}
		}
		return false
	}
	feed(peer(membership.Joined, 2), peer(membership.Joined, 3))
	if !n.core.InView(peer(0, 3).Member.ID) {
		t.Fatal("the joins that reach Consensus were held")
	}
	quiet, bound := settleFor(0) // the test node's snapshot holds no view

	n.checkBegun()
	if c := feed(peer(membership.Departed, 3)); c != nil {
		t.Fatalf("a departure applied at once: %v", c)
	}
	first := now
	now = now.Add(2 * quiet)
	if c := feed(); c != nil {
		t.Fatalf("applied after its quiet period while a check was under way: %v", c)
	}
	if got := s.due(n.checksUnderWay()); !got.Equal(first.Add(bound)) {
		t.Fatalf("due %v while checking, want the bound %v", got.Sub(first), bound)
	}
	n.checkEnded()
	select {
	case <-n.checksDone:
	default:
		t.Fatal("the end of the last check did not wake the loop")
	}
	if c := feed(); !removes(c, peer(0, 3).Member.ID) {
		t.Fatalf("checks over, quiet period passed: %v, want the departure applied", c)
	}

	// A check that never ends holds a burst up to its bound only.
	n.checkBegun()
	defer n.checkEnded()
	feed(peer(membership.Departed, 2))
	now = now.Add(bound - time.Millisecond)
	if c := feed(); c != nil {
		t.Fatalf("applied before the bound with a check under way: %v", c)
	}
	now = now.Add(time.Millisecond)
	if c := feed(); !removes(c, peer(0, 2).Member.ID) {
		t.Fatalf("at the bound: %v, want the departure applied", c)
	}
}

// News that changes no member of the view is applied at once, not held
// as a burst: memberlist's verdict on a member the view already lost, and
// its revival of a member the view still holds. A departure of a member
// the view holds is held, and such news meanwhile does not stretch the
// hold.
func TestSettlingHoldsOnlyWhatChangesTheView(t *testing.T) {
	n := loopNode(2)
	peer := assemblingPeer
	var s settling
	now := time.Unix(1000, 0)
	feed := func(events ...membership.Event) {
		in, set := n.inputs(events, false)
		now = now.Add(time.Millisecond) // well inside the quiet period
		n.feed(&s, in, set, now)
	}
	feed(peer(membership.Joined, 2), peer(membership.Joined, 3))
	if !n.core.InView(peer(0, 3).Member.ID) {
		t.Fatal("the joins that reach Consensus were held")
	}

	feed(peer(membership.Departed, 9)) // never in the view
	if len(s.held) != 0 {
		t.Fatalf("the departure of a member the view lacks was held: %d inputs", len(s.held))
	}
	feed(peer(membership.Joined, 3)) // memberlist revives a member the view holds
	if len(s.held) != 0 {
		t.Fatalf("the revival of a member the view holds was held: %d inputs", len(s.held))
	}

	feed(peer(membership.Departed, 3))
	if len(s.held) != 1 || !n.core.InView(peer(0, 3).Member.ID) {
		t.Fatalf("the departure of a member the view holds was not held: %d inputs held", len(s.held))
	}
	due := s.due(false)
	feed(peer(membership.Departed, 9))
	if got := s.due(false); !got.Equal(due) {
		t.Fatalf("news that changes no member moved the hold from %v to %v", due, got)
	}
	if len(s.held) != 2 {
		t.Fatalf("%d inputs held, want the news held behind the departure, in order", len(s.held))
	}
}

// The drain gap is nothing below 50 members and grows with the square of
// the view above: 2 ms at 100 members, 200 ms at 1,000.
func TestDrainGapGrowsWithTheSquareOfTheView(t *testing.T) {
	for _, c := range []struct {
		members int
		gap     string
	}{{1, "0s"}, {49, "0s"}, {50, "500µs"}, {100, "2ms"}, {500, "50ms"}, {1000, "200ms"}} {
		if got := drainGap(c.members).String(); got != c.gap {
			t.Errorf("drainGap(%d) = %s, want %s", c.members, got, c.gap)
		}
	}
}

// loopNode is a node with only what the loop's steps use: a started core
// of the given Consensus, a logger and an empty snapshot.
func loopNode(consensus int) *Node {
	self := core.Member{ID: "app@127.0.0.1:1#1", Name: "app@127.0.0.1:1", Incarnation: 1, Weight: 1}
	n := &Node{core: core.New(self, consensus), logger: slog.New(slog.DiscardHandler)}
	n.snap.Store(&Snapshot{})
	n.core.Start()
	return n
}

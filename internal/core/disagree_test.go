package core

import "testing"

// A Ready node keeps its committed view while one member advertises
// another view it has not accepted anything on (a member that declared a
// live one dead and waits for the refutation): at 1,000 members one such
// node made every other node Rehashing. A member that accepted something
// newer (a floor above the term), or that votes no on its view, still
// makes it Rehashing.
func TestReadyWhileAMemberHoldsAnotherView(t *testing.T) {
	const otherView = 0xfeed

	t.Run("a member on another view at the same term", func(t *testing.T) {
		c, _, b, _ := cluster3(t)
		v := c.View().ID
		b = advertised(b, otherView, QuorumAdvert{Term: 1, Accept: 0, Floor: 1, OK: true})
		if changes := c.Update(b); len(changes) != 0 || c.State() != Ready || c.Term() != 1 {
			t.Fatalf("state %v term %d (changes %v), want ready at term 1 with no change", c.State(), c.Term(), kinds(changes))
		}
		if q := c.Advert().Quorum; !q.Committed || q.Term != 1 || q.Accept != 1 {
			t.Fatalf("advert %+v, want the view still committed at term 1", q)
		}
		b = advertised(b, v, QuorumAdvert{Term: 1, Accept: 1, Floor: 1, OK: true})
		if changes := c.Update(b); len(changes) != 0 || c.State() != Ready {
			t.Fatalf("b back: state %v (changes %v), want ready, no change", c.State(), kinds(changes))
		}
	})
	t.Run("a member that accepted a newer view", func(t *testing.T) {
		c, _, b, _ := cluster3(t)
		c.Update(advertised(b, otherView, QuorumAdvert{Term: 1, Accept: 2, Floor: 2, OK: true}))
		if c.State() != Rehashing {
			t.Fatalf("state %v, want rehashing: a member accepted term 2", c.State())
		}
	})
	t.Run("a member of this view at a higher floor", func(t *testing.T) {
		c, _, b, c3 := cluster3(t)
		c.Update(advertised(c3, otherView, QuorumAdvert{Term: 1, Floor: 1, OK: true}))
		c.Update(advertised(b, c.View().ID, QuorumAdvert{Term: 1, Accept: 1, Floor: 2, OK: true}))
		if c.State() != Rehashing {
			t.Fatalf("state %v, want rehashing: b accepted something at term 2", c.State())
		}
	})
	t.Run("a member on another view that votes no", func(t *testing.T) {
		c, _, b, _ := cluster3(t)
		c.Update(advertised(b, otherView, QuorumAdvert{Term: 1, Floor: 1}))
		if c.State() != Rehashing {
			t.Fatalf("state %v, want rehashing: b votes no on its view", c.State())
		}
	})
	t.Run("a member that never committed votes no on another view", func(t *testing.T) {
		c, _, b, _ := cluster3(t)
		// b lost a member before it committed: below the start gate, its
		// vote is no, and it has no vote in a cluster that committed.
		c.Update(advertised(b, otherView, QuorumAdvert{Accept: 1, Floor: 1}))
		if c.State() != Ready {
			t.Fatalf("state %v, want ready: a member that never committed has no vote", c.State())
		}
	})
	t.Run("not committed yet", func(t *testing.T) {
		c, _, b, c3 := accepting3(t)
		c.Update(agreeing(c3, c.View().ID, 1))
		c.Update(advertised(b, otherView, QuorumAdvert{Floor: 1, OK: true}))
		if c.State() == Ready {
			t.Fatal("ready on a view it never committed")
		}
	})
	t.Run("its own view changes", func(t *testing.T) {
		c, _, b, c3 := cluster3(t)
		c.Update(advertised(b, otherView, QuorumAdvert{Term: 1, Floor: 1, OK: true}))
		c.Leave(c3.ID, Failed)
		if c.State() != Rehashing {
			t.Fatalf("state %v, want rehashing on its own view change", c.State())
		}
	})
}

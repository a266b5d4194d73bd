package core

import "testing"

// committed is the quorum advert of a member that holds the reference
// at term ref and accepts its advertised view at accept.
func committed(ref, accept uint64) QuorumAdvert {
	return QuorumAdvert{Term: ref, Accept: accept, Floor: max(ref, accept), OK: true}
}

// A member seen to end leaves a view that is accepted with the view
// itself: the round of adverts that agrees it commits it.
func TestAKillIsAcceptedWithItsView(t *testing.T) {
	c, _, b, c3 := cluster3(t)
	c.Apply([]Input{{Kind: Departed, Member: c3, Ended: true}})
	v := c.View().ID
	if a := c.Advert(); c.State() != Rehashing || a.View != v || a.Quorum.Accept != 2 || a.Quorum.Floor != 2 || !a.Quorum.OK {
		t.Fatalf("after the end of c: state %v advert %+v, want rehashing, advertising the view accepted at term 2", c.State(), a)
	}
	c.Update(advertised(b, v, committed(1, 2)))
	wantReady(t, c, 2, "on b's first advert of the view")
}

// A member that announced it stops is gone for good too.
func TestALeaveIsAcceptedWithItsView(t *testing.T) {
	c, _, b, c3 := cluster3(t)
	c3.State, c3.AdvertSeq = Stopping, c3.AdvertSeq+1
	c.Update(c3)
	c.Leave(c3.ID, Left)
	v := c.View().ID
	if a := c.Advert(); a.View != v || a.Quorum.Accept != 2 {
		t.Fatalf("after c left: advert %+v, want the view accepted at term 2", a)
	}
	c.Update(advertised(b, v, committed(1, 2)))
	wantReady(t, c, 2, "on b's first advert of the view")
}

// A member only declared failed may be alive and come back: its view is
// accepted after agreement, as before, and the view it comes back to is
// Ready again at once at the old term.
func TestAFailureOnlyDeclaredIsNotAcceptedEarly(t *testing.T) {
	c, _, _, c3 := cluster3(t)
	before := c.View().ID
	c.Apply([]Input{{Kind: Departed, Member: c3}})
	if a := c.Advert(); a.Quorum.Accept != 0 || a.Quorum.Floor != 1 {
		t.Fatalf("after c was declared failed: advert %+v, want nothing accepted", a.Quorum)
	}
	c.Join(c3)
	if c.View().ID != before {
		t.Fatal("c came back and the view is not the one before")
	}
	wantReady(t, c, 1, "once c is back")
}

// A member on another view that accepted something since the commit is
// ahead of this node, or on a view of its own: no early acceptance.
func TestNoEarlyShrinkWhileAMemberAcceptedAnotherView(t *testing.T) {
	c, a, b, c3 := cluster3(t)
	c.Update(advertised(b, digest([]Member{a, b, c3})+1, committed(1, 2)))
	c.Apply([]Input{{Kind: Departed, Member: c3, Ended: true}})
	if got := c.Advert().Quorum; got.Accept != 0 {
		t.Fatalf("advert %+v: b accepted another view at term 2, want nothing accepted", got)
	}
}

// A member that comes back is no longer gone for good: a view without it
// later (declared failed) is not accepted early.
func TestAnIncarnationBackIsNotFinal(t *testing.T) {
	c, _, _, c3 := cluster3(t)
	c.Apply([]Input{{Kind: Departed, Member: c3, Ended: true}})
	c.Join(c3)
	if _, final := c.final[c3.ID]; final {
		t.Fatal("c is back and still recorded as gone for good")
	}
}

// A Ready node that commits a new view in one batch (the advert that
// agrees it also completes the acceptances) says it left Ready before it
// is Ready again at the new term: services take a new term at Ready.
func TestReadyAtANewTermInOneBatchIsTwoStateChanges(t *testing.T) {
	c, a, b, c3 := cluster3(t)
	v := digest([]Member{a, b})
	changes := c.Apply([]Input{{Kind: Alive, Member: advertised(b, v, committed(1, 2))}, {Kind: Departed, Member: c3, Ended: true}})
	wantReady(t, c, 2, "after the batch")
	var states []string
	for _, ch := range changes {
		if sc, ok := ch.(StateChanged); ok {
			states = append(states, sc.From.String()+"->"+sc.To.String())
		}
	}
	if len(states) != 2 || states[0] != "ready->rehashing" || states[1] != "rehashing->ready" {
		t.Fatalf("state changes %v, want ready->rehashing, rehashing->ready", states)
	}
}

package core

import "testing"

// accepting3 returns a core for a, forming a cluster with b and c
// (consensus 3): b and c vote for the view, a accepts it at term 1 and
// waits for their acceptances.
func accepting3(t *testing.T) (*Core, Member, Member, Member) {
	t.Helper()
	c, a, b, c3, v := start3()
	c.Apply([]Input{{Kind: Alive, Member: agreeingUnaccepted(b, v, 0)}, {Kind: Alive, Member: agreeingUnaccepted(c3, v, 0)}})
	if got := c.Advert().Quorum.Accept; got != 1 {
		t.Fatalf("accepts at %d, want 1", got)
	}
	return c, a, b, c3
}

// A member that committed the view at the term this node accepts it at
// saw every member accept it: this node commits on its advert, without
// waiting for the acceptances it has not received itself.
func TestCommitsOnAMembersCommit(t *testing.T) {
	committed := func(m Member, view, term uint64) Member {
		return advertised(m, view, QuorumAdvert{Term: term, Accept: term, Floor: term, OK: true, Committed: true})
	}

	t.Run("commit at the accepted term", func(t *testing.T) {
		c, _, b, _ := accepting3(t)
		v := c.View().ID
		c.Update(committed(b, v, 1)) // c's acceptance never reached a
		if c.State() != Ready || c.Term() != 1 {
			t.Fatalf("state %v term %d, want ready at term 1", c.State(), c.Term())
		}
		if q := c.Advert().Quorum; !q.Committed || q.Term != 1 {
			t.Fatalf("advert %+v, want committed at term 1", q)
		}
		if got := c.CommitsOnCommit(); got != 1 {
			t.Fatalf("CommitsOnCommit = %d, want 1", got)
		}
	})
	t.Run("an acceptance alone is not enough", func(t *testing.T) {
		c, _, b, c3 := accepting3(t)
		v := c.View().ID
		c.Update(agreeing(b, v, 1))
		if c.State() == Ready {
			t.Fatal("ready without c's acceptance or anybody's commit")
		}
		if c.Advert().Quorum.Committed {
			t.Fatal("advertises a commit it did not make")
		}
		c.Update(agreeing(c3, v, 1)) // every acceptance: the usual commit
		if c.State() != Ready || c.CommitsOnCommit() != 0 {
			t.Fatalf("state %v, CommitsOnCommit %d; want ready on the acceptances alone", c.State(), c.CommitsOnCommit())
		}
	})
	t.Run("a commit at another term is not this one", func(t *testing.T) {
		c, _, b, _ := accepting3(t)
		v := c.View().ID
		b2 := committed(b, v, 1)
		b2.Quorum.Term = 0 // committed flag with a reference older than the acceptance
		c.Update(b2)
		if c.State() == Ready {
			t.Fatal("ready on a commit at a term other than the accepted one")
		}
	})
}

// A member's record that flaps (departs and comes back, as when memberlist
// declares it dead and it refutes) brings back the same view at a new
// epoch. A node that accepted nothing meanwhile keeps what it held: Ready
// at its term again, or its acceptance of the view. It used to accept the
// view again at a higher term, and every member followed it there from
// Ready: at 1,000 members in one process, each flap at any node began
// the whole round again.
func TestFlapKeepsTheViewsTerm(t *testing.T) {
	t.Run("committed", func(t *testing.T) {
		c, _, b, _ := cluster3(t)
		v := c.View().ID
		c.Leave(b.ID, Failed)
		if c.State() != Rehashing {
			t.Fatalf("after the flap's departure: %v, want rehashing", c.State())
		}
		c.Join(agreeing(b, v, 1))
		if c.View().ID != v {
			t.Fatal("the view did not come back")
		}
		if c.State() != Ready || c.Term() != 1 {
			t.Fatalf("state %v term %d, want ready at term 1 again", c.State(), c.Term())
		}
		if q := c.Advert().Quorum; q.Accept != 1 || !q.Committed {
			t.Fatalf("advert %+v, want the view committed at term 1, no new acceptance", q)
		}
	})
	t.Run("accepted", func(t *testing.T) {
		c, _, b, c3 := accepting3(t)
		v := c.View().ID
		c.Leave(c3.ID, Failed)
		c.Join(agreeingUnaccepted(c3, v, 0))
		if got := c.Advert().Quorum.Accept; got != 1 {
			t.Fatalf("after the flap accepts at %d, want still 1", got)
		}
		b.AdvertSeq, c3.AdvertSeq = 1, 1
		c.Apply([]Input{{Kind: Alive, Member: agreeing(b, v, 1)}, {Kind: Alive, Member: agreeing(c3, v, 1)}})
		if c.State() != Ready || c.Term() != 1 {
			t.Fatalf("state %v term %d, want ready at term 1", c.State(), c.Term())
		}
	})
	t.Run("accepted another view meanwhile", func(t *testing.T) {
		c, _, b, c3 := cluster3(t)
		v := c.View().ID
		c.Leave(c3.ID, Failed)
		v2 := c.View().ID
		b.AdvertSeq = 1
		c.Update(agreeingUnaccepted(b, v2, 1))
		if got := c.Advert().Quorum.Accept; got != 2 {
			t.Fatalf("accepts the smaller view at %d, want 2", got)
		}
		b.AdvertSeq = 2
		c.Update(agreeing(b, v, 1)) // b back on the old view, c3 back too
		c.Join(agreeing(c3, v, 1))
		if c.View().ID != v {
			t.Fatal("the view did not come back")
		}
		if q := c.Advert().Quorum; q.Committed || q.Accept == 1 {
			t.Fatalf("advert %+v: term 2 was accepted since, so the view must be accepted anew, above it", q)
		}
	})
}

// A node back from the minority side of a split sees the view it
// committed come back, but the majority committed a view without it
// meanwhile: their records advertise a higher floor, and it must accept
// the view anew rather than be Ready at its old term.
func TestComingBackFromTheMinorityIsNotReadyAtTheOldTerm(t *testing.T) {
	c, _, b, c3 := cluster3(t)
	v := c.View().ID
	c.Apply([]Input{{Kind: Departed, Member: b}, {Kind: Departed, Member: c3}})
	if c.State() != NoQuorum {
		t.Fatalf("alone: %v, want noquorum", c.State())
	}
	moved := func(m Member) Member { // committed {b, c} at term 2 meanwhile
		m.View, m.AdvertSeq = v, 5
		m.Quorum = QuorumAdvert{Term: 2, Floor: 2, OK: true}
		return m
	}
	c.Apply([]Input{{Kind: Alive, Member: moved(b)}, {Kind: Alive, Member: moved(c3)}})
	if c.View().ID != v {
		t.Fatal("the view did not come back")
	}
	if c.State() == Ready {
		t.Fatalf("ready at term %d on the view the majority moved past", c.Term())
	}
	if q := c.Advert().Quorum; q.Committed || q.Accept == 1 {
		t.Fatalf("advert %+v: holds the old term's acceptance", q)
	}
}

// The same return, but every member's record comes back as it was before
// the split: what memberlist's copy of their adverts still said (it is
// published after the adverts sent straight to the members of the view,
// so a member that rejoins carries it first). Nothing tells this node
// that the majority moved on, but it knows that its side lost quorum: the
// others may have, so it must accept the view anew, never be Ready at the
// term it held before.
func TestComingBackAfterLosingQuorumAcceptsAnew(t *testing.T) {
	c, _, b, c3 := cluster3(t)
	v := c.View().ID
	c.Apply([]Input{{Kind: Departed, Member: b}, {Kind: Departed, Member: c3}})
	if c.State() != NoQuorum {
		t.Fatalf("alone: %v, want noquorum", c.State())
	}
	c.Apply([]Input{{Kind: Alive, Member: agreeing(b, v, 1)}, {Kind: Alive, Member: agreeing(c3, v, 1)}})
	if c.View().ID != v {
		t.Fatal("the view did not come back")
	}
	if c.State() == Ready {
		t.Fatalf("ready at term %d on records from before the split", c.Term())
	}
	q := c.Advert().Quorum
	if q.Committed || q.Accept != 2 {
		t.Fatalf("advert %+v: want the view accepted anew at term 2", q)
	}
	b.AdvertSeq, c3.AdvertSeq = 1, 1
	c.Apply([]Input{{Kind: Alive, Member: agreeing(b, v, 2)}, {Kind: Alive, Member: agreeing(c3, v, 2)}})
	if c.State() != Ready || c.Term() != 2 {
		t.Fatalf("state %v term %d once every member accepted term 2, want ready at 2", c.State(), c.Term())
	}
}

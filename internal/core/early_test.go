package core

import "testing"

// A forming cluster's first view is accepted with the view itself, before
// the others advertise it, and committed on the round that agrees it.
func TestAFormingClusterAcceptsItsFirstViewWithIt(t *testing.T) {
	c, _, b, c3, v := start3()
	if a := c.Advert(); c.State() != Rehashing || a.View != v || a.Quorum.Accept != 1 || a.Quorum.Floor != 1 || !a.Quorum.OK {
		t.Fatalf("state %v advert %+v: want rehashing, advertising the view accepted at term 1", c.State(), a)
	}
	b.AdvertSeq = 1
	c.Update(agreeing(b, v, 1))
	if c.State() != Rehashing {
		t.Fatalf("before c advertises the view: %v, want rehashing", c.State())
	}
	c3.AdvertSeq = 1
	c.Update(agreeing(c3, v, 1))
	wantReady(t, c, 1, "on the round that agreed the view")
}

// Every member accepting at one term is no commit while one of them
// accepts another view: the commit still needs agreement.
func TestAnEarlyAcceptanceCommitsOnlyOnAgreement(t *testing.T) {
	c, a, b, c3, v := start3()
	b.AdvertSeq, c3.AdvertSeq = 1, 1
	other := digest([]Member{a, c3})
	c.Apply([]Input{{Kind: Alive, Member: agreeing(b, v, 1)}, {Kind: Alive, Member: agreeing(c3, other, 1)}})
	if c.State() != Rehashing || c.Term() != 0 {
		t.Fatalf("state %v term %d, want rehashing with nothing committed", c.State(), c.Term())
	}
	c3.AdvertSeq = 2
	c.Update(agreeing(c3, v, 1))
	wantReady(t, c, 1, "once c advertises the view")
}

// A member on another view that accepted it is ahead (or behind) on a
// view of its own: accepting this one early would only raise the term
// everybody then follows. The node waits for agreement, and the cluster
// still forms at that member's term.
func TestNoEarlyAcceptanceWhileAMemberAcceptedAnotherView(t *testing.T) {
	a, b, c3 := member("a", 1), member("b", 1), member("c", 1)
	c := started(a, 2)
	vABC := digest([]Member{a, b, c3})
	c.Join(agreeing(b, vABC, 1))
	if got := c.Advert().Quorum; got.Accept != 0 || got.Floor != 0 || !got.OK {
		t.Fatalf("advert %+v: want a yes vote and nothing accepted", got)
	}
	c.Join(agreeing(c3, vABC, 1))
	wantReady(t, c, 1, "once c joins")
}

// A member on the view whose vote says no (its start gate counts more
// members) holds back the early acceptance.
func TestNoEarlyAcceptanceAgainstANo(t *testing.T) {
	d, e, f := member("d", 1), member("e", 1), member("f", 1)
	c := started(d, 3)
	e.View = digest([]Member{d, e, f})
	c.Apply([]Input{{Kind: Alive, Member: e}, {Kind: Alive, Member: f}})
	if got := c.Advert().Quorum; c.View().ID != e.View || got.Accept != 0 || !got.OK {
		t.Fatalf("advert %+v on view %x: e is on the view and votes no, want a yes vote and nothing accepted", got, c.View().ID)
	}
}

// started returns a core for self, started, with the start gate consensus.
func started(self Member, consensus int) *Core {
	c := New(self, consensus)
	c.Start()
	return c
}

// wantReady fails the test unless c is Ready at term.
func wantReady(t *testing.T, c *Core, term uint64, when string) {
	t.Helper()
	if c.State() != Ready || c.Term() != term {
		t.Fatalf("%s: state %v term %d, want ready at term %d", when, c.State(), c.Term(), term)
	}
}

// A newcomer to a started cluster (a member on its view committed one)
// waits for agreement: the votes that count there are the committed
// members' references, which it does not know.
func TestNoEarlyAcceptanceIntoAStartedCluster(t *testing.T) {
	a, b, d, e := member("a", 1), member("b", 1), member("d", 1), member("e", 1)
	c := started(d, 3)
	v := digest([]Member{a, b, d, e})
	a.View, a.Quorum = v, QuorumAdvert{Term: 1, Accept: 2, Floor: 2, OK: true}
	b.View, b.Quorum = v, QuorumAdvert{Term: 1, Accept: 2, Floor: 2, OK: true}
	c.Apply([]Input{{Kind: Alive, Member: a}, {Kind: Alive, Member: b}, {Kind: Alive, Member: e}})
	if got := c.Advert().Quorum; c.View().ID != v || got.Accept != 0 {
		t.Fatalf("advert %+v on view %x: e does not advertise the view yet, want nothing accepted", got, c.View().ID)
	}
}

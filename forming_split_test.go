package cloister_test

import (
	"testing"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// A cluster that forms while a 2|3 split is made (consensus 3 of 5, the
// split right after the launch, so some may have met and committed a view
// first, accepting their first view with its advert: core.acceptsEarly):
// once each node holds exactly its side and nobody is Rehashing, at most one
// side is Ready (the 3-side when nothing was committed before the cut,
// else the side holding a majority of the view committed first, which
// may be the 2-side), the other serves nothing; after the heal all five
// are Ready on one view, at a term above every term held during the split.
// Neither side may be Ready either: a node that accepted a view spanning
// the cut, never committed, votes no on its side until the heal (2 of 12
// runs under the race detector).
func TestAClusterFormingAcrossASplit(t *testing.T) {
	c := cloistertest.New(t, 5, cloistertest.WithMemNet(1), cloistertest.WithConsensus(3), cloistertest.WithoutWait())
	sides := [][]int{{0, 1}, {2, 3, 4}}
	c.Partition(sides...)
	c.WaitFor("each side settled on itself", func() bool {
		for _, side := range sides {
			for _, i := range side {
				s := c.Node(i).Snapshot()
				if s.State == cloister.Rehashing || len(s.View.Members) != len(side) {
					return false
				}
			}
		}
		return true
	})
	var readySides int
	var term uint64
	for _, side := range sides {
		ready := false
		for _, i := range side {
			s := c.Node(i).Snapshot()
			term = max(term, s.Term)
			if s.State == cloister.Ready {
				ready = true
				continue
			}
			if _, err := c.Node(i).Whois("user:42"); err == nil {
				t.Fatalf("node %d is %v and answers Whois", i, s.State)
			}
		}
		if ready {
			readySides++
		}
	}
	if readySides > 1 {
		t.Fatal("both sides of the split are Ready")
	}
	t.Logf("sides Ready during the split: %d; highest term %d", readySides, term)
	c.Heal()
	c.WaitFor("all five Ready on one view and one term", func() bool {
		return inState(c, cloister.Ready, 5, 0, 1, 2, 3, 4) && oneView(c, 0, 1, 2, 3, 4)
	})
	if got := c.Node(0).Snapshot().Term; got <= term {
		t.Fatalf("after the heal the term is %d, want above %d, held during the split", got, term)
	}
}

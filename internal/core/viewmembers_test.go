package core

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// After every batch, each member of the view is the newest advert known
// of it, however adverts, joins and departures interleave, and a member
// slice taken earlier never changes (the core refreshes only the members
// whose adverts changed, in a copy).
func TestViewMembersFollowTheNewestAdverts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 50 {
		c := New(member("self", 1), 1)
		c.Start()
		seq := map[string]uint64{}
		var taken [][]Member
		var copies [][]Member
		for range 40 {
			var batch []Input
			for range 1 + rng.IntN(8) {
				name := fmt.Sprintf("m%02d", rng.IntN(12))
				m := member(name, 1)
				if rng.IntN(6) == 0 {
					batch = append(batch, Input{Kind: Departed, Member: m})
					delete(seq, m.ID)
					continue
				}
				seq[m.ID]++
				m.AdvertSeq = seq[m.ID]
				m.View = rng.Uint64N(4)
				m.State = State(rng.IntN(3))
				batch = append(batch, Input{Kind: Alive, Member: m})
			}
			c.Apply(batch)
			for i, m := range c.view.Members {
				if k := c.known[m.ID]; !reflect.DeepEqual(k, m) {
					t.Fatalf("round %d: view member %d is %+v, the newest advert known is %+v", round, i, m, k)
				}
				if c.at[m.ID] != i {
					t.Fatalf("round %d: position of %s is %d, want %d", round, m.ID, c.at[m.ID], i)
				}
			}
			if len(c.at) != len(c.view.Members) {
				t.Fatalf("round %d: %d positions for %d members", round, len(c.at), len(c.view.Members))
			}
			taken = append(taken, c.view.Members)
			copies = append(copies, slices.Clone(c.view.Members))
		}
		for i := range taken {
			if !reflect.DeepEqual(taken[i], copies[i]) {
				t.Fatalf("round %d: a member slice taken after batch %d changed later", round, i)
			}
		}
	}
}

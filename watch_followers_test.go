package cloister

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFollowersMatchesSortedOrder checks the one-pass choice of watch
// targets against sorting the whole view, on random views, with some
// members ended and self inside or outside the view.
func TestFollowersMatchesSortedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		n := rng.IntN(40)
		var members []Member
		for i := range n {
			members = append(members, Member{ID: fmt.Sprintf("%08x-%d", rng.Uint32(), i)})
		}
		self := fmt.Sprintf("%08x", rng.Uint32())
		if n > 0 && rng.IntN(2) == 0 {
			self = members[rng.IntN(n)].ID
		}
		ended := map[string]bool{}
		for _, m := range members {
			if rng.IntN(5) == 0 {
				ended[m.ID] = true
			}
		}
		k := 1 + rng.IntN(4)

		var want []string
		for _, m := range members {
			if m.ID != self && !ended[m.ID] {
				want = append(want, m.ID)
			}
		}
		slices.Sort(want)
		i, _ := slices.BinarySearch(want, self)
		for i < len(want) && want[i] == self {
			i++
		}
		want = append(want[i:], want[:i]...)
		want = want[:min(k, len(want))]

		var got []string
		for _, m := range followers(members, self, k, func(id string) bool { return ended[id] }) {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: self %s, k %d: got %v, want %v", round, self, k, got, want)
		}
	}
}

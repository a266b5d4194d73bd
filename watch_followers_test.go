package cloister

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestFollowersMatchesSortedOrder checks the one-pass choice of watch
// targets against sorting the whole view, on random views, with some
// members ended and self inside or outside the view.
func TestFollowersMatchesSortedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		members, self, ended := randomView(rng, rng.IntN(40), 0)
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

// TestTargetCacheFollowsViewAndEndings checks that the cached watch
// targets are picked again when the view changes or a member is found
// ended, and only then.
func TestTargetCacheFollowsViewAndEndings(t *testing.T) {
	n := &Node{}
	self := Member{ID: "b"}
	view := func(id ViewID, ids ...string) {
		v := View{ID: id}
		for _, s := range ids {
			v.Members = append(v.Members, Member{ID: s})
		}
		n.snap.Store(&Snapshot{Self: self, State: Ready, View: v})
	}
	ids := func(m map[string]Member) []string {
		var out []string
		for id := range m {
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	var c targetCache
	view(1, "a", "b", "c", "d", "e")
	got, ok := c.get(n, false)
	if !ok || !slices.Equal(ids(got), []string{"c", "d"}) {
		t.Fatalf("first pick: %v %v, want [c d]", ids(got), ok)
	}
	// Same view ID, other members: a stale cache answers as before
	// (the view ID is what says the members changed).
	view(1, "a", "b", "x", "y")
	if got, _ := c.get(n, false); !slices.Equal(ids(got), []string{"c", "d"}) {
		t.Fatalf("same view ID: picked again: %v", ids(got))
	}
	view(2, "a", "b", "c", "d", "e")
	n.hints.end("c", time.Now())
	if got, _ := c.get(n, false); !slices.Equal(ids(got), []string{"d", "e"}) {
		t.Fatalf("after c ended: %v, want [d e]", ids(got))
	}
	view(3, "a", "b", "e")
	if got, _ := c.get(n, false); !slices.Equal(ids(got), []string{"a", "e"}) {
		t.Fatalf("after a view change: %v, want [a e]", ids(got))
	}
	n.snap.Store(&Snapshot{Self: self, State: Rehashing, View: View{ID: 3}})
	if _, ok := c.get(n, false); ok {
		t.Fatal("targets while not Ready")
	}
	if got, ok := c.get(n, true); !ok || !slices.Equal(ids(got), []string{"a", "e"}) {
		t.Fatalf("anyState: %v %v", ids(got), ok)
	}
}

// TestBesideMatchesSortedOrder checks the member next to a cursor, forward
// and backward, against sorting the whole view, on random views with some
// members ended and the cursor inside or outside the view.
func TestBesideMatchesSortedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 500 {
		members, cursor, ended := randomView(rng, rng.IntN(20), 512)
		var live []string
		for _, m := range members {
			if !ended[m.ID] && m.ID != cursor {
				live = append(live, m.ID)
			}
		}
		slices.Sort(live)
		for _, backward := range []bool{false, true} {
			want := ""
			if len(live) > 0 {
				i, _ := slices.BinarySearch(live, cursor) // the first at or above cursor
				if backward {
					want = live[(i-1+len(live))%len(live)]
				} else {
					if i < len(live) && live[i] == cursor {
						i++
					}
					want = live[i%len(live)]
				}
			}
			m, ok := beside(members, cursor, backward, func(id string) bool { return ended[id] })
			if got := m.ID; ok != (want != "") || got != want {
				t.Fatalf("round %d: cursor %s, backward %v, live %v: got %q %v, want %q", round, cursor, backward, live, got, ok, want)
			}
		}
	}
}

// randomView returns n members with random IDs (below ids when it is not
// 0, so that some share a prefix), a cursor that is one of them half the
// time, and about a fifth of them marked ended.
func randomView(rng *rand.Rand, n int, ids uint32) (members []Member, cursor string, ended map[string]bool) {
	id := func() uint32 {
		if ids == 0 {
			return rng.Uint32()
		}
		return rng.Uint32() % ids
	}
	for i := range n {
		members = append(members, Member{ID: fmt.Sprintf("%08x-%d", id(), i)})
	}
	cursor = fmt.Sprintf("%08x", id())
	if n > 0 && rng.IntN(2) == 0 {
		cursor = members[rng.IntN(n)].ID
	}
	ended = map[string]bool{}
	for _, m := range members {
		if rng.IntN(5) == 0 {
			ended[m.ID] = true
		}
	}
	return members, cursor, ended
}

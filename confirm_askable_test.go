package cloister

import (
	"fmt"
	"testing"
)

// askable picks isolationPings distinct members at random, never this node
// nor the accused, and every candidate there is when the view is small.
func TestAskableLeavesOutSelfAndAccused(t *testing.T) {
	for _, size := range []int{1, 2, 3, 4, 5, 1000} {
		n := &Node{}
		var s Snapshot
		for i := range size {
			s.View.Members = append(s.View.Members, Member{ID: fmt.Sprintf("m%04d", i)})
		}
		n.self.ID = "m0000"
		n.snap.Store(&s)
		accused := "m0001"
		want := min(isolationPings, max(0, size-2))
		seen := map[string]bool{}
		for range 200 {
			got := n.askable(accused)
			if len(got) != want {
				t.Fatalf("view of %d: %d members to ask, want %d", size, len(got), want)
			}
			ids := map[string]bool{}
			for _, m := range got {
				if m.ID == n.self.ID || m.ID == accused || ids[m.ID] {
					t.Fatalf("view of %d: asked %v (self %s, accused %s)", size, got, n.self.ID, accused)
				}
				ids[m.ID] = true
				seen[m.ID] = true
			}
		}
		if size == 1000 && len(seen) < 200 {
			t.Fatalf("view of 1000: only %d members asked in 200 draws", len(seen))
		}
	}
}

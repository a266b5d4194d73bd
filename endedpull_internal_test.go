package cloister

import (
	"slices"
	"testing"
	"time"
)

// While most of the view advertises another view, a Ready or Rehashing
// node asks endedPullAsks of those members after the wait, then twice as
// late each time; it asks nobody while half or fewer look elsewhere, while
// Assembling, and it starts again when its own view changes.
func TestEndedPullPlan(t *testing.T) {
	const after = time.Second
	now := time.Unix(1000, 0)
	snap := func(state State, view ViewID, elsewhere int) *Snapshot {
		members := []Member{{ID: "self", ViewID: view}}
		for i := range 4 {
			m := Member{ID: string(rune('a' + i)), ViewID: view}
			if i < elsewhere {
				m.ViewID = 99
			}
			members = append(members, m)
		}
		return &Snapshot{State: state, Self: Member{ID: "self"}, View: View{ID: view, Members: members}}
	}
	var p endedPullPlan
	if ids, waiting := p.due(nil, now, after); ids != nil || waiting {
		t.Fatalf("no snapshot yet: asked %v (waiting %v), want nobody", ids, waiting)
	}
	ask := func(s *Snapshot, at time.Duration) ([]string, bool) { return p.due(s, now.Add(at), after) }

	if ids, waiting := ask(snap(Ready, 7, 2), 0); ids != nil || waiting {
		t.Fatalf("half the others elsewhere: asked %v (waiting %v), want nobody", ids, waiting)
	}
	if ids, waiting := ask(snap(Assembling, 7, 4), 0); ids != nil || waiting {
		t.Fatalf("assembling: asked %v (waiting %v), want nobody", ids, waiting)
	}
	behind := snap(Ready, 7, 3)
	for _, c := range []struct {
		at  time.Duration
		ask bool
	}{
		{0, false}, // elsewhere since now: wait
		{after - time.Millisecond, false},
		{after, true},
		{3*after - time.Millisecond, false}, // next ask 2 s after the first
		{3 * after, true},
		{7 * after, true}, // then 4 s later
	} {
		ids, waiting := ask(behind, c.at)
		if !waiting {
			t.Fatalf("at %v: not waiting, want waiting", c.at)
		}
		if c.ask != (ids != nil) {
			t.Fatalf("at %v: asked %v, want asked %v", c.at, ids, c.ask)
		}
		if ids == nil {
			continue
		}
		if len(ids) != endedPullAsks {
			t.Fatalf("at %v: asked %v, want %d members", c.at, ids, endedPullAsks)
		}
		for _, id := range ids {
			if !slices.Contains([]string{"a", "b", "c"}, id) {
				t.Fatalf("at %v: asked %s, which advertises this node's view", c.at, id)
			}
		}
	}
	// Rehashing on a new view: the wait starts again.
	moved := snap(Rehashing, 8, 3)
	if ids, _ := ask(moved, 8*after); ids != nil {
		t.Fatalf("right after its view changed: asked %v, want nobody", ids)
	}
	if ids, _ := ask(moved, 9*after); ids == nil {
		t.Fatalf("a wait after its view changed: asked nobody")
	}
	// The others came round: nothing to wait for, and the wait starts
	// again next time.
	if ids, waiting := ask(snap(Rehashing, 8, 0), 10*after); ids != nil || waiting || !p.next.IsZero() {
		t.Fatalf("agreed: asked %v, waiting %v, next %v", ids, waiting, p.next)
	}
	if ids, _ := ask(moved, 11*after); ids != nil {
		t.Fatalf("elsewhere again: asked %v at once, want a wait first", ids)
	}
}

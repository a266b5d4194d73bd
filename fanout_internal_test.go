package cloister

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// On one view, exactly reconnectFanout members are chosen for each address
// (every member when the view is that small), and which ones depends on
// the address.
func TestFanoutChoosesExactlyK(t *testing.T) {
	for _, size := range []int{1, 2, 3, 4, 10, 100} {
		s := &Snapshot{}
		for i := range size {
			s.View.Members = append(s.View.Members, Member{ID: fmt.Sprintf("app@10.0.0.%d:4747#%016x", i, i*7919)})
		}
		idx := make([]*viewIndex, size)
		for i, m := range s.View.Members {
			idx[i] = newViewIndex(s, m.ID)
		}
		chosenBy := map[int]int{}
		for a := range 200 {
			addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(a >> 8), byte(a)}), 4747)
			h := fnv64(addr.String())
			got := 0
			for i := range idx {
				if idx[i].chosen(h, reconnectFanout) {
					got++
					chosenBy[i]++
				}
			}
			if want := min(size, reconnectFanout); got != want {
				t.Fatalf("view of %d, address %v: %d members chosen, want %d", size, addr, got, want)
			}
		}
		if size == 100 && len(chosenBy) < 50 {
			t.Fatalf("view of 100: only %d members were ever chosen for 200 addresses", len(chosenBy))
		}
	}
}

// A member that is not in the view yet (it is joining) still takes its
// place on its own circle.
func TestFanoutSelfOutsideTheView(t *testing.T) {
	s := &Snapshot{}
	s.View.Members = []Member{{ID: "a"}, {ID: "b"}}
	x := newViewIndex(s, "c")
	if len(x.hashes) != 3 || !x.chosen(fnv64("anything"), 3) {
		t.Fatalf("circle %v: self not on it, or not chosen in a view of 3", x.hashes)
	}
}

// The settling quiet period grows with the view, 2 ms a member from 20 ms
// to 2 s, and the bound with it.
func TestSettleForGrowsWithTheView(t *testing.T) {
	for _, c := range []struct {
		members      int
		quiet, bound string
	}{
		{1, "20ms", "500ms"}, {10, "20ms", "500ms"}, {12, "24ms", "500ms"}, {25, "50ms", "500ms"},
		{50, "100ms", "1s"}, {120, "240ms", "2.4s"}, {500, "1s", "10s"},
		{1000, "2s", "20s"}, {2000, "2s", "20s"},
	} {
		q, b := settleFor(c.members)
		if q.String() != c.quiet || b.String() != c.bound {
			t.Errorf("settleFor(%d) = %v, %v; want %s, %s", c.members, q, b, c.quiet, c.bound)
		}
	}
}

// The watches of a view just Ready are held back for the rest of its
// settling quiet period from when the watch loop first saw it: nothing up
// to 10 members, at most settleMax, and a new view starts a new hold.
func TestWatchesOfANewReadyViewWait(t *testing.T) {
	view := func(id ViewID, members int) *Snapshot {
		return &Snapshot{View: View{ID: id, Members: make([]Member, members)}}
	}
	t0 := time.Unix(1000, 0)
	for _, c := range []struct {
		members int
		want    time.Duration
	}{{1, 0}, {10, 0}, {50, 80 * time.Millisecond}, {100, 180 * time.Millisecond}, {250, 480 * time.Millisecond}, {1000, 480 * time.Millisecond}} {
		var h readyHold
		if got := max(0, h.wait(view(1, c.members), t0)); got != c.want {
			t.Errorf("%d members: held %v, want %v", c.members, got, c.want)
		}
	}
	var h readyHold
	h.wait(view(1, 100), t0)
	if got := h.wait(view(1, 100), t0.Add(100*time.Millisecond)); got != 80*time.Millisecond {
		t.Errorf("100 ms later: held %v more, want 80ms", got)
	}
	if got := h.wait(view(2, 100), t0.Add(300*time.Millisecond)); got != 180*time.Millisecond {
		t.Errorf("a new view: held %v, want 180ms", got)
	}
}

package core

import (
	"fmt"
	"slices"
	"testing"
)

// coreWithLeavers is a core whose view and reference hold n members, the
// first k of them advertising Stopping.
func coreWithLeavers(n, k int) *Core {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = member(fmt.Sprintf("m%03d", i), 1)
		if i < k {
			ms[i].State = Stopping
		}
	}
	c := &Core{self: member("self", 1), ref: reference{Term: 1, Members: ms}}
	c.setView(View{ID: 1, Members: ms})
	return c
}

// A reference less its leavers: the leavers gone, the rest in order, the
// original untouched, and one copy whatever the number of leavers (a
// copy per leaver made a hundred nodes stopping together allocate the
// square of their number in references).
func TestLeavingCopiesTheReferenceOnce(t *testing.T) {
	for _, k := range []int{0, 1, 5, 50} {
		c := coreWithLeavers(100, k)
		before := slices.Clone(c.ref.Members)
		got := c.leaving(c.ref)
		if len(got.Members) != 100-k {
			t.Fatalf("%d leavers: %d members left, want %d", k, len(got.Members), 100-k)
		}
		if !slices.Equal(memberIDs(got.Members), memberIDs(before[k:])) {
			t.Fatalf("%d leavers: left %v", k, memberIDs(got.Members))
		}
		if !slices.EqualFunc(c.ref.Members, before, func(a, b Member) bool { return a.ID == b.ID && a.State == b.State }) {
			t.Fatalf("%d leavers: the reference itself was modified", k)
		}
	}
	c2, c50 := coreWithLeavers(100, 2), coreWithLeavers(100, 50)
	a2 := testing.AllocsPerRun(20, func() { c2.leaving(c2.ref) })
	a50 := testing.AllocsPerRun(20, func() { c50.leaving(c50.ref) })
	if a2 > 1 || a50 > 1 {
		t.Fatalf("leaving allocated %v times with 2 leavers, %v with 50: want one copy", a2, a50)
	}
}

func memberIDs(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// Members that leave in one batch are dropped from the reference and the
// pending references together: each copied once, however many leave.
func TestForgetCopiesEachReferenceOnce(t *testing.T) {
	forget := func(k int) (allocs float64) {
		c := coreWithLeavers(100, 0)
		c.pending = []reference{{Term: 2, Members: c.ref.Members}}
		leavers := c.ref.Members[:k]
		run := func() {
			c.ref = reference{Term: 1, Members: c.view.Members}
			c.pending[0] = reference{Term: 2, Members: c.view.Members}
			c.forget(leavers...)
		}
		run()
		for _, r := range append([]reference{c.ref}, c.pending...) {
			if len(r.Members) != 100-k || hasID(r.Members, leavers[0].ID) || hasID(r.Members, leavers[k-1].ID) {
				t.Fatalf("%d leavers: a reference kept %d members, want %d", k, len(r.Members), 100-k)
			}
		}
		return testing.AllocsPerRun(20, run)
	}
	if few, many := forget(10), forget(90); many > few {
		t.Fatalf("forgetting 90 members allocated %v times, 10 members %v: a copy per member", many, few)
	}
}

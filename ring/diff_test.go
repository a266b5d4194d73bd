package ring

import (
	"errors"
	"testing"
)

// topologyChanges are (old, new) member lists covering joins, leaves,
// replacements, weight changes and empty rings.
func topologyChanges() map[string][2][]Member {
	base := nodes(12)
	heavier := append([]Member(nil), base...)
	heavier[4].Weight = 3
	return map[string][2][]Member{
		"join":        {base, nodes(13)},
		"leave":       {base, base[:11]},
		"replace":     {base, append(append([]Member(nil), base[1:]...), Member{ID: "fresh"})},
		"weight":      {base, heavier},
		"from empty":  {nil, base},
		"to empty":    {base, nil},
		"no change":   {base, base},
		"many joined": {nodes(3), nodes(12)},
	}
}

// Diff agrees with a brute-force comparison of owners, key by key and slot
// by slot, for every member (and a stranger), plain and bounded.
func TestDiffAgainstBruteForce(t *testing.T) {
	keys := testKeys(20000)
	for name, change := range topologyChanges() {
		for _, opts := range [][]Option{{WithSlots(1 << 12)}, {WithSlots(1 << 12), WithBoundedLoad(0.05)}} {
			old, new := mustNew(t, change[0], opts...), mustNew(t, change[1], opts...)
			selves := []string{"stranger"}
			for _, m := range append(change[0], change[1]...) {
				selves = append(selves, m.ID)
			}
			for _, self := range selves {
				h, err := Diff(old, new, self)
				if err != nil {
					t.Fatal(err)
				}
				checkKeys(t, name, h, old, new, keys)
				checkSlots(t, name, h, old, new)
			}
		}
	}
}

func ownerID(r *Ring, key string) string {
	m, err := r.OwnerString(key)
	if err != nil {
		return ""
	}
	return m.ID
}

func checkKeys(t *testing.T, name string, h *Handoff, old, new *Ring, keys []string) {
	t.Helper()
	for _, k := range keys {
		o, n := ownerID(old, k), ownerID(new, k)
		gained := n == h.Self && o != h.Self
		lost := o == h.Self && n != h.Self
		if h.GainedKey([]byte(k)) != gained || h.LostKey([]byte(k)) != lost {
			t.Fatalf("%s, self %s, key %s: old %q new %q, GainedKey %v LostKey %v",
				name, h.Self, k, o, n, h.GainedKey([]byte(k)), h.LostKey([]byte(k)))
		}
		if slot := new.SlotString(k); h.GainedSlot(slot) != gained || h.LostSlot(slot) != lost {
			t.Fatalf("%s: slot tests disagree with key tests for %s", name, k)
		}
	}
}

func checkSlots(t *testing.T, name string, h *Handoff, old, new *Ring) {
	t.Helper()
	in := func(ts []Transfer, s int) *Transfer {
		for i := range ts {
			if ts[i].Contains(s) {
				return &ts[i]
			}
		}
		return nil
	}
	for s := range new.Slots() {
		o, n := slotOwnerID(old, s), slotOwnerID(new, s)
		g, l := in(h.Gained, s), in(h.Lost, s)
		switch {
		case n == h.Self && o != h.Self:
			if g == nil || g.From != o || g.To != n || l != nil {
				t.Fatalf("%s, self %s, slot %d: old %q new %q, gained %v lost %v", name, h.Self, s, o, n, g, l)
			}
		case o == h.Self && n != h.Self:
			if l == nil || l.From != o || l.To != n || g != nil {
				t.Fatalf("%s, self %s, slot %d: old %q new %q, gained %v lost %v", name, h.Self, s, o, n, g, l)
			}
		default:
			if g != nil || l != nil {
				t.Fatalf("%s, self %s, slot %d listed but unchanged for self", name, h.Self, s)
			}
		}
	}
	// Runs are maximal: neighbours never share endpoints and owners.
	for _, ts := range [][]Transfer{h.Gained, h.Lost} {
		for i := 1; i < len(ts); i++ {
			if ts[i-1].End == ts[i].Start && ts[i-1].From == ts[i].From && ts[i-1].To == ts[i].To {
				t.Fatalf("%s: runs %v and %v not coalesced", name, ts[i-1], ts[i])
			}
		}
	}
}

// Changes covers exactly the slots whose owner differs.
func TestChangesAgainstBruteForce(t *testing.T) {
	for name, change := range topologyChanges() {
		old, new := mustNew(t, change[0], WithSlots(1<<12)), mustNew(t, change[1], WithSlots(1<<12))
		ch, err := Changes(old, new)
		if err != nil {
			t.Fatal(err)
		}
		covered := 0
		for _, c := range ch {
			for s := c.Start; s < c.End; s++ {
				if slotOwnerID(old, s) != c.From || slotOwnerID(new, s) != c.To || c.From == c.To {
					t.Fatalf("%s: transfer %v wrong at slot %d", name, c, s)
				}
			}
			covered += c.Len()
		}
		differ := 0
		for s := range new.Slots() {
			if slotOwnerID(old, s) != slotOwnerID(new, s) {
				differ++
			}
		}
		if covered != differ {
			t.Fatalf("%s: transfers cover %d slots, %d differ", name, covered, differ)
		}
	}
}

func TestDiffIncompatible(t *testing.T) {
	a := mustNew(t, nodes(3), WithSlots(1<<10))
	b := mustNew(t, nodes(3), WithSlots(1<<11))
	if _, err := Diff(a, b, "node-1"); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("err = %v", err)
	}
	// An empty ring adopts the other's slot count.
	h, err := Diff(nil, a, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, g := range h.Gained {
		total += g.Len()
	}
	if want := slotCounts(a)["node-1"]; total != want {
		t.Fatalf("gained %d slots from nil, want %d", total, want)
	}
}

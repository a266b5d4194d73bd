package ring

import (
	"testing"
)

// When a member joins, every slot that changes owner goes to it (nothing
// moves between old members), and it takes about 1/(n+1) of the slots.
func TestJoinMovesOnlyToNewMember(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		ms := nodes(n + 1)
		before := mustNew(t, ms[:n])
		after := mustNew(t, ms)
		newID := ms[n].ID
		moved := 0
		for s := range before.Slots() {
			a, _ := before.SlotOwner(s)
			b, _ := after.SlotOwner(s)
			if a != b {
				moved++
				if b.ID != newID {
					t.Fatalf("n=%d: slot %d moved from %s to %s", n, s, a.ID, b.ID)
				}
			}
		}
		ratio := float64(moved) / float64(before.Slots()) * float64(n+1)
		if ratio < 0.9 || ratio > 1.1 {
			t.Errorf("n=%d: moved %.3f of ideal", n, ratio)
		}
	}
}

// When a member leaves, only its slots move.
func TestLeaveMovesOnlyLeaversSlots(t *testing.T) {
	ms := nodes(20)
	before := mustNew(t, ms)
	gone := ms[7].ID
	after := mustNew(t, append(append([]Member(nil), ms[:7]...), ms[8:]...))
	for s := range before.Slots() {
		a, _ := before.SlotOwner(s)
		b, _ := after.SlotOwner(s)
		if a != b && a.ID != gone {
			t.Fatalf("slot %d moved from %s to %s", s, a.ID, b.ID)
		}
	}
}

// Raising one member's weight moves slots only to that member.
func TestWeightIncreaseMovesOnlyToThatMember(t *testing.T) {
	ms := nodes(10)
	before := mustNew(t, ms)
	ms[3].Weight = 2
	after := mustNew(t, ms)
	for s := range before.Slots() {
		a, _ := before.SlotOwner(s)
		b, _ := after.SlotOwner(s)
		if a.ID != b.ID && b.ID != ms[3].ID {
			t.Fatalf("slot %d moved from %s to %s", s, a.ID, b.ID)
		}
	}
}

// Bounded load moves more than the minimum, but not much more.
func TestBoundedJoinMovement(t *testing.T) {
	for _, eps := range []float64{0.02, 0.05, 0.25} {
		ms := nodes(101)
		before := mustNew(t, ms[:100], WithBoundedLoad(eps))
		after := mustNew(t, ms, WithBoundedLoad(eps))
		ch, err := Changes(before, after)
		if err != nil {
			t.Fatal(err)
		}
		moved := 0
		for _, c := range ch {
			moved += c.Len()
		}
		ratio := float64(moved) / float64(before.Slots()) * 101
		t.Logf("ε=%v: moved %.3f of ideal", eps, ratio)
		if ratio > 1.5 {
			t.Errorf("ε=%v: moved %.3f of ideal", eps, ratio)
		}
	}
}

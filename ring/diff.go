package ring

import "fmt"

// SlotRange is the half-open range of slots [Start, End). Slot s holds the
// keys whose hash has s as its top log2(Slots()) bits (see Ring.Slot), so a
// slot range is also a contiguous range of the 64-bit key-hash space.
type SlotRange struct {
	Start, End int
}

// Len returns the number of slots in the range.
func (r SlotRange) Len() int { return r.End - r.Start }

// Contains reports whether slot is in the range.
func (r SlotRange) Contains(slot int) bool { return r.Start <= slot && slot < r.End }

// Transfer is a maximal run of consecutive slots whose owner changed from
// From to To between two rings. From or To is "" where the corresponding
// ring has no members.
type Transfer struct {
	SlotRange
	From, To string
}

// Changes lists every ownership change from old to new, in slot order,
// coalescing consecutive slots with the same (From, To). A nil ring counts
// as empty. Two non-empty rings with different slot counts give an error
// wrapping ErrIncompatible.
func Changes(old, new *Ring) ([]Transfer, error) {
	slots, err := commonSlots(old, new)
	if err != nil {
		return nil, err
	}
	var out []Transfer
	for s := 0; s < slots; s++ {
		from, to := slotOwnerID(old, s), slotOwnerID(new, s)
		if from == to {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == s && out[n-1].From == from && out[n-1].To == to {
			out[n-1].End++
			continue
		}
		out = append(out, Transfer{SlotRange{s, s + 1}, from, to})
	}
	return out, nil
}

// Handoff is what a topology change means for one member, Self: the slots
// it must take over (Gained, with the previous owner in From) and those it
// must hand over (Lost, with the new owner in To). Build it with Diff.
type Handoff struct {
	Self   string
	Gained []Transfer
	Lost   []Transfer

	old, new       *Ring
	oldIdx, newIdx int   // Self's index in each ring, or -1
	shift          uint8 // 64 - log2(slot count)
}

// Diff computes the Handoff of member self from ring old to ring new. A
// nil or empty ring owns nothing, so Diff(nil, r, self) lists all of
// self's slots as gained. Two non-empty rings with different slot counts
// give an error wrapping ErrIncompatible.
func Diff(old, new *Ring, self string) (*Handoff, error) {
	changes, err := Changes(old, new)
	if err != nil {
		return nil, err
	}
	slots, _ := commonSlots(old, new)
	h := &Handoff{
		Self: self, old: old, new: new,
		oldIdx: old.indexOf(self), newIdx: new.indexOf(self),
		shift: 64 - log2(slots),
	}
	for _, t := range changes {
		switch self {
		case t.To:
			h.Gained = append(h.Gained, t)
		case t.From:
			h.Lost = append(h.Lost, t)
		}
	}
	return h, nil
}

// GainedKey reports whether Self owns key in the new ring but not in the
// old one. It does not allocate. For a string key, use
// GainedSlot(ring.SlotString(key)).
func (h *Handoff) GainedKey(key []byte) bool {
	return h.GainedSlot(int(sum64(key) >> (h.shift & 63)))
}

// LostKey reports whether Self owned key in the old ring but not in the
// new one. It does not allocate. For a string key, use
// LostSlot(ring.SlotString(key)).
func (h *Handoff) LostKey(key []byte) bool {
	return h.LostSlot(int(sum64(key) >> (h.shift & 63)))
}

// GainedSlot reports whether Self owns slot in the new ring but not in the
// old one.
func (h *Handoff) GainedSlot(slot int) bool {
	return owns(h.new, h.newIdx, slot) && !owns(h.old, h.oldIdx, slot)
}

// LostSlot reports whether Self owned slot in the old ring but not in the
// new one.
func (h *Handoff) LostSlot(slot int) bool {
	return owns(h.old, h.oldIdx, slot) && !owns(h.new, h.newIdx, slot)
}

// owns reports whether member idx of r owns slot; idx < 0 owns nothing.
func owns(r *Ring, idx, slot int) bool {
	return idx >= 0 && int(r.table[slot]) == idx
}

func slotOwnerID(r *Ring, slot int) string {
	if r.Len() == 0 {
		return ""
	}
	return r.members[r.table[slot]].ID
}

// commonSlots returns the slot count two rings share. An empty ring adopts
// the other's count.
func commonSlots(a, b *Ring) (int, error) {
	switch {
	case a.Len() == 0:
		return b.Slots(), nil
	case b.Len() == 0:
		return a.Slots(), nil
	case a.Slots() != b.Slots():
		return 0, fmt.Errorf("%w: %d and %d", ErrIncompatible, a.Slots(), b.Slots())
	}
	return a.Slots(), nil
}

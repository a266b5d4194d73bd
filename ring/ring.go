package ring

import (
	"cmp"
	"slices"
)

// Ring is an immutable assignment of slots, and so of keys, to members.
// All methods are safe for concurrent use without locks; to change the
// membership, build a new Ring and publish it (for example with
// atomic.Pointer[Ring]). A nil *Ring behaves as an empty ring with
// DefaultSlots slots.
type Ring struct {
	members []Member // sorted by ID, weights normalized
	table   []uint16 // slot -> index into members; nil when empty
	slots   int      // number of slots, a power of two
	shift   uint8    // 64 - log2(slots): slot = hash >> shift
	epoch   uint64
	bounded bool
	epsPPM  uint64
	sum     uint64
}

// Len returns the number of members.
func (r *Ring) Len() int {
	if r == nil {
		return 0
	}
	return len(r.members)
}

// Members returns a copy of the members sorted by ID, with default weights
// filled in (a zero Weight reads back as 1).
func (r *Ring) Members() []Member {
	if r == nil {
		return nil
	}
	return slices.Clone(r.members)
}

// Contains reports whether a member with the given ID is in the ring.
func (r *Ring) Contains(id string) bool {
	return r.indexOf(id) >= 0
}

// Epoch returns the tag set with WithEpoch, or 0.
func (r *Ring) Epoch() uint64 {
	if r == nil {
		return 0
	}
	return r.epoch
}

// Checksum returns a digest of everything that decides ownership: the
// algorithm version, the slot count, the bounded-load setting, the members
// with their weights, and the resulting slot table. Two rings with equal
// checksums answer every query the same way. The epoch is not included.
func (r *Ring) Checksum() uint64 {
	if r == nil {
		return emptyChecksum
	}
	return r.sum
}

// Slots returns the number of slots (partitions) of the key space.
func (r *Ring) Slots() int {
	if r == nil {
		return DefaultSlots
	}
	return r.slots
}

// Slot returns the slot of key: the top log2(Slots()) bits of wyhash(key)
// (seed 0). Slots are the unit of ownership and of handoff; the slot of a
// key never depends on the members.
func (r *Ring) Slot(key []byte) int {
	return int(sum64(key) >> (r.slotShift() & 63))
}

// SlotString is Slot for a string key.
func (r *Ring) SlotString(key string) int {
	return int(sum64(key) >> (r.slotShift() & 63))
}

// SlotOwner returns the owner of a slot. It panics if slot is not in
// [0, Slots()).
func (r *Ring) SlotOwner(slot int) (Member, error) {
	if r.Len() == 0 {
		if slot < 0 || slot >= r.Slots() {
			panic("ring: slot out of range")
		}
		return Member{}, ErrEmpty
	}
	return r.members[r.table[slot]], nil
}

func (r *Ring) slotShift() uint8 {
	if r == nil {
		return 64 - log2(DefaultSlots)
	}
	return r.shift
}

// indexOf returns the index of the member with the given ID, or -1.
func (r *Ring) indexOf(id string) int {
	if r == nil {
		return -1
	}
	i, ok := slices.BinarySearchFunc(r.members, id, func(m Member, id string) int {
		return cmp.Compare(m.ID, id)
	})
	if !ok {
		return -1
	}
	return i
}

func log2(n int) uint8 {
	var b uint8
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

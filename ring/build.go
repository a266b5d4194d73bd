package ring

import "math"

// New builds a ring from a member list. The order of members does not
// matter: the same set (and the same options) always gives the same ring,
// on every platform. An empty list gives an empty ring, whose queries
// return ErrEmpty.
//
// New validates every member (see Member) and returns a *MemberError
// wrapping ErrInvalidMember or ErrDuplicateMember, ErrTooManyMembers, or
// an error wrapping ErrInvalidOption. Its cost is linear in the total
// weight (PointsPerWeight ring points per unit) plus the slot count.
func New(members []Member, opts ...Option) (*Ring, error) {
	cfg := config{slots: DefaultSlots}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	ms, err := normalize(members)
	if err != nil {
		return nil, err
	}
	r := &Ring{
		members: ms,
		slots:   cfg.slots,
		shift:   64 - log2(cfg.slots),
		epoch:   cfg.epoch,
		bounded: cfg.bounded,
		epsPPM:  cfg.epsPPM,
	}
	if len(ms) > 0 {
		pts := make([]uint32, len(ms))
		for i, m := range ms {
			pts[i] = points(m.Weight)
		}
		r.table = assignSlots(ms, pts, r.shift)
		if r.bounded {
			r.table = boundLoads(r.table, pts, r.epsPPM)
		}
	}
	r.sum = checksum(r)
	return r, nil
}

const (
	noPoint = math.MaxUint64
	// The low tagBits bits of every ring point are replaced by the
	// owner's index, so one uint64 carries both and keeping the minimum
	// needs no branch. Points agreeing on their top 48 bits are ordered
	// by member index, which is deterministic.
	tagBits = 16
	tagMask = 1<<tagBits - 1
)

// assignSlots gives each slot to the owner of the first ring point at or
// after the slot's start (its successor on the ring), the classic
// consistent-hashing rule applied to slot start positions.
//
// Member j puts pts[j] points on a 64-bit ring at mix64(h + k*golden),
// k = 1..pts[j], with h the wyhash of the ID. A slot's successor is the
// smallest point inside the slot's own arc when there is one; a slot with
// no point takes the next slot's successor, and the slots after the last
// occupied one wrap around to the first occupied one's.
//
// One pass keeping the minimum per slot therefore finds every successor
// in O(points + slots), without sorting (scatterTable).
func assignSlots(ms []Member, pts []uint32, shift uint8) []uint16 {
	return scatterTable(ms, pts, shift)
}

// scatterTable keeps the smallest point of each slot in one uint64 per
// slot: a single pass over the points, without sorting; then minWalk.
func scatterTable(ms []Member, pts []uint32, shift uint8) []uint16 {
	// Storing complemented points, with 0 for none, would save this fill
	// of a fresh array, but the scatter would then fault its pages in in
	// random order, which measured slower than faulting them in here in
	// address order.
	best := make([]uint64, 1<<(64-shift))
	for i := range best {
		best[i] = noPoint
	}
	shift &= 63
	for j, m := range ms {
		h := sum64(m.ID)
		tag := uint64(j)
		for range pts[j] {
			h += golden
			p := mix64(h)&^tagMask | tag
			b := &best[p>>shift]
			*b = min(*b, p)
		}
	}
	return minWalk(best)
}

// minWalk turns the smallest point of each slot (noPoint for none) into
// the slot table, walking backwards and carrying the successor; the slots
// after the last occupied one take the first occupied one's.
func minWalk(best []uint64) []uint16 {
	carry := uint64(noPoint)
	for _, p := range best {
		if p != noPoint {
			carry = p
			break
		}
	}
	table := make([]uint16, len(best))
	for s := len(best) - 1; s >= 0; s-- {
		// Written so that the compiler uses a conditional move: whether
		// a slot is empty is a coin toss when points and slots are about
		// as many, and a branch would be mispredicted often.
		p, c := best[s], carry
		if p != noPoint {
			c = p
		}
		carry = c
		table[s] = uint16(c & tagMask)
	}
	return table
}

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
// There are two ways of finding the successors; both run in O(points +
// slots) and give the same table. scatterTable keeps the smallest point
// of each slot in a uint64 per slot (1 MiB at DefaultSlots). sortedTable
// radix-sorts the points, 16 bytes each with its scratch copy, and walks
// them; it does more work per point, but with few points it touches far
// less memory, which matters most in a fresh process, where each new page
// costs a page fault. assignSlots sorts when there is at most one point
// per sparseRatio slots.
func assignSlots(ms []Member, pts []uint32, shift uint8) []uint16 {
	slots := 1 << (64 - shift)
	var total uint64
	for _, p := range pts {
		total += uint64(p)
	}
	if total > uint64(slots/sparseRatio) {
		return scatterTable(ms, pts, shift)
	}
	n := int(total)
	buf := make([]uint64, 2*n)
	ring, i := buf[:n], 0
	for j, m := range ms {
		h := sum64(m.ID)
		tag := uint64(j)
		for range pts[j] {
			h += golden
			ring[i] = mix64(h)&^tagMask | tag
			i++
		}
	}
	return sortedTable(ring, buf[n:], shift)
}

// sparseRatio is the fewest slots per point for which assignSlots sorts
// the points: 8, which at DefaultSlots means up to 4 members of weight 1.
// Up to there, sorting's smaller memory saved more page faults than its
// extra work cost (BenchmarkNewCold); beyond, the scatter was faster.
const sparseRatio = 8

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

// sortedTable returns the slot table of the tagged points in ring, which
// it sorts by slot with a two-pass LSD radix sort through tmp (of the same
// length), then walks: each run of points in one slot gives its smallest
// point's owner to that slot and to the empty slots before it, and the
// empty slots after the last run take the first run's owner. ring must not
// be empty.
func sortedTable(ring, tmp []uint64, shift uint8) []uint16 {
	slotBits := 64 - shift
	loBits := (slotBits + 1) / 2
	shift &= 63
	hiShift := (shift + loBits) & 63
	loMask := uint64(1)<<loBits - 1
	counts := make([]int, 1<<loBits+1<<(slotBits-loBits))
	loCount, hiCount := counts[:1<<loBits], counts[1<<loBits:]
	for _, p := range ring {
		loCount[p>>shift&loMask]++
		hiCount[p>>hiShift]++
	}
	startsFromCounts(loCount)
	startsFromCounts(hiCount)
	tmp = tmp[:len(ring)]
	for _, p := range ring {
		d := p >> shift & loMask
		tmp[loCount[d]] = p
		loCount[d]++
	}
	for _, p := range tmp {
		d := p >> hiShift
		ring[hiCount[d]] = p
		hiCount[d]++
	}

	table := make([]uint16, 1<<slotBits)
	var first uint64
	next := 0 // first slot not yet assigned
	for i := 0; i < len(ring); {
		s := int(ring[i] >> shift)
		best := ring[i]
		for i++; i < len(ring) && int(ring[i]>>shift) == s; i++ {
			best = min(best, ring[i])
		}
		if next == 0 {
			first = best
		}
		fill(table[next:s+1], uint16(best&tagMask))
		next = s + 1
	}
	fill(table[next:], uint16(first&tagMask))
	return table
}

// startsFromCounts turns bucket counts into bucket start offsets.
func startsFromCounts(c []int) {
	sum := 0
	for i, n := range c {
		c[i] = sum
		sum += n
	}
}

func fill(t []uint16, v uint16) {
	for i := range t {
		t[i] = v
	}
}

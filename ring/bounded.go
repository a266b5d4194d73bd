package ring

import "math/bits"

// boundLoads turns the plain assignment into one where member j owns at
// most capacity(j) slots. Slots are taken in index order (a fixed order,
// so every node gets the same result); a slot goes to its plain owner if
// that member has room, else to the first member with room among the plain
// owners of the following slots (its preference list, as for OwnersN).
func boundLoads(plain []uint16, pts []uint32, epsPPM uint64) []uint16 {
	slots := len(plain)
	caps := capacities(slots, pts, epsPPM)
	load := make([]uint32, len(pts))
	out := make([]uint16, slots)
	for s, m := range plain {
		if load[m] >= caps[m] {
			m = overflowOwner(plain, s, load, caps)
		}
		load[m]++
		out[s] = m
	}
	return out
}

// capacities returns ceil((1+eps) * slots * pts[j] / sum(pts)) for each j,
// computed in integers so that every platform agrees.
func capacities(slots int, pts []uint32, epsPPM uint64) []uint32 {
	var total uint64
	for _, p := range pts {
		total += uint64(p)
	}
	den := total * 1e6
	caps := make([]uint32, len(pts))
	for j, p := range pts {
		hi, lo := bits.Mul64(uint64(slots)*uint64(p), 1e6+epsPPM)
		q, rem := bits.Div64(hi, lo, den) // q <= slots*(1+MaxEpsilon): no overflow
		if rem != 0 {
			q++
		}
		caps[j] = uint32(min(q, uint64(slots)))
	}
	return caps
}

// overflowOwner finds a member with room for slot s when its plain owner is
// full. The total capacity is at least the slot count, so some member has
// room; if none of those on the walk does (they may all own no plain slot
// at all), the first one in ID order is used.
func overflowOwner(plain []uint16, s int, load, caps []uint32) uint16 {
	mask := len(plain) - 1
	for k := 1; k < len(plain); k++ {
		if m := plain[(s+k)&mask]; load[m] < caps[m] {
			return m
		}
	}
	for m := range load {
		if load[m] < caps[m] {
			return uint16(m)
		}
	}
	return plain[s] // unreachable: capacities sum to at least len(plain)
}

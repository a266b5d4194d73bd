package ring

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// This file keeps the original slot assignment and checksum, written for
// clarity rather than speed, as the reference the optimized code in
// build.go and checksum.go must match bit for bit: the slot table and the
// checksum are agreed on between nodes, so any difference would split a
// cluster running mixed versions.

// refAssignSlots is the original assignSlots: one uint64 per slot keeping
// the smallest tagged point that falls in the slot, then a backward walk
// giving empty slots the next slot's owner, wrapping around.
func refAssignSlots(ms []Member, pts []uint32, shift uint8) []uint16 {
	slots := 1 << (64 - shift)
	best := make([]uint64, slots)
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
	return refWalk(best)
}

// refWalk turns per-slot minimum points (noPoint for none) into the table.
func refWalk(best []uint64) []uint16 {
	carry := uint64(noPoint)
	for _, p := range best {
		if p != noPoint {
			carry = p
			break
		}
	}
	table := make([]uint16, len(best))
	for s := len(best) - 1; s >= 0; s-- {
		if best[s] != noPoint {
			carry = best[s]
		}
		table[s] = uint16(carry & tagMask)
	}
	return table
}

// refChecksum is the original checksum, appending the table to the chain
// one entry at a time.
func refChecksum(r *Ring) uint64 {
	var c refChain
	c.bytes([]byte(checksumVersion))
	c.u64(uint64(r.slots))
	if r.bounded {
		c.u64(1)
		c.u64(r.epsPPM)
	} else {
		c.u64(0)
	}
	c.u64(uint64(len(r.members)))
	for _, m := range r.members {
		c.u64(uint64(len(m.ID)))
		c.bytes([]byte(m.ID))
		c.u64(math.Float64bits(m.Weight))
	}
	for _, v := range r.table {
		if len(c.buf)+2 > cap(c.buf) {
			c.flush()
		}
		c.buf = binary.LittleEndian.AppendUint16(c.buf, v)
	}
	c.flush()
	return c.h
}

type refChain struct {
	h   uint64
	buf []byte
	arr [1024]byte
}

func (c *refChain) bytes(b []byte) {
	if c.buf == nil {
		c.buf = c.arr[:0]
	}
	for len(b) > 0 {
		if len(c.buf) == cap(c.buf) {
			c.flush()
		}
		n := copy(c.buf[len(c.buf):cap(c.buf)], b)
		c.buf = c.buf[:len(c.buf)+n]
		b = b[n:]
	}
}

func (c *refChain) u64(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	c.bytes(b[:])
}

func (c *refChain) flush() {
	if c.buf == nil {
		c.buf = c.arr[:0]
	}
	c.h = wyhash(c.buf, c.h^wymix(c.h^wyp[0], wyp[1]))
	c.buf = c.buf[:0]
}

// refNew builds the table and checksum New should give, with the
// reference code.
func refNew(t testing.TB, members []Member, opts ...Option) (table []uint16, sum uint64) {
	t.Helper()
	cfg := config{slots: DefaultSlots}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := normalize(members)
	if err != nil {
		t.Fatal(err)
	}
	r := &Ring{members: ms, slots: cfg.slots, shift: 64 - log2(cfg.slots), bounded: cfg.bounded, epsPPM: cfg.epsPPM}
	if len(ms) > 0 {
		pts := make([]uint32, len(ms))
		for i, m := range ms {
			pts[i] = points(m.Weight)
		}
		r.table = refAssignSlots(ms, pts, r.shift)
		if r.bounded {
			r.table = boundLoads(r.table, pts, r.epsPPM)
		}
	}
	return r.table, refChecksum(r)
}

// checkAgainstReference fails the test if New's table or checksum differs
// from the reference's in any slot.
func checkAgainstReference(t *testing.T, name string, ms []Member, opts ...Option) {
	t.Helper()
	r := mustNew(t, ms, opts...)
	table, sum := refNew(t, ms, opts...)
	if len(r.table) != len(table) {
		t.Fatalf("%s: table has %d slots, reference %d", name, len(r.table), len(table))
	}
	for s := range table {
		if r.table[s] != table[s] {
			t.Fatalf("%s: slot %d owned by member %d, reference says %d", name, s, r.table[s], table[s])
		}
	}
	if r.Checksum() != sum {
		t.Fatalf("%s: checksum %#x, reference %#x", name, r.Checksum(), sum)
	}
}

// randomMembers returns n members with random IDs and weights: mostly
// small, some tiny (a single point) and a few heavy.
func randomMembers(rng *rand.Rand, n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		var w float64
		switch rng.IntN(10) {
		case 0:
			w = 0 // default weight
		case 1:
			w = rng.Float64() / PointsPerWeight // one point
		case 2:
			w = 1 + 9*rng.Float64()
		default:
			w = 0.25 + 2*rng.Float64()
		}
		ms[i] = Member{ID: fmt.Sprintf("%x-%d", rng.Uint64(), i), Weight: w}
	}
	return ms
}

// New gives exactly the reference's table and checksum on many random
// member sets, slot counts and bounded-load settings.
func TestNewMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	sizes := []int{0, 1, 2, 3, 4, 7, 16, 17, 33, 50, 100, 300, 1000, 1500}
	slotCounts := []int{MinSlots, 1 << 12, 1 << 15, 1 << 16, DefaultSlots, 1 << 18, MaxSlots}
	bounds := [][]Option{nil, {WithBoundedLoad(0)}, {WithBoundedLoad(0.05)}, {WithBoundedLoad(1)}}
	for _, slots := range slotCounts {
		for _, n := range sizes {
			// The reference is slow on large rings; fewer repetitions
			// there (and under the race detector) keep the test quick.
			reps := 3
			if n*slots >= 1<<25 || raceEnabled && n*slots >= 1<<20 {
				reps = 1
			}
			if (testing.Short() || raceEnabled) && slots == MaxSlots && n != 1 && n != 50 {
				continue
			}
			for rep := range reps {
				ms := randomMembers(rng, n)
				opts := append([]Option{WithSlots(slots)}, bounds[rng.IntN(len(bounds))]...)
				name := "slots=" + strconv.Itoa(slots) + "/n=" + strconv.Itoa(n) + "/" + strconv.Itoa(rep)
				checkAgainstReference(t, name, ms, opts...)
			}
		}
	}
}

// Weight-1 members as clusters name them, and a few shapes at the edges:
// one single-point member, a heavy member next to tiny ones, and the
// largest weight.
func TestNewMatchesReferenceShapes(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 10, 32, 50, 64, 100} {
		checkAgainstReference(t, "nodes="+strconv.Itoa(n), nodes(n))
		checkAgainstReference(t, "bounded nodes="+strconv.Itoa(n), nodes(n), WithBoundedLoad(0.1))
	}
	tiny := 1.0 / (4 * PointsPerWeight)
	for _, slots := range []int{MinSlots, 1 << 16, DefaultSlots, MaxSlots} {
		opt := WithSlots(slots)
		checkAgainstReference(t, "one point", []Member{{ID: "x", Weight: tiny}}, opt)
		checkAgainstReference(t, "two points", []Member{{ID: "x", Weight: tiny}, {ID: "y", Weight: tiny}}, opt)
		checkAgainstReference(t, "heavy and tiny", []Member{{ID: "h", Weight: 5}, {ID: "t1", Weight: tiny}, {ID: "t2", Weight: tiny}}, opt)
	}
	for _, slots := range []int{MinSlots, DefaultSlots} {
		checkAgainstReference(t, "max weight", []Member{{ID: "big", Weight: MaxWeight}, {ID: "small"}}, WithSlots(slots))
	}
}

// The slot table of a set of tagged points, computed by the optimized
// code, equals the reference's on synthetic points that real member IDs
// hardly ever produce: points sharing a slot and all but their tag, points
// at both ends of the ring and in the first and last slot, and all points
// in one slot.
func TestTableFromPointsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, slots := range []int{MinSlots, 1 << 10, 1 << 12, 1 << 16, DefaultSlots, 1 << 18} {
		shift := 64 - log2(slots)
		// Large rings get fewer trials, to keep the test quick.
		trials := 300
		if slots >= 1<<16 {
			trials = 25
		}
		if raceEnabled || testing.Short() {
			trials /= 5
		}
		for trial := range trials {
			n := 1 + rng.IntN(40)
			var pts []uint64
			for range 1 + rng.IntN(3*slots/(1+trial%5)) {
				var p uint64
				switch rng.IntN(8) {
				case 0: // first slot
					p = rng.Uint64() >> (64 - shift)
				case 1: // last slot
					p = ^uint64(0) - rng.Uint64()>>(64-shift)
				case 2: // a copy of an earlier point
					if len(pts) > 0 {
						p = pts[rng.IntN(len(pts))]
					}
				case 3: // all in one narrow region
					p = uint64(trial)<<shift | rng.Uint64()>>(64-shift+40)<<tagBits
				default:
					p = rng.Uint64()
				}
				pts = append(pts, p&^tagMask|uint64(rng.IntN(n)))
			}
			if trial%7 == 0 {
				pts = pts[:1+rng.IntN(min(len(pts), 3))]
			}
			scattered, sorted := tablesFromPoints(pts, slots, shift)
			want := refTableFromPoints(pts, slots, shift)
			if !slices.Equal(scattered, want) {
				t.Fatalf("slots=%d trial %d: %d points: scattered table differs", slots, trial, len(pts))
			}
			if !slices.Equal(sorted, want) {
				t.Fatalf("slots=%d trial %d: %d points: sorted table differs", slots, trial, len(pts))
			}
		}
	}
}

func refTableFromPoints(pts []uint64, slots int, shift uint8) []uint16 {
	best := make([]uint64, slots)
	for i := range best {
		best[i] = noPoint
	}
	for _, p := range pts {
		b := &best[p>>(shift&63)]
		*b = min(*b, p)
	}
	return refWalk(best)
}

// The checksum of random rings equals the reference's for headers of
// every length modulo the chunk size, so that the table starts at every
// offset (odd ones included) within a chunk and ends at every offset,
// including exactly at the end of one.
func TestChecksumMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for idLen := 1; idLen <= chunkBytes+8; idLen++ {
		id := make([]byte, idLen)
		for i := range id {
			id[i] = byte('a' + rng.IntN(26))
		}
		ms := []Member{{ID: string(id)}, {ID: "other-member", Weight: 0.01}}
		slots := 1 << 10
		if idLen%16 == 0 {
			slots = MinSlots
		}
		r := mustNew(t, ms, WithSlots(slots))
		if got, want := checksum(r), refChecksum(r); got != want {
			t.Fatalf("id length %d, slots %d: checksum %#x, reference %#x", idLen, slots, got, want)
		}
	}
	for _, r := range []*Ring{{slots: DefaultSlots}, {slots: MinSlots, bounded: true, epsPPM: 3}} {
		if got, want := checksum(r), refChecksum(r); got != want {
			t.Fatalf("empty ring: checksum %#x, reference %#x", got, want)
		}
	}
}

// tablesFromPoints returns the slot tables both of assignSlots's ways give
// for the given tagged points: scattering them into a minimum per slot,
// and sorting them.
func tablesFromPoints(pts []uint64, slots int, shift uint8) (scattered, sorted []uint16) {
	best := make([]uint64, slots)
	for i := range best {
		best[i] = noPoint
	}
	for _, p := range pts {
		b := &best[p>>(shift&63)]
		*b = min(*b, p)
	}
	scattered = minWalk(best)
	sorted = sortedTable(slices.Clone(pts), make([]uint64, len(pts)), shift)
	return scattered, sorted
}

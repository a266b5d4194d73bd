package cloister

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/cloister-go/cloister/internal/core"
)

// RingConfigDiffers is the event of a member whose Config.Rings differ from
// this node's: both may be Ready on one view and still answer Whois
// differently for the rings that differ. It is heard once per member
// incarnation, logged, and listed in Snapshot.RingMismatch.
type RingConfigDiffers struct {
	Member Member
}

func (e *RingConfigDiffers) String() string {
	return "ring configuration differs: " + e.Member.Name
}

// digestRings is FNV-1a over the ring configurations sorted by name: name,
// role and bounded load of each. It is never 0 (0 means "not advertised").
func digestRings(cfgs []RingConfig) uint64 {
	sorted := slices.SortedFunc(slices.Values(cfgs), func(a, b RingConfig) int { return cmp.Compare(a.Name, b.Name) })
	h := fnv.New64a()
	for _, rc := range sorted {
		h.Write([]byte(rc.Name))
		h.Write([]byte{0})
		h.Write([]byte(rc.Role))
		h.Write([]byte{0})
		h.Write(binary.BigEndian.AppendUint64(nil, math.Float64bits(rc.BoundedLoad)))
	}
	if d := h.Sum64(); d != 0 {
		return d
	}
	return 1
}

// ringMismatches lists, by name, the members that advertise another ring
// configuration; fresh are those not reported before, which it marks.
// Only the goroutine that owns the core calls it.
func (n *Node) ringMismatches(members []core.Member) (names []string, fresh []Member) {
	for _, m := range members {
		d := m.RingsDigest
		if d == 0 || d == n.ringsDigest || m.ID == n.self.ID {
			continue
		}
		names = append(names, m.Name)
		if n.mismatched[m.ID] {
			continue
		}
		if n.mismatched == nil {
			n.mismatched = map[string]bool{}
		}
		n.mismatched[m.ID] = true
		n.logger.Warn("a member's ring configuration differs from this node's: Whois may answer differently there",
			"member", m.Name, "its_digest", fmt.Sprintf("%016x", d), "ours", fmt.Sprintf("%016x", n.ringsDigest))
		fresh = append(fresh, memberFromCore(m))
	}
	return names, fresh
}

package ring

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/quick"
)

// Property: any join order of the same member set gives the same ring,
// the same checksum and the same owners and preference lists.
func TestJoinOrderDoesNotMatter(t *testing.T) {
	keys := testKeys(2000)
	prop := func(seed uint64, size uint8, bounded bool) bool {
		rng := rand.New(rand.NewPCG(seed, 1))
		n := 1 + int(size)%40
		ms := make([]Member, n)
		for i := range ms {
			ms[i] = Member{ID: fmt.Sprintf("m%d-%d", seed%97, i), Weight: float64(1+rng.IntN(4)) / 2}
		}
		var opts []Option
		if bounded {
			opts = append(opts, WithBoundedLoad(0.1))
		}
		opts = append(opts, WithSlots(1<<12))
		ref := mustNew(t, ms, opts...)
		for range 3 {
			// Joining one member at a time is building from each prefix
			// of a random order; the final ring must match.
			order := shuffled(rng, ms)
			var r *Ring
			for i := range order {
				r = mustNew(t, order[:i+1], opts...)
			}
			if r.Checksum() != ref.Checksum() {
				return false
			}
			for _, k := range keys {
				a, _ := r.OwnerString(k)
				b, _ := ref.OwnerString(k)
				if a != b {
					return false
				}
			}
			la, _ := r.OwnersNString(keys[0], 3)
			lb, _ := ref.OwnersNString(keys[0], 3)
			if fmt.Sprint(la) != fmt.Sprint(lb) {
				return false
			}
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 30}); err != nil {
		t.Fatal(err)
	}
}

// The checksum tells apart rings that answer differently, and ignores the
// epoch, which does not affect ownership.
func TestChecksumSensitivity(t *testing.T) {
	base := nodes(5)
	ref := mustNew(t, base)
	same := map[string]*Ring{
		"epoch": mustNew(t, base, WithEpoch(7)),
		"order": mustNew(t, shuffled(rand.New(rand.NewPCG(1, 2)), base)),
	}
	for name, r := range same {
		if r.Checksum() != ref.Checksum() {
			t.Errorf("%s changed the checksum", name)
		}
	}
	heavier := append([]Member(nil), base...)
	heavier[2].Weight = 1.5
	different := map[string]*Ring{
		"member":  mustNew(t, nodes(6)),
		"weight":  mustNew(t, heavier),
		"slots":   mustNew(t, base, WithSlots(1<<16)),
		"bounded": mustNew(t, base, WithBoundedLoad(0.1)),
		"epsilon": mustNew(t, base, WithBoundedLoad(0.2)),
		"empty":   mustNew(t, nil),
	}
	seen := map[uint64]string{ref.Checksum(): "reference"}
	for name, r := range different {
		if prev, dup := seen[r.Checksum()]; dup {
			t.Errorf("%s has the checksum of %s", name, prev)
		}
		seen[r.Checksum()] = name
	}
}

// Pins placement: if this test fails, rings built by this version differ
// from rings built by earlier ones, which breaks mixed-version clusters.
// Change checksumVersion along with the expected values.
func TestPlacementIsPinned(t *testing.T) {
	r := mustNew(t, []Member{{ID: "a"}, {ID: "b", Weight: 2}, {ID: "c"}})
	got := fmt.Sprintf("%#x", r.Checksum())
	owners := ""
	for _, k := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		m, _ := r.OwnerString(k)
		owners += m.ID
	}
	const wantSum, wantOwners = "0x32cf32773c7700b", "abcca"
	if got != wantSum || owners != wantOwners {
		t.Errorf("checksum %s owners %s; want %s %s", got, owners, wantSum, wantOwners)
	}
}

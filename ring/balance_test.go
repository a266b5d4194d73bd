package ring

import (
	"math"
	"math/big"
	"testing"
)

// With the default slot count, no member of 100 owns more than 10% above
// the mean share of slots.
func TestBalancePlain(t *testing.T) {
	r := mustNew(t, nodes(100))
	counts := slotCounts(r)
	mean := float64(r.Slots()) / 100
	for id, c := range counts {
		if float64(c) > 1.10*mean {
			t.Errorf("%s owns %d slots, mean %.0f", id, c, mean)
		}
	}
	if len(counts) != 100 {
		t.Errorf("%d members own slots, want 100", len(counts))
	}
}

// Shares follow weights: over a mix of weights, each member's share of
// slots is within 10% of its share of the total weight.
func TestBalanceWeighted(t *testing.T) {
	ms := nodes(40)
	total := 0.0
	for i := range ms {
		ms[i].Weight = []float64{0.5, 1, 2, 3}[i%4]
		total += ms[i].Weight
	}
	r := mustNew(t, ms)
	counts := slotCounts(r)
	for _, m := range ms {
		want := float64(r.Slots()) * m.Weight / total
		if got := float64(counts[m.ID]); math.Abs(got-want) > 0.10*want {
			t.Errorf("%s (weight %v) owns %.0f slots, want about %.0f", m.ID, m.Weight, got, want)
		}
	}
}

// With bounded load, no member exceeds ceil((1+ε)·slots·w/W), computed here
// independently with exact rationals, for several ε and weight mixes.
func TestBoundedLoadCaps(t *testing.T) {
	for _, eps := range []float64{0, 0.01, 0.05, 0.25} {
		for _, weighted := range []bool{false, true} {
			ms := nodes(37)
			if weighted {
				for i := range ms {
					ms[i].Weight = []float64{0.25, 1, 1.5, 4}[i%4]
				}
			}
			r := mustNew(t, ms, WithBoundedLoad(eps), WithSlots(1<<14))
			counts := slotCounts(r)
			var total int64
			for _, m := range ms {
				total += int64(points(m.Weight))
			}
			sum := 0
			for _, m := range ms {
				c := exactCap(r.Slots(), int64(points(m.Weight)), total, eps)
				if int64(counts[m.ID]) > c {
					t.Errorf("ε=%v weighted=%v: %s owns %d slots, cap %d", eps, weighted, m.ID, counts[m.ID], c)
				}
				sum += counts[m.ID]
			}
			if sum != r.Slots() {
				t.Errorf("slots assigned %d, want %d", sum, r.Slots())
			}
		}
	}
}

func exactCap(slots int, p, total int64, eps float64) int64 {
	ppm := int64(math.Round(eps * 1e6))
	num := new(big.Int).Mul(big.NewInt(int64(slots)*p), big.NewInt(1e6+ppm))
	den := new(big.Int).Mul(big.NewInt(total), big.NewInt(1e6))
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// With ε = 0, the bounded ring is as even as integers allow.
func TestBoundedLoadZeroEpsilon(t *testing.T) {
	r := mustNew(t, nodes(10), WithBoundedLoad(0), WithSlots(1024))
	for id, c := range slotCounts(r) {
		if c > (r.Slots()+9)/10 {
			t.Errorf("%s owns %d of %d slots", id, c, r.Slots())
		}
	}
}

// A member with a tiny weight gets one point and possibly no slot, yet
// bounded assignment must terminate and respect every cap.
func TestBoundedLoadTinyMember(t *testing.T) {
	ms := append(nodes(3), Member{ID: "tiny", Weight: 1e-9})
	r := mustNew(t, ms, WithBoundedLoad(0), WithSlots(MinSlots))
	if n := len(slotCounts(r)); n < 3 {
		t.Errorf("only %d members own slots", n)
	}
}

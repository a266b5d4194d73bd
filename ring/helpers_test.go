package ring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// nodes returns members "node-0" ... "node-(n-1)" of weight 1.
func nodes(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("node-%d", i)}
	}
	return ms
}

func mustNew(t testing.TB, ms []Member, opts ...Option) *Ring {
	t.Helper()
	r, err := New(ms, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// testKeys returns n distinct keys.
func testKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	return keys
}

// slotCounts returns how many slots each member ID owns.
func slotCounts(r *Ring) map[string]int {
	c := map[string]int{}
	for s := range r.Slots() {
		m, _ := r.SlotOwner(s)
		c[m.ID]++
	}
	return c
}

func shuffled(rng *rand.Rand, ms []Member) []Member {
	out := append([]Member(nil), ms...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

package hamt

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// Many small transactions over few keys, as the registry makes them,
// each checked against a plain map.
func TestSmallTransactions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, keys := range []int{3, 40, 2000} {
		want := map[string]int{}
		m := &Map[int]{}
		for round := range 5000 {
			tx := m.Txn()
			for range 1 + r.IntN(3) {
				k := "k" + strconv.Itoa(r.IntN(keys))
				switch r.IntN(3) {
				case 0:
					tx.Delete(k)
					delete(want, k)
				default:
					tx.Set(k, round)
					want[k] = round
				}
				w, present := want[k]
				if v, ok := tx.Get(k); ok != present || v != w {
					t.Fatalf("keys %d round %d: the transaction reads %s = %d %v, want %d %v", keys, round, k, v, ok, w, present)
				}
			}
			m = tx.Map()
			if m.Len() != len(want) {
				t.Fatalf("keys %d round %d: Len %d, want %d", keys, round, m.Len(), len(want))
			}
			for k, v := range want {
				if got, ok := m.Get(k); !ok || got != v {
					t.Fatalf("keys %d round %d: Get(%s) = %d %v, want %d", keys, round, k, got, ok, v)
				}
			}
		}
	}
}

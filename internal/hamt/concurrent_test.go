package hamt

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Readers of published maps never see a change made after publication:
// keys set once and never deleted are always found, while a writer churns
// other keys around them.
func TestPublishedMapsDoNotChange(t *testing.T) {
	var cur atomic.Pointer[Map[int]]
	tx := (&Map[int]{}).Txn()
	for i := range 50 {
		tx.Set("stable-"+strconv.Itoa(i), i)
	}
	cur.Store(tx.Map())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var misses atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				m := cur.Load()
				for i := range 50 {
					if v, ok := m.Get("stable-" + strconv.Itoa(i)); !ok || v != i {
						misses.Add(1)
					}
				}
			}
		}()
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		tx := cur.Load().Txn()
		for range 1 + r.IntN(4) {
			k := "churn-" + strconv.Itoa(r.IntN(200))
			if r.IntN(3) == 0 {
				i := r.IntN(50)
				tx.Set("stable-"+strconv.Itoa(i), i) // rewritten, never absent
			}
			if r.IntN(2) == 0 {
				tx.Delete(k)
			} else {
				tx.Set(k, 1)
			}
		}
		cur.Store(tx.Map())
	}
	close(stop)
	wg.Wait()
	if misses.Load() != 0 {
		t.Fatalf("%d lookups of stable keys failed", misses.Load())
	}
}

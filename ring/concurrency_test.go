package ring

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Readers query a ring published through atomic.Pointer while a writer
// keeps replacing it; run with -race.
func TestConcurrentReadersAndSwaps(t *testing.T) {
	var current atomic.Pointer[Ring]
	current.Store(mustNew(t, nodes(5), WithSlots(1<<10)))
	keys := testKeys(200)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]Member, 0, 3)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := current.Load()
				k := keys[(i+g)%len(keys)]
				m, err := r.OwnerString(k)
				if err != nil || !r.Contains(m.ID) {
					t.Errorf("OwnerString: %v, %v", m, err)
					return
				}
				if l, err := r.AppendOwnersNString(buf[:0], k, 3); err != nil || l[0] != m {
					t.Errorf("AppendOwnersNString: %v, %v", l, err)
					return
				}
				_ = r.Checksum()
				_ = r.Members()
			}
		}()
	}
	for n := 6; n < 30; n++ {
		old := current.Load()
		next := mustNew(t, nodes(n), WithSlots(1<<10), WithEpoch(uint64(n)))
		current.Store(next)
		if _, err := Diff(old, next, "node-1"); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

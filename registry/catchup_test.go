package registry_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A node that joins a cluster holding 100,000 names knows them all at
// once: the whole state streams to it in chunks.
func TestJoinerGetsAllNames(t *testing.T) {
	const names = 100_000
	c := newCluster(t, 3, nil)
	ctx := ctxT(t, 120*time.Second)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.reg(w % 3)
			for {
				i := next.Add(1) - 1
				if i >= names {
					return
				}
				if _, err := r.Register(ctx, fmt.Sprintf("user-%06d", i), echo("x")); err != nil {
					t.Errorf("register %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	took := time.Since(start)
	t.Logf("%d registrations in %v (%.0f/s)", names, took, names/took.Seconds())
	c.WaitFor("every name on every node", func() bool {
		return c.reg(0).Len() == names && c.reg(1).Len() == names && c.reg(2).Len() == names
	})
	i := c.Add()
	joined := time.Now()
	c.WaitFor("the joiner knows every name", func() bool { r := c.reg(i); return r != nil && r.Len() == names })
	t.Logf("joiner caught up with %d names %v after its launch", names, time.Since(joined))
	if _, ok := c.reg(i).Lookup("user-099999"); !ok {
		t.Fatal("a name is missing on the joiner")
	}
}

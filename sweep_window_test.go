package cloister_test

import (
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

// A sweep dials the members around a finding a few at once: as many as
// could end its walk. Here every member it steps over answers later than a
// sweep dial waits (a tenth of the probe timeout), so each dial costs that
// wait: dialled one after the other, the three live members of each walk
// held the watcher's report back by six waits; dialled together, by two.
func TestSweepDialsItsNeighboursTogether(t *testing.T) {
	d := cloister.SteadyDetection()
	d.ProbeInterval, d.ProbeTimeout = 3*time.Second, 2*time.Second // a sweep dial waits 200 ms
	n := 10
	c, rs := detectCluster(t, n, d, seed())
	waitWatches(c)
	order := idOrder(c)
	watcher, victim := order[3], order[4]
	wait := d.ProbeTimeout / 10
	// The walks from the watcher step over these, forward and backward:
	// a round trip to each takes longer than the dial's wait.
	for _, i := range []int{order[5], order[6], order[7], order[2], order[1], order[0]} {
		c.Delay(i, wait*3/4, 0)
	}
	killed := c.Node(victim).Self()
	start := time.Now()
	c.Kill(victim)
	c.WaitFor("the watcher reported the kill", func() bool {
		downs, _ := rs[watcher].count(killed.ID)
		return downs > 0
	})
	took := time.Since(start)
	t.Logf("the watcher reported the kill after %v (a sweep dial waits %v)", took, wait)
	if took >= 4*wait {
		t.Fatalf("the watcher reported the kill after %v: its sweep dialled one member at a time (want under %v, four waits)", took, 4*wait)
	}
	if took < 2*wait {
		t.Fatalf("the watcher reported the kill after %v, before its sweep could have waited twice (%v): the delays did not hold its dials", took, 2*wait)
	}
}

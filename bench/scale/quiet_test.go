package main

import (
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// TestWaitQuiet: a Ready cluster is quiet once it has been so for the
// hold; a hold longer than the bound is reported missed at the bound; a
// member reported down restarts the hold.
func TestWaitQuiet(t *testing.T) {
	c := cloistertest.New(t, 3, cloistertest.WithMemNet(1))
	v := &views{ids: map[cloister.ViewID]struct{}{}, since: time.Now()}
	took, missed := waitQuiet(c.Nodes(), v, 2*quietPoll, time.Minute)
	if missed || took < 2*quietPoll {
		t.Fatalf("waitQuiet on a Ready cluster: took %v, missed %v; want at least the hold, not missed", took, missed)
	}
	if took, missed := waitQuiet(c.Nodes(), v, 10*time.Second, 3*quietPoll); !missed || took != 3*quietPoll {
		t.Fatalf("a hold beyond the bound: took %v, missed %v; want the bound, missed", took, missed)
	}
	// Downs counted while waiting: each look sees a new count, so the
	// cluster is never quiet for the hold.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(quietPoll / 4)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				v.mu.Lock()
				v.downs++
				v.mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	if _, missed := waitQuiet(c.Nodes(), v, 2*quietPoll, 5*quietPoll); !missed {
		t.Fatal("members reported down all along, and waitQuiet found the cluster quiet")
	}
}

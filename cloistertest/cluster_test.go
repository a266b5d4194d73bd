package cloistertest_test

import (
	"testing"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// The harness's whole lifecycle: start, kill, restart, add, stop.
func TestLifecycle(t *testing.T) {
	c := cloistertest.New(t, 3, cloistertest.WithConsensus(2))
	if c.Len() != 3 || len(c.Nodes()) != 3 || !c.Agreed() {
		t.Fatalf("after New: %s", c)
	}
	old := c.Node(0).Self()
	c.Kill(0)
	if len(c.Nodes()) != 2 {
		t.Fatalf("after Kill: %d live nodes", len(c.Nodes()))
	}
	c.WaitAllReady()
	fresh := c.Restart(0)
	if fresh.Self().Name != old.Name || fresh.Self().ID == old.ID {
		t.Fatalf("Restart: %s / %s, want the same name and a new incarnation of %s", fresh.Self().Name, fresh.Self().ID, old.ID)
	}
	i := c.Add()
	if i != 3 {
		t.Fatalf("Add returned index %d, want 3", i)
	}
	c.WaitAllReady()
	c.Stop(1)
	c.WaitAll("three members each", func(s cloister.Snapshot) bool { return len(s.View.Members) == 3 })
	if s := c.Node(1).State(); s != cloister.Stopped {
		t.Fatalf("stopped node is %v", s)
	}
}

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

// Issue #12, item 7: WithConfig's function runs on the goroutine that
// called New, one node after the other, so it may call t.Fatalf.
func TestConfigureRunsOnTheTestGoroutine(t *testing.T) {
	var order []int // no lock: concurrent calls would be a data race
	cloistertest.New(t, 3, cloistertest.WithConfig(func(i int, c *cloister.Config) {
		order = append(order, i)
	}))
	if len(order) != 3 || order[0] != 0 || order[1] != 1 || order[2] != 2 {
		t.Fatalf("configured nodes in order %v, want [0 1 2]", order)
	}
}

// Issue #12, item 7: the harness's secret cannot be changed by a test.
func TestSecretIsNotShared(t *testing.T) {
	s := cloistertest.Secret()
	s[0] ^= 0xff
	if cloistertest.Secret()[0] == s[0] {
		t.Fatal("changing one Secret() changed the next")
	}
}

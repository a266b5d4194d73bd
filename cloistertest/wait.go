package cloistertest

import (
	"context"
	"time"

	"github.com/cloister-go/cloister"
)

// pollInterval is how often conditions over several nodes are re-checked.
const pollInterval = 5 * time.Millisecond

// WaitFor blocks until cond holds, checking it every few milliseconds, and
// fails the test with desc and the cluster's state when the harness timeout
// passes first. It returns how long the wait took.
func (c *Cluster) WaitFor(desc string, cond func() bool) time.Duration {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.timeout)
	defer cancel()
	d, err := Poll(ctx, cond)
	if err != nil {
		c.t.Fatalf("cloistertest: waiting for %s: %v\n%s", desc, err, c)
	}
	return d
}

// Poll checks cond until it holds or ctx ends, and returns how long it took.
func Poll(ctx context.Context, cond func() bool) (time.Duration, error) {
	start := time.Now()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for !cond() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		}
	}
	return time.Since(start), nil
}

// WaitAll waits until cond holds for every live node.
func (c *Cluster) WaitAll(desc string, cond func(s cloister.Snapshot) bool) time.Duration {
	c.t.Helper()
	return c.WaitFor(desc, func() bool {
		for _, n := range c.Nodes() {
			if !cond(n.Snapshot()) {
				return false
			}
		}
		return true
	})
}

// WaitAllReady waits until every live node is Ready with the same view,
// holding exactly the live nodes.
func (c *Cluster) WaitAllReady() time.Duration {
	c.t.Helper()
	return c.WaitFor("every live node Ready with one view", c.Agreed)
}

// Agreed reports whether every live node is Ready and holds the same view
// and term, the view made of exactly the live nodes' current incarnations.
func (c *Cluster) Agreed() bool {
	nodes := c.Nodes()
	// Cheap reads first: a snapshot copies the whole view, so a poll of
	// snapshots alone copies N views of N members while the cluster is
	// still on its way.
	for _, n := range nodes {
		if n.State() != cloister.Ready || n.ViewID() != nodes[0].ViewID() {
			return false
		}
	}
	want := map[string]bool{}
	for _, n := range nodes {
		want[n.Self().ID] = true
	}
	var id cloister.ViewID
	var term uint64
	for i, n := range nodes {
		s := n.Snapshot()
		if s.State != cloister.Ready || len(s.View.Members) != len(want) {
			return false
		}
		if i == 0 {
			id, term = s.View.ID, s.Term
		} else if s.View.ID != id || s.Term != term {
			return false
		}
		for _, m := range s.View.Members {
			if !want[m.ID] {
				return false
			}
		}
	}
	return true
}

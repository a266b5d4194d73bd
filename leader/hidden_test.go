package leader_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// A hidden node sees the view, its term and its leader, hears events and
// can call members, but is in nobody's view, never leads, and never
// counts for quorum: with two of three members gone the last one has no
// quorum, hidden node or not.
func TestHiddenNodeNeverCounted(t *testing.T) {
	const hidden = 3
	tc := newTestClusterConfig(t, 4, 6, nil, func(i int, c *cloister.Config) { c.Hidden = i == hidden },
		cloistertest.WithConsensus(3), cloistertest.WithoutWait())
	members := []int{0, 1, 2}
	sameView := func() bool {
		h := tc.Node(hidden).Snapshot()
		if h.State != cloister.Ready || !h.Self.Hidden {
			return false
		}
		for _, i := range members {
			s := tc.Node(i).Snapshot()
			if s.State != cloister.Ready || len(s.View.Members) != 3 || s.View.ID != h.View.ID || s.Term != h.Term {
				return false
			}
		}
		return len(h.View.Members) == 3
	}
	tc.WaitFor("three Ready members, the hidden node Ready on their view", sameView)
	hid := tc.Node(hidden)
	for _, i := range members {
		if slices.ContainsFunc(tc.Node(i).Members(), func(m cloister.Member) bool { return m.ID == hid.Self().ID }) {
			t.Fatalf("node %d counts the hidden node", i)
		}
	}
	tc.WaitFor("the hidden node names the members' leader", func() bool {
		m, term, ok := tc.agreedLeader([]int{0, 1, 2, hidden})
		return ok && term > 0 && m.ID != hid.Self().ID
	})
	// It calls members.
	if err := tc.Node(0).Handle("echo", func(_ context.Context, _ cloister.Member, b []byte) ([]byte, error) { return b, nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := hid.Call(ctx, tc.Node(0).Self(), "echo", []byte("hi")); err != nil || string(got) != "hi" {
		t.Fatalf("a call from the hidden node: %q, %v", got, err)
	}
	// It hears events.
	events, stop := hid.Subscribe(64)
	defer stop()
	gone := tc.Node(1).Self()
	tc.Pause(1)
	tc.Pause(2)
	tc.WaitFor("node 0 without quorum, the hidden node naming no leader", func() bool {
		_, _, ok := tc.svc(hidden).Leader()
		return tc.Node(0).State() == cloister.NoQuorum && !ok
	})
	// Paused, the member is a silent host: its failure is reported once
	// its confirmation's pings and their grace for late acks are over,
	// which the call's deadline above does not cover.
	heardCtx, cancelHeard := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelHeard()
	heard := false
	for !heard {
		select {
		case e := <-events:
			if d, ok := e.(*cloister.MemberDown); ok && d.Member.ID == gone.ID {
				heard = true
			}
		case <-heardCtx.Done():
			t.Fatal("the hidden node did not hear the member go down")
		}
	}
}

package registry_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/registry"
)

// Every node registers the same name at once, round after round: one
// wins, every other is told the winner, and every node ends up seeing the
// winner.
func TestConcurrentRegistrationOneWinner(t *testing.T) {
	c := newCluster(t, 5, nil)
	ctx := ctxT(t, 30*time.Second)
	for round := range 8 {
		name := fmt.Sprintf("contended-%d", round)
		var wg sync.WaitGroup
		winners := make([]string, 5)
		taken := make([]string, 5)
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reg, err := c.reg(i).Register(ctx, name, echo(fmt.Sprint(i)))
				var nt *registry.NameTakenError
				switch {
				case err == nil:
					winners[i] = reg.Holder.ID
				case errors.As(err, &nt):
					taken[i] = nt.Holder.ID
				default:
					t.Errorf("node %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		var winner string
		for i, w := range winners {
			if w == "" {
				continue
			}
			if winner != "" {
				t.Fatalf("round %d: two winners, %s and %s", round, winner, w)
			}
			winner = w
			if w != c.Node(i).Self().ID {
				t.Fatalf("round %d: node %d won for %s", round, i, w)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: nobody won", round)
		}
		for i, h := range taken {
			if winners[i] == "" && h != winner {
				t.Fatalf("round %d: node %d told the holder is %q, winner %q", round, i, h, winner)
			}
		}
		c.WaitFor("the winner on every node", func() bool { return c.holderEverywhere(name, winner, 0, 1, 2, 3, 4) })
	}
}

// A name dies with its node, on every node, whether the node was killed,
// left, or restarted elsewhere as a new incarnation; once the departure is
// agreed, another member may register it.
func TestNameDiesWithItsNode(t *testing.T) {
	c := newCluster(t, 5, nil, cloistertest.WithConsensus(3))
	ctx := ctxT(t, 60*time.Second)
	for i, name := range []string{"", "killed", "left", "moved"} {
		if name == "" {
			continue
		}
		if _, err := c.reg(i).Register(ctx, name, echo(name)); err != nil {
			t.Fatal(err)
		}
	}
	all := []int{0, 1, 2, 3, 4}
	for i, name := range map[int]string{1: "killed", 2: "left", 3: "moved"} {
		c.WaitFor(name+" everywhere", func() bool { return c.holderEverywhere(name, c.Node(i).Self().ID, all...) })
	}
	steps := []struct {
		name   string
		node   int
		act    func()
		others []int
	}{
		{"killed", 1, func() { c.Kill(1) }, []int{0, 2, 3, 4}},
		{"left", 2, func() { c.Stop(2) }, []int{0, 3, 4}},
		{"moved", 3, func() { c.Kill(3); c.RestartElsewhere(3) }, []int{0, 3, 4}},
	}
	for _, s := range steps {
		s.act()
		c.WaitFor(s.name+" gone on every live node", func() bool { return c.Agreed() && c.holderEverywhere(s.name, "", s.others...) })
		reg, err := c.reg(0).Register(ctx, s.name, echo("n0"))
		if err != nil {
			t.Fatalf("re-registering %s: %v", s.name, err)
		}
		c.WaitFor(s.name+" held by node 0 everywhere", func() bool { return c.holderEverywhere(s.name, reg.Holder.ID, s.others...) })
	}
	// The restarted node's new incarnation knows every name at once.
	if _, ok := c.reg(3).Lookup("killed"); !ok {
		t.Fatal("the restarted node does not know a name")
	}
}

// The 2|3 partition of five: the minority refuses registrations with
// ErrNoQuorum, answers lookups flagged stale and gives up its own names;
// the majority keeps serving and may re-grant them; after the heal every
// node agrees on one holder per name.
func TestPartitionMinorityRefuses(t *testing.T) {
	c := newCluster(t, 5, nil, cloistertest.WithConsensus(3))
	ctx := ctxT(t, 60*time.Second)
	r0, err := c.reg(0).Register(ctx, "on-minority", echo("n0"))
	if err != nil {
		t.Fatal(err)
	}
	r3, err := c.reg(3).Register(ctx, "on-majority", echo("n3"))
	if err != nil {
		t.Fatal(err)
	}
	all := []int{0, 1, 2, 3, 4}
	c.WaitFor("both names everywhere", func() bool {
		return c.holderEverywhere("on-minority", r0.Holder.ID, all...) && c.holderEverywhere("on-majority", r3.Holder.ID, all...)
	})
	c.Partition([]int{0, 1}, []int{2, 3, 4})
	c.WaitFor("minority NoQuorum, majority Ready", func() bool {
		return c.Node(0).State() == cloister.NoQuorum && c.Node(1).State() == cloister.NoQuorum &&
			c.Node(2).State() == cloister.Ready && len(c.Node(2).Snapshot().View.Members) == 3
	})
	_, err = c.reg(1).Register(ctx, "fresh", echo("n1"))
	if !errors.Is(err, cloister.ErrNoQuorum) || !errors.Is(err, cloister.ErrNotReady) {
		t.Fatalf("minority registration: %v", err)
	}
	// The registry hears of NoQuorum from its listener, a moment after
	// the node's state shows it.
	c.WaitFor("the minority's lookups stale", func() bool {
		reg, ok := c.reg(1).Lookup("on-majority")
		return ok && reg.Stale
	})
	if reg, ok := c.reg(1).Lookup("on-majority"); !ok || !reg.Stale || reg.Holder.ID != r3.Holder.ID {
		t.Fatalf("minority lookup: %+v %v", reg, ok)
	}
	c.WaitFor("the minority gave up its name", func() bool { return c.holderEverywhere("on-minority", "", 0, 1) })
	c.WaitFor("the majority dropped the minority's name", func() bool { return c.holderEverywhere("on-minority", "", 2, 3, 4) })
	if reg, ok := c.reg(2).Lookup("on-majority"); !ok || reg.Stale {
		t.Fatalf("majority lookup: %+v %v", reg, ok)
	}
	r2, err := c.reg(2).Register(ctx, "on-minority", echo("n2"))
	if err != nil {
		t.Fatalf("majority re-registration: %v", err)
	}
	if got, err := c.reg(4).Call(ctx, "on-majority", []byte("x")); err != nil || string(got) != "n3:x" {
		t.Fatalf("majority call: %q %v", got, err)
	}
	c.Heal()
	c.WaitAllReady()
	c.WaitFor("one holder per name everywhere", func() bool {
		return c.holderEverywhere("on-minority", r2.Holder.ID, all...) && c.holderEverywhere("on-majority", r3.Holder.ID, all...) &&
			c.holderEverywhere("fresh", "", all...)
	})
	for _, i := range all {
		if n := c.reg(i).Len(); n != 2 {
			t.Fatalf("node %d knows %d names: %+v", i, n, c.reg(i).Names())
		}
	}
}

// With quorum none both sides of a split register the same name; at the
// heal every node picks the same winner (the Resolver's), and the loser is
// told before the winner is visible on its node.
func TestQuorumNoneConflict(t *testing.T) {
	// The default, and a resolver of the application's: the holder with
	// the greater node name wins, whatever the grants.
	greaterName := func(_ string, a, b registry.Registration) registry.Registration {
		if a.Holder.Name > b.Holder.Name {
			return a
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		resolve registry.Resolver
	}{{"LatestGrant", nil}, {"greater node name", greaterName}} {
		t.Run(tc.name, func(t *testing.T) { quorumNoneConflict(t, tc.resolve) })
	}
}

func quorumNoneConflict(t *testing.T, resolve registry.Resolver) {
	var lost sync.Map // node -> NameLost
	var early atomic.Int32
	var c *cluster
	quorum = &cloister.Quorum{Policy: cloister.QuorumNone}
	defer func() { quorum = nil }()
	c = newCluster(t, 4, func(i int) registry.Options {
		return registry.Options{Resolve: resolve, OnNameLost: func(nl registry.NameLost) {
			if reg, ok := c.reg(i).Lookup(nl.Name); ok && reg.Holder.ID == nl.Winner.Holder.ID {
				early.Add(1) // the winner was visible before the loser was told
			}
			lost.Store(i, nl)
		}}
	})
	ctx := ctxT(t, 60*time.Second)
	c.Partition([]int{0, 1}, []int{2, 3})
	c.WaitFor("two sides of two", func() bool {
		return inViewOf(c, 2, 0, 1) && inViewOf(c, 2, 2, 3)
	})
	ra, err := c.reg(0).Register(ctx, "both", echo("n0"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := c.reg(3).Register(ctx, "both", echo("n3"))
	if err != nil {
		t.Fatal(err)
	}
	if resolve == nil {
		resolve = registry.LatestGrant
	}
	want := resolve("both", ra, rb)
	loser := 0
	if want.Holder.ID == ra.Holder.ID {
		loser = 3
	}
	c.Heal()
	c.WaitAllReady()
	c.WaitFor("one winner everywhere", func() bool { return c.holderEverywhere("both", want.Holder.ID, 0, 1, 2, 3) })
	nl, ok := lost.Load(loser)
	if !ok {
		lost.Range(func(k, v any) bool { t.Logf("told: node %v: %+v", k, v); return true })
		t.Fatalf("the loser, node %d, was not told; a=%+v b=%+v", loser, ra, rb)
	}
	if nl.(registry.NameLost).Winner.Holder.ID != want.Holder.ID {
		t.Fatalf("NameLost %+v", nl)
	}
	n := 0
	lost.Range(func(any, any) bool { n++; return true })
	if n != 1 || early.Load() != 0 {
		t.Fatalf("%d nodes told, %d told after the winner was visible", n, early.Load())
	}
	if got, err := c.reg(loser).Call(ctx, "both", []byte("?")); err != nil || string(got) == "" {
		t.Fatalf("call by name after the merge: %q %v", got, err)
	}
}

// inViewOf reports whether the listed nodes are Ready with views of size n.
func inViewOf(c *cluster, n int, nodes ...int) bool {
	for _, i := range nodes {
		s := c.Node(i).Snapshot()
		if s.State != cloister.Ready || len(s.View.Members) != n {
			return false
		}
	}
	return true
}

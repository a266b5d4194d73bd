package groups_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/groups"
)

type cluster struct {
	*cloistertest.Cluster
	mu sync.Mutex
	gs map[int]*groups.Groups
}

func newCluster(t *testing.T, n int, more ...cloistertest.Option) *cluster {
	t.Helper()
	c := &cluster{gs: map[int]*groups.Groups{}}
	opts := append([]cloistertest.Option{
		cloistertest.WithMemNet(3),
		cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
			g := groups.New(groups.Options{})
			c.mu.Lock()
			c.gs[i] = g
			c.mu.Unlock()
			cfg.Services = append(cfg.Services, g)
		}),
	}, more...)
	c.Cluster = cloistertest.New(t, n, opts...)
	return c
}

func (c *cluster) g(i int) *groups.Groups {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gs[i]
}

// counts reports whether every listed node sees n members in group.
func (c *cluster) counts(group string, n int, nodes ...int) bool {
	for _, i := range nodes {
		if c.g(i).Count(group) != n {
			return false
		}
	}
	return true
}

// inbox collects what a member's handler receives.
type inbox struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 1024)} }

func (b *inbox) handler(_ context.Context, _ cloister.Member, body []byte) ([]byte, error) {
	b.mu.Lock()
	b.got = append(b.got, string(body))
	b.mu.Unlock()
	b.ch <- struct{}{}
	return nil, nil
}

func (b *inbox) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-b.ch:
		case <-timeout:
			t.Fatalf("fewer than %d messages", n)
		}
	}
}

// Join, counted joins, Leave, local listing, publish to all and to local
// members only, and watching.
func TestJoinPublishLeave(t *testing.T) {
	c := newCluster(t, 3)
	boxes := make([]*inbox, 3)
	events, cancel := c.g(2).Watch("chat")
	defer cancel()
	for i := range 3 {
		boxes[i] = newInbox()
		if err := c.g(i).Join("chat", fmt.Sprintf("user%d", i), boxes[i].handler); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.g(0).Join("chat", "user0", boxes[0].handler); err != nil { // twice, like pg
		t.Fatal(err)
	}
	c.WaitFor("3 members everywhere", func() bool { return c.counts("chat", 3, 0, 1, 2) })
	ms := c.g(1).Members("chat")
	if ms[0].Key != "user0" || ms[0].Count != 2 || ms[0].Node.ID != c.Node(0).Self().ID {
		t.Fatalf("members %+v", ms)
	}
	if got := c.g(0).LocalMembers("chat"); len(got) != 1 || got[0] != "user0" {
		t.Fatalf("local members %v", got)
	}
	ctx, cancelCtx := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelCtx()
	if err := c.g(1).Publish(ctx, "chat", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		b.wait(t, 1)
	}
	if n := c.g(2).PublishLocal("chat", []byte("local")); n != 1 {
		t.Fatalf("local publish reached %d", n)
	}
	boxes[2].wait(t, 1)
	if err := c.g(0).Leave("chat", "user0"); err != nil {
		t.Fatal(err)
	}
	if c.g(0).Count("chat") != 3 {
		t.Fatal("one Leave of two Joins removed the member")
	}
	if err := c.g(0).Leave("chat", "user0"); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("2 members everywhere", func() bool { return c.counts("chat", 2, 0, 1, 2) })
	if err := c.g(0).Leave("chat", "user0"); !errors.Is(err, groups.ErrNotMember) {
		t.Fatalf("leave of a non-member: %v", err)
	}
	if err := c.g(0).Join("", "x", boxes[0].handler); !errors.Is(err, groups.ErrInvalidName) {
		t.Fatalf("empty group: %v", err)
	}
	seen := map[string]int{}
	for len(seen) < 4 {
		select {
		case e := <-events:
			seen[e.Kind.String()+" "+e.Member.Key]++
		case <-time.After(10 * time.Second):
			t.Fatalf("watch saw %v", seen)
		}
	}
	if seen["joined user0"] != 1 || seen["left user0"] != 1 {
		t.Fatalf("watch saw %v", seen)
	}
}

// Memberships vanish with their node, whether it was killed, left, or
// restarted elsewhere; the new incarnation gets the state at once.
func TestMembershipsDieWithNode(t *testing.T) {
	c := newCluster(t, 4, cloistertest.WithConsensus(3))
	h := newInbox().handler
	for i := range 4 {
		if err := c.g(i).Join("g", fmt.Sprint("m", i), h); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor("4 members everywhere", func() bool { return c.counts("g", 4, 0, 1, 2, 3) })
	c.Kill(1)
	c.WaitFor("3 after the kill", func() bool { return c.counts("g", 3, 0, 2, 3) })
	c.Stop(2)
	c.WaitFor("2 after the leave", func() bool { return c.counts("g", 2, 0, 3) })
	c.Kill(3)
	c.RestartElsewhere(3)
	c.WaitFor("1 after the restart, everywhere", func() bool { return c.counts("g", 1, 0, 3) })
	if err := c.g(3).Join("g", "m3", h); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the new incarnation's member everywhere", func() bool { return c.counts("g", 2, 0, 3) })
}

// A node that joins gets 100,000 memberships at once.
func TestJoinerGetsAllMemberships(t *testing.T) {
	const n = 100_000
	c := newCluster(t, 2)
	h := newInbox().handler
	for i := range n {
		if err := c.g(i%2).Join(fmt.Sprintf("room-%03d", i%1000), fmt.Sprintf("user-%06d", i), h); err != nil {
			t.Fatal(err)
		}
	}
	total := func(g *groups.Groups) int {
		s := 0
		for _, name := range g.Groups() {
			s += g.Count(name)
		}
		return s
	}
	c.WaitFor("every membership on both nodes", func() bool { return total(c.g(0)) == n && total(c.g(1)) == n })
	i := c.Add()
	start := time.Now()
	c.WaitFor("the joiner has every membership", func() bool { g := c.g(i); return g != nil && total(g) == n })
	t.Logf("joiner caught up with %d memberships %v after its launch", n, time.Since(start))
}

// A 2|3 partition: the majority drops the minority's memberships once it
// agrees on its view; the minority, without quorum, keeps what it knew;
// after the heal every node has every membership again.
func TestPartitionAndHeal(t *testing.T) {
	c := newCluster(t, 5, cloistertest.WithConsensus(3))
	h := newInbox().handler
	for i := range 5 {
		if err := c.g(i).Join("g", fmt.Sprint("m", i), h); err != nil {
			t.Fatal(err)
		}
	}
	all := []int{0, 1, 2, 3, 4}
	c.WaitFor("5 members everywhere", func() bool { return c.counts("g", 5, all...) })
	c.Partition([]int{0, 1}, []int{2, 3, 4})
	c.WaitFor("the majority sees its 3", func() bool { return c.counts("g", 3, 2, 3, 4) })
	c.WaitFor("the minority without quorum", func() bool {
		return c.Node(0).State() == cloister.NoQuorum && c.Node(1).State() == cloister.NoQuorum
	})
	if !c.counts("g", 5, 0, 1) {
		t.Fatalf("the minority dropped memberships without quorum: %d, %d", c.g(0).Count("g"), c.g(1).Count("g"))
	}
	c.Heal()
	c.WaitAllReady()
	c.WaitFor("5 members everywhere after the heal", func() bool { return c.counts("g", 5, all...) })
}

// Before its node starts, Groups answers with ErrNotStarted, not a panic.
func TestNotStarted(t *testing.T) {
	g := groups.New(groups.Options{})
	h := newInbox().handler
	if err := g.Join("g", "k", h); !errors.Is(err, groups.ErrNotStarted) || !errors.Is(err, cloister.ErrNotReady) {
		t.Fatalf("Join: %v", err)
	}
	if err := g.Leave("g", "k"); !errors.Is(err, groups.ErrNotStarted) {
		t.Fatalf("Leave: %v", err)
	}
	if err := g.Publish(context.Background(), "g", nil); !errors.Is(err, groups.ErrNotStarted) {
		t.Fatalf("Publish: %v", err)
	}
	if g.PublishLocal("g", nil) != 0 || g.Members("g") != nil || g.Count("g") != 0 {
		t.Fatal("an unstarted Groups has members")
	}
}

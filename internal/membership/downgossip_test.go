package membership

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// A down notice queued for the gossip reaches the other members by
// memberlist's gossip alone: no direct notice is sent, and probing and
// state exchanges are silent, so nothing else could carry it.
func TestDownNoticesRideTheGossip(t *testing.T) {
	p := silentProfile()
	p.GossipInterval = 10 * time.Millisecond
	var told downsTold
	members, _ := startJoined(t, p, []string{"a", "b", "c", "d"}, func(id string, c *Config) { c.OnDown = told.onDown(id) })
	for id, m := range members {
		waitFor(t, id+" holds every member alive", 10*time.Second, func() bool {
			for other := range members {
				if other != id && !m.Alive(other) {
					return false
				}
			}
			return true
		})
	}

	members["a"].GossipDown([]string{"d"})
	waitFor(t, "b and c told by gossip that d ended", 10*time.Second, func() bool { return told.was("b", "d") && told.was("c", "d") })
	if told.any("a") {
		t.Fatal("the member that gossiped the notice was told of it")
	}
}

// A second notice about a member replaces the first in the queue, and the
// queue keeps at most maxQueuedDowns notices, counting the ones dropped.
func TestDownGossipQueueBounds(t *testing.T) {
	m, _ := startMember(t, "a", silentProfile())
	m.GossipDown([]string{"b", "b"})
	if n := m.d.downs.NumQueued(); n != 1 {
		t.Fatalf("%d notices queued about one member, want 1", n)
	}
	ids := make([]string, maxQueuedDowns+10)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i)
		m.GossipDown(ids[i : i+1]) // found one at a time: a notice each
	}
	if n := m.d.downs.NumQueued(); n != maxQueuedDowns {
		t.Fatalf("%d notices queued, want %d", n, maxQueuedDowns)
	}
	if got, want := m.Stats().PrunedDowns, uint64(len(ids)+1-maxQueuedDowns); got != want {
		t.Fatalf("%d notices counted as pruned, want %d", got, want)
	}
	// The notices come before service broadcasts and within the limit.
	msgs := m.d.GetBroadcasts(3, 100)
	size := 0
	for _, b := range msgs {
		if b[0] != downKind {
			t.Fatalf("gossiped %x, not a down notice", b)
		}
		size += 3 + len(b)
	}
	if len(msgs) == 0 || size > 100 {
		t.Fatalf("%d notices of %d bytes with overhead in a limit of 100", len(msgs), size)
	}
}

// Members found ended together are gossiped as one batch while every live
// member reads batches, and a receiver is told of them together; with a
// member from before batches alive, they go as a notice each.
func TestDownRowsGossipAsOneBatch(t *testing.T) {
	p := silentProfile()
	p.GossipInterval = 10 * time.Millisecond
	var mu sync.Mutex
	var toldB [][]string // what b was told, call by call
	members, addrs := startJoined(t, p, []string{"a", "b", "c", "d", "e"}, func(id string, c *Config) {
		if id != "b" {
			return
		}
		c.OnDown = func(ms []Member) {
			mu.Lock()
			defer mu.Unlock()
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			toldB = append(toldB, ids)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := members["a"]
	waitFor(t, "a holds every member alive", 10*time.Second, func() bool {
		return a.Alive("b") && a.Alive("c") && a.Alive("d") && a.Alive("e")
	})
	waitKnowsOld(t, a, 4, "batches", func(p Member) bool { return p.downs })

	a.GossipDown([]string{"e", "d", "e"})
	if n := a.d.downs.NumQueued(); n != 1 {
		t.Fatalf("%d notices queued for two members found together, want one batch", n)
	}
	waitFor(t, "b told of d and e by gossip", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(toldB) > 0
	})
	mu.Lock()
	first := slices.Sorted(slices.Values(toldB[0]))
	mu.Unlock()
	if !slices.Equal(first, []string{"d", "e"}) {
		t.Fatalf("b was told first of %v, want d and e together", first)
	}

	// A member from before batches: a notice each.
	a.d.downs.Reset()
	old, _ := startMemberWith(t, "old", p, func(c *Config) { c.beforeDowns = true })
	if _, err := old.Join(ctx, addrs[:1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a holds the old member alive", 10*time.Second, func() bool { return a.Alive("old") })
	a.GossipDown([]string{"c", "d"})
	msgs := a.d.GetBroadcasts(3, 1400)
	if len(msgs) != 2 || msgs[0][0] != downKind || msgs[1][0] != downKind {
		t.Fatalf("gossiped %d messages %x with a member from before batches alive, want a notice each", len(msgs), msgs)
	}
	if n := old.Stats().BadAdverts; n != 0 {
		t.Fatalf("the member from before batches counted %d unreadable messages", n)
	}
}

// startJoined starts a member for each of ids with the profile, edited by
// edit, and has each join all of them; it returns them by ID, and their
// addresses in the order of ids.
func startJoined(t *testing.T, p Profile, ids []string, edit func(id string, c *Config)) (map[string]*Membership, []netip.AddrPort) {
	t.Helper()
	members := map[string]*Membership{}
	var addrs []netip.AddrPort
	for _, id := range ids {
		m, addr := startMemberWith(t, id, p, func(c *Config) { edit(id, c) })
		members[id] = m
		addrs = append(addrs, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range members {
		if _, err := m.Join(ctx, addrs); err != nil {
			t.Fatal(err)
		}
	}
	return members, addrs
}

package membership

import (
	"context"
	"fmt"
	"net/netip"
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
	members := map[string]*Membership{}
	addrs := []netip.AddrPort{}
	for _, id := range []string{"a", "b", "c", "d"} {
		m, addr := startMemberWith(t, id, p, func(c *Config) { c.OnDown = told.onDown(id) })
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
	}
	m.GossipDown(ids)
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

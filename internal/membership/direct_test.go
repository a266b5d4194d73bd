package membership

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// With gossip silent, new metadata reaches every member by direct copies
// sent a batch at a time, one gossip interval apart; a newer update
// replaces a round under way, and every member ends with the newest.
func TestDirectAdvertsArePaced(t *testing.T) {
	silent := silentProfile()
	a, _ := startMember(t, "a", silent)
	const peers = 6
	others := make([]*Membership, peers)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range others {
		var addr netip.AddrPort
		others[i], addr = startMember(t, fmt.Sprintf("p%d", i), silent)
		if _, err := a.Join(ctx, []netip.AddrPort{addr}); err != nil {
			t.Fatal(err)
		}
	}
	const pace = 40 * time.Millisecond
	a.gossipMu.Lock()
	a.directBatch, a.pace = 2, pace
	a.gossipMu.Unlock()

	heard := func(m *Membership, want string) bool {
		for _, e := range m.Drain() {
			if e.Member.ID == "a" && string(e.Member.Meta) == want {
				return true
			}
		}
		return false
	}
	waitAll := func(want string) time.Duration {
		t.Helper()
		start := time.Now()
		got := make([]bool, peers)
		for {
			all := true
			for i, m := range others {
				got[i] = got[i] || heard(m, want)
				all = all && got[i]
			}
			if all {
				return time.Since(start)
			}
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				t.Fatalf("not every member heard %q: %v", want, got)
			}
		}
	}
	if err := a.SetMeta([]byte("a1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	took := waitAll("a1")
	// Three batches of two: the first at once, the last two paces later.
	if took < 2*pace-10*time.Millisecond {
		t.Fatalf("six copies in batches of two arrived after %v: not paced (%v apart)", took, pace)
	}
	if err := a.SetMeta([]byte("a2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.SetMeta([]byte("a3"), time.Hour); err != nil { // replaces the round of a2
		t.Fatal(err)
	}
	waitAll("a3")
	a.gossipMu.Lock()
	defer a.gossipMu.Unlock()
	if len(a.direct.rest) != 0 || a.direct.timer != nil {
		t.Fatalf("round not finished: %d copies left", len(a.direct.rest))
	}
}

// The direct copies are paced by Profile.Pace, not by memberlist's gossip
// interval: with gossip silent for an hour and a pace of 20 ms, six copies
// in batches of two reach every member within the test's bound (paced by
// the gossip interval, four of them would wait an hour).
func TestDirectAdvertsFollowThePaceNotTheGossip(t *testing.T) {
	p := silentProfile()
	p.Pace = 20 * time.Millisecond
	a, _ := startMember(t, "a", p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	others := make([]*Membership, 6)
	for i := range others {
		var addr netip.AddrPort
		others[i], addr = startMember(t, fmt.Sprintf("p%d", i), p)
		if _, err := a.Join(ctx, []netip.AddrPort{addr}); err != nil {
			t.Fatal(err)
		}
	}
	a.gossipMu.Lock()
	a.directBatch = 2
	a.gossipMu.Unlock()
	if err := a.SetMeta([]byte("a1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for i, m := range others {
		for heard := false; !heard; {
			for _, e := range m.Drain() {
				heard = heard || e.Member.ID == "a" && string(e.Member.Meta) == "a1"
			}
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				t.Fatalf("p%d did not hear a1: the copies are not paced by Pace", i)
			}
		}
	}
}

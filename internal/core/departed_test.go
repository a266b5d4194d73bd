package core

import (
	"fmt"
	"testing"
)

// A member incarnation that departs and comes back with an older record
// (memberlist's gossiped copy, published after the copies sent straight
// to the members) keeps the newer record it had before it departed; a
// newer advert then replaces it as usual.
func TestComingBackWithAnOlderRecordKeepsTheNewer(t *testing.T) {
	c, _, b, c3 := cluster3(t)
	v := c.View().ID
	stale := agreeing(b, v, 1)
	newer := advertised(stale, v, QuorumAdvert{Term: 1, Floor: 1, OK: true, Committed: true})
	c.Apply([]Input{{Kind: Alive, Member: newer}})
	if got := record(t, c, b.ID); got.AdvertSeq != newer.AdvertSeq {
		t.Fatalf("before the departure: seq %d, want %d", got.AdvertSeq, newer.AdvertSeq)
	}
	c.Apply([]Input{{Kind: Departed, Member: b}})
	c.Apply([]Input{{Kind: Alive, Member: stale}})
	got := record(t, c, b.ID)
	if got.AdvertSeq != newer.AdvertSeq || got.Quorum != newer.Quorum {
		t.Fatalf("back with an older record: seq %d quorum %+v, want the newer seq %d quorum %+v",
			got.AdvertSeq, got.Quorum, newer.AdvertSeq, newer.Quorum)
	}
	next := advertised(newer, v, QuorumAdvert{Term: 1, Floor: 2, Accept: 2, OK: true})
	c.Apply([]Input{{Kind: Alive, Member: next}})
	if got := record(t, c, b.ID); got.AdvertSeq != next.AdvertSeq {
		t.Fatalf("a newer advert after the return: seq %d, want %d", got.AdvertSeq, next.AdvertSeq)
	}

	// Another incarnation of the member's name is another member: its
	// record is its own, whatever its sequence number.
	c3b := member(c3.Name, c3.Incarnation+1)
	c.Apply([]Input{{Kind: Departed, Member: c3}, {Kind: Alive, Member: c3b}})
	if got := record(t, c, c3b.ID); got.ID != c3b.ID || got.AdvertSeq != 0 {
		t.Fatalf("a new incarnation's record: %+v", got)
	}
}

// The records of departed members are bounded.
func TestDepartedRecordsAreBounded(t *testing.T) {
	c, _, _, _ := cluster3(t)
	for i := range maxDeparted + 10 {
		m := member(fmt.Sprintf("x%d", i), 1)
		c.Apply([]Input{{Kind: Alive, Member: m}})
		c.Apply([]Input{{Kind: Departed, Member: m}})
		if len(c.departed) > maxDeparted {
			t.Fatalf("%d departed records kept, bound %d", len(c.departed), maxDeparted)
		}
	}
}

// record returns the core's record of the member id in its view.
func record(t *testing.T, c *Core, id string) Member {
	t.Helper()
	for _, m := range c.View().Members {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("%s is not in the view", id)
	return Member{}
}

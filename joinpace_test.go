package cloister

import (
	"testing"
	"time"
)

// A node alone joins at once and as often as it likes, and so does one
// making its first join with company; after that, a member of a view that
// misses many members waits joinPerMember per member after each join, so
// that a cluster of any size makes a bounded number of state exchanges a
// second; one that misses a few waits less.
func TestJoinPacerSpacesJoinsByViewSize(t *testing.T) {
	var p joinPacer
	t0 := time.Unix(1000, 0)
	if w := p.wait(t0, 1, 49, false); w != 0 {
		t.Fatalf("first join waits %v, want 0", w)
	}
	for range 3 { // alone: refused, or the others are not up yet
		p.started(t0, 1)
		if w := p.wait(t0, 1, 49, false); w != 0 {
			t.Fatalf("a node alone waits %v after a join, want 0", w)
		}
	}
	if w := p.wait(t0, 42, 8, false); w != 0 {
		t.Fatalf("first join with company waits %v, want 0", w)
	}
	p.started(t0, 42)
	if w, want := p.wait(t0.Add(100*time.Millisecond), 42, 8, false), 42*joinPerMember-100*time.Millisecond; w != want {
		t.Fatalf("view of 42 missing 8, 100 ms after its second join: waits %v, want %v", w, want)
	}
	if w, want := p.wait(t0.Add(time.Second), 100, 50, false), 100*joinPerMember-time.Second; w != want {
		t.Fatalf("view of 100, 1 s after a join: waits %v, want %v", w, want)
	}
	if w := p.wait(t0.Add(100*joinPerMember), 100, 50, false); w != 0 {
		t.Fatalf("view of 100, its whole gap after a join: waits %v, want 0", w)
	}
	// Cluster-wide: N members each joining once per gap make N/gap =
	// 1/joinPerMember joins a second, whatever N.
	for _, n := range []int{10, 100, 1000} {
		perSecond := float64(n) / joinGap(n, n/2).Seconds()
		if want := 1 / joinPerMember.Seconds(); perSecond != want {
			t.Fatalf("view of %d: %.1f joins a second cluster-wide, want %.1f", n, perSecond, want)
		}
	}
	// The odd one out: one member missing from a view of 1,000.
	if w, want := p.wait(t0, 1000, 1, false), missPace*joinPerMember; w != want {
		t.Fatalf("view of 1000 missing 1, at the join: waits %v, want %v", w, want)
	}
	// A join toward members heard of waits joinPerMember per member
	// missing, a tenth of the gap, at most a tenth of the view.
	for _, c := range []struct {
		members, missing int
		want             time.Duration
	}{
		{50, 2, 2 * joinPerMember},
		{47, 3, 3 * joinPerMember},
		{50, 30, 5 * joinPerMember},
		{10, 7, joinPerMember},
	} {
		if w := p.wait(t0, c.members, c.missing, true); w != c.want {
			t.Fatalf("view of %d missing %d, heard of them, at the join: waits %v, want %v", c.members, c.missing, w, c.want)
		}
	}
}

// A node that is not Ready rejoins the addresses it misses one gossip
// interval per member of its view after its last join started, while its
// view has fewer than rejoinGossips members: the last of ten processes to
// start, which joined one that knew two others, rejoins as soon as 60 ms
// (with LAN) have passed since that join started, not 200 ms after it
// ended. A larger view waits the ten intervals from now, however long ago
// its last join started.
func TestRejoinWaitGrowsWithTheView(t *testing.T) {
	gossip := 20 * time.Millisecond
	last := time.Unix(1000, 0)
	for _, c := range []struct {
		members int
		since   time.Duration // since the last join started
		want    time.Duration
	}{
		{0, 0, 20 * time.Millisecond},
		{1, 5 * time.Millisecond, 15 * time.Millisecond},
		{3, 0, 60 * time.Millisecond},
		{3, 40 * time.Millisecond, 20 * time.Millisecond},
		{3, 82 * time.Millisecond, 0}, // the join took longer than the wait: at once
		{9, 0, 180 * time.Millisecond},
		{10, 0, 200 * time.Millisecond},
		{10, time.Second, 200 * time.Millisecond},
		{500, time.Second, 200 * time.Millisecond},
	} {
		if got := rejoinWait(last.Add(c.since), last, c.members, gossip); got != c.want {
			t.Errorf("rejoinWait(%d members, %v after the last join) = %v, want %v", c.members, c.since, got, c.want)
		}
	}
}

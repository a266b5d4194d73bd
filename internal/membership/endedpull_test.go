package membership

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// A member asked which members it found ended answers with a batch naming
// them, which the asker hands to its down notices' receiver: only members
// it holds alive itself.
func TestPullEndedGetsTheMembersFoundEnded(t *testing.T) {
	var mu sync.Mutex
	var told []string
	a, _ := startMemberWith(t, "a", silentProfile(), func(c *Config) {
		c.OnDown = func(ms []Member) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				told = append(told, m.ID)
			}
		}
	})
	b, bAddr := startMember(t, "b", silentProfile())
	c, cAddr := startMember(t, "c", silentProfile())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range []*Membership{a, c} {
		if _, err := m.Join(ctx, []netip.AddrPort{bAddr}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Join(ctx, []netip.AddrPort{cAddr}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a and b hold everybody alive", 10*time.Second, func() bool {
		return a.Alive("b") && a.Alive("c") && b.Alive("a") && b.Alive("c")
	})
	if n := a.PullEnded([]string{"b"}); n != 1 {
		t.Fatalf("asked %d members, want 1", n)
	}
	waitFor(t, "b's ask left unanswered", 10*time.Second, func() bool { return b.Stats().EndedPullsEmpty == 1 })

	b.Ended([]string{"c", "stranger"})
	if n := a.PullEnded([]string{"b", "stranger"}); n != 1 {
		t.Fatalf("asked %d members, want 1 (b; a stranger is not asked)", n)
	}
	waitFor(t, "b's answer", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(told) > 0
	})
	mu.Lock()
	got := slices.Clone(told)
	mu.Unlock()
	if !slices.Equal(got, []string{"c"}) {
		t.Fatalf("a was told of %v, want [c]", got)
	}
	if s := b.Stats(); s.EndedPullsAnswered != 1 || s.EndedPullsDropped != 0 || s.EndedPullsEmpty != 1 {
		t.Fatalf("b answered %d, dropped %d and left %d unanswered, want 1, 0 and 1", s.EndedPullsAnswered, s.EndedPullsDropped, s.EndedPullsEmpty)
	}
	if s := a.Stats(); s.EndedPullsSent != 2 {
		t.Fatalf("a sent %d pulls of endings, want 2", s.EndedPullsSent)
	}
	// A member this member found ended is not asked.
	a.Ended([]string{"b"})
	if n := a.PullEnded([]string{"b"}); n != 0 {
		t.Fatalf("asked %d members found ended, want 0", n)
	}
}

// A pull of endings is answered only for a member held alive, with one
// batch at most, within the pulls' rate; garbage is counted as
// unreadable.
func TestPullEndedAnsweredOnlyForLiveMembersWithOneBatch(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	var answers [][]string
	d.answer = func(to Member, msg []byte) {
		ids, ok := decodeDowns(msg)
		if !ok || to.ID != "b" {
			t.Fatalf("answer %q to %s, want a batch of down notices to b", msg, to.ID)
		}
		answers = append(answers, ids)
	}
	d.NotifyJoin(&memberlist.Node{Name: "b", Addr: net.IPv4(127, 0, 0, 1), Port: 7001, DMax: endedPullWire})
	var many []string
	for i := range 200 { // more than one batch holds
		id := "member-with-a-rather-long-name-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		many = append(many, id)
		d.NotifyJoin(&memberlist.Node{Name: id, Addr: net.IPv4(127, 0, 0, 2), Port: uint16(7000 + i), DMax: endedPullWire})
		d.ended[id] = struct{}{}
	}
	d.NotifyMsg(encodeID(endedPullKind, "stranger"))
	d.NotifyMsg(encodeID(endedPullKind, "a"))  // this member
	d.NotifyMsg([]byte{endedPullKind, 9, 'b'}) // truncated
	d.NotifyMsg(encodeID(endedPullKind, "b"))
	if len(answers) != 1 {
		t.Fatalf("%d answers, want 1", len(answers))
	}
	if n := len(answers[0]); n == 0 || n == len(many) || !slices.IsSorted(answers[0]) {
		t.Fatalf("answer named %d members (sorted: %v), want a sorted part of the %d that fits one batch", n, slices.IsSorted(answers[0]), len(many))
	}
	// Asked again, it answers with other parts too: the asker gets them all.
	told := map[string]bool{}
	for range 100 { // six batches: each missed by all 100 with odds of 1e-8
		d.NotifyMsg(encodeID(endedPullKind, "b"))
	}
	for _, a := range answers {
		for _, id := range a {
			told[id] = true
		}
	}
	if len(told) != len(many) {
		t.Fatalf("101 answers named %d of the %d members found ended, want all", len(told), len(many))
	}
	answers = answers[:1]
	d.endedPullsAnswered.Store(1)
	if d.endedPullsDropped.Load() != 2 || d.badAdverts.Load() != 1 || d.endedPullsAnswered.Load() != 1 {
		t.Fatalf("dropped %d, unreadable %d, answered %d; want 2, 1 and 1", d.endedPullsDropped.Load(), d.badAdverts.Load(), d.endedPullsAnswered.Load())
	}
	start := time.Now()
	for range 2 * maxPullAnswers {
		d.NotifyMsg(encodeID(endedPullKind, "b"))
	}
	refilled := int(time.Since(start).Seconds()*maxPullAnswers) + 1
	if n := len(answers); n > maxPullAnswers+refilled {
		t.Fatalf("answered %d pulls at once, want at most %d and what refilled meanwhile (%d)", n, maxPullAnswers, refilled)
	}
}

// A member from before pulls of endings is never asked; one that is asked
// anyway counts the pull as unreadable.
func TestNodesFromBeforeEndedPullsAreNotAsked(t *testing.T) {
	a, _ := startMember(t, "a", silentProfile())
	old, oldAddr := startMemberWith(t, "old", silentProfile(), func(c *Config) { c.beforeEndedPulls = true })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Join(ctx, []netip.AddrPort{oldAddr}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a holds old alive", 10*time.Second, func() bool { return a.Alive("old") })
	if n := a.PullEnded([]string{"old"}); n != 0 {
		t.Fatalf("asked %d members from before pulls of endings, want 0", n)
	}
	old.d.NotifyMsg(encodeID(endedPullKind, "a"))
	if s := old.Stats(); s.BadAdverts != 1 || s.EndedPullsAnswered+s.EndedPullsEmpty != 0 {
		t.Fatalf("a node from before pulls of endings counted %d unreadable and took %d, want 1 and 0", s.BadAdverts, s.EndedPullsAnswered+s.EndedPullsEmpty)
	}
}

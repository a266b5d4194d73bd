package membership

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// A member asked for its advert answers with its current one, which the
// asker queues as the member's update; nothing else is sent (b's metadata
// changed without an advert of its own).
func TestPullGetsTheCurrentAdvert(t *testing.T) {
	a, b, _, _ := startPair(t, silentProfile())
	// b answers only a member it holds alive.
	waitFor(t, "a and b hold each other alive", 10*time.Second, func() bool { return a.Alive("b") && b.Alive("a") })
	a.Drain()
	if err := b.storeMeta([]byte("b-new")); err != nil {
		t.Fatal(err)
	}
	if n := a.Pull([]string{"b", "stranger"}); n != 1 {
		t.Fatalf("asked %d members, want 1 (b; a stranger is not asked)", n)
	}
	var got []byte
	waitFor(t, "b's answer", 10*time.Second, func() bool {
		for _, e := range a.Drain() {
			if e.Kind == Updated && e.Member.ID == "b" {
				got = e.Member.Meta
			}
		}
		return got != nil
	})
	if string(got) != "b-new" {
		t.Fatalf("answer carried %q, want b-new", got)
	}
	if s := b.Stats(); s.PullsAnswered != 1 || s.PullsDropped != 0 {
		t.Fatalf("b answered %d pulls and dropped %d, want 1 and 0", s.PullsAnswered, s.PullsDropped)
	}
	if s := a.Stats(); s.PullsSent != 1 {
		t.Fatalf("a sent %d pulls, want 1", s.PullsSent)
	}
}

// A pull is answered only for a member held alive, at most
// maxPullAnswers at once; garbage is counted as unreadable.
func TestPullAnsweredOnlyForLiveMembersAndAtARate(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	d.meta = func() []byte { return []byte("a-meta") }
	var answered []string
	d.answer = func(to Member, msg []byte) {
		id, meta, err := decodeAdvert(msg)
		if err != nil || id != "a" || string(meta) != "a-meta" {
			t.Fatalf("answer %q %q %v, want a's advert", id, meta, err)
		}
		answered = append(answered, to.ID)
	}
	d.NotifyMsg(encodeID(pullKind, "b")) // not a member yet
	d.NotifyJoin(&memberlist.Node{Name: "b", Addr: net.IPv4(127, 0, 0, 1), Port: 7001, DMax: pullWire})
	d.NotifyMsg(encodeID(pullKind, "b"))
	d.NotifyMsg(encodeID(pullKind, "a"))  // this member
	d.NotifyMsg([]byte{pullKind, 9, 'b'}) // truncated
	if len(answered) != 1 || answered[0] != "b" {
		t.Fatalf("answered %v, want [b]", answered)
	}
	if d.pullsDropped.Load() != 2 || d.badAdverts.Load() != 1 {
		t.Fatalf("dropped %d pulls and counted %d unreadable, want 2 and 1", d.pullsDropped.Load(), d.badAdverts.Load())
	}
	for range 2 * maxPullAnswers {
		d.NotifyMsg(encodeID(pullKind, "b"))
	}
	if n := len(answered); n > maxPullAnswers+2 { // plus what refilled meanwhile
		t.Fatalf("answered %d pulls at once, want at most about %d", n, maxPullAnswers)
	}
}

// The answers refill at maxPullAnswers a second.
func TestPullAnswerRate(t *testing.T) {
	b := newPullAnswers()
	now := time.Now()
	n := 0
	for b.AllowN(now, 1) {
		n++
	}
	if n != maxPullAnswers {
		t.Fatalf("%d answers at once, want %d", n, maxPullAnswers)
	}
	refilled := 0
	for b.AllowN(now.Add(10*time.Millisecond), 1) {
		refilled++
	}
	if refilled != 2 { // 2.56 answers in 10 ms
		t.Fatalf("%d answers 10 ms later, want 2", refilled)
	}
}

// A member from before pulls is never asked; one that is asked anyway
// counts the pull as unreadable.
func TestNodesFromBeforePullsAreNotAsked(t *testing.T) {
	a, _ := startMember(t, "a", silentProfile())
	old, oldAddr := startMemberWith(t, "old", silentProfile(), func(c *Config) { c.beforePulls = true })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Join(ctx, []netip.AddrPort{oldAddr}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a holds old alive", 10*time.Second, func() bool { return a.Alive("old") })
	if n := a.Pull([]string{"old"}); n != 0 {
		t.Fatalf("asked %d members from before pulls, want 0", n)
	}
	old.d.NotifyMsg(encodeID(pullKind, "a"))
	if s := old.Stats(); s.BadAdverts != 1 || s.PullsAnswered != 0 {
		t.Fatalf("a node from before pulls counted %d unreadable and answered %d, want 1 and 0", s.BadAdverts, s.PullsAnswered)
	}
}

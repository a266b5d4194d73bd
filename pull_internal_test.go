package cloister

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A member whose advert looks behind (another view, or not accepting this
// node's term) is asked after the wait, then twice as late each time, and
// forgotten once its advert catches up; nothing is asked while the node
// does not wait for adverts.
func TestPullPlan(t *testing.T) {
	const after = time.Second
	now := time.Unix(1000, 0)
	snap := func(state State, members ...Member) *Snapshot {
		s := &Snapshot{State: state, Consensus: 3, Self: Member{ID: "a"}, View: View{ID: 7, Members: members}}
		s.advert.Quorum.Accept = 2
		return s
	}
	self := Member{ID: "a", ViewID: 7, accept: 2}
	current := Member{ID: "b", ViewID: 7, accept: 2}
	ahead := Member{ID: "d", ViewID: 7, accept: 3}
	otherView := Member{ID: "c", ViewID: 6, accept: 2}
	notAccepting := Member{ID: "c", ViewID: 7, accept: 1}

	var p pullPlan
	ask := func(s *Snapshot, at time.Duration) string { return fmt.Sprint(p.due(s, now.Add(at), after)) }
	rehashing := snap(Rehashing, self, current, otherView, ahead)
	for _, c := range []struct {
		at   time.Duration
		want string
	}{
		{0, "[]"}, // behind since now: wait
		{999 * time.Millisecond, "[]"},
		{after, "[c]"},    // waited: ask
		{2 * after, "[]"}, // next ask 2 s after the first
		{3 * after, "[c]"},
		{6 * after, "[]"}, // then 4 s later
		{7 * after, "[c]"},
	} {
		if got := ask(rehashing, c.at); got != c.want {
			t.Fatalf("at %v: asked %s, want %s", c.at, got, c.want)
		}
	}
	// Its record changed (it now is on this view but does not accept this
	// node's term yet): the wait starts again.
	changed := snap(Rehashing, self, current, notAccepting, ahead)
	if got := ask(changed, 8*after); got != "[]" {
		t.Fatalf("right after its record changed: asked %s, want []", got)
	}
	if got := ask(changed, 9*after); got != "[c]" {
		t.Fatalf("a wait after its record changed: asked %s, want [c]", got)
	}
	// Caught up: forgotten.
	if got := ask(snap(Rehashing, self, current, ahead), 10*after); got != "[]" || len(p.behind) != 0 {
		t.Fatalf("caught up: asked %s, %d remembered", got, len(p.behind))
	}
	// Ready: nothing to wait for.
	p.due(rehashing, now.Add(11*after), after)
	if got := ask(snap(Ready, self, current, otherView), 20*after); got != "[]" || len(p.behind) != 0 {
		t.Fatalf("Ready: asked %s, %d remembered", got, len(p.behind))
	}
	// More than a tenth behind (a view still being assembled, or just
	// changed): nobody is asked.
	if got := ask(snap(Rehashing, self, otherView, Member{ID: "e", ViewID: 5}), 25*after); got != "[]" || len(p.behind) != 0 {
		t.Fatalf("two of two behind: asked %s, %d remembered", got, len(p.behind))
	}
	// Assembling below consensus: nothing either.
	if got := ask(snap(Assembling, self, otherView), 30*after); got != "[]" {
		t.Fatalf("Assembling on 2 of 3: asked %s", got)
	}
}

// At most maxPullsPerTick members are asked at once; the rest next time.
func TestPullPlanBounded(t *testing.T) {
	s := &Snapshot{State: Rehashing, Self: Member{ID: "self"}, View: View{ID: 7}}
	for i := range 3 * maxPullsPerTick { // behind
		s.View.Members = append(s.View.Members, Member{ID: fmt.Sprint(i), ViewID: 6})
	}
	for i := range 10 * 3 * maxPullsPerTick { // on this view: nearly agreed
		s.View.Members = append(s.View.Members, Member{ID: fmt.Sprint("on", i), ViewID: 7})
	}
	var p pullPlan
	now := time.Unix(1000, 0)
	p.due(s, now, time.Second)
	first := p.due(s, now.Add(time.Second), time.Second)
	second := p.due(s, now.Add(time.Second+pullTick), time.Second)
	if len(first) != maxPullsPerTick || len(second) != maxPullsPerTick {
		t.Fatalf("asked %d then %d, want %d each", len(first), len(second), maxPullsPerTick)
	}
}

// The pull loop sleeps while its node does not wait for adverts (Ready):
// no tick, only the snapshot's next change wakes it, and it goes on once
// the node waits for adverts again.
func TestPullLoopSleepsWhileNotWaiting(t *testing.T) {
	n := &Node{changed: make(chan struct{})}
	n.snap.Store(&Snapshot{State: Ready, Consensus: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 3*pullTick/2)
	slept, err := n.awaitWaitingForAdverts(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ready: woke with nothing to wait for (slept %v, err %v)", slept, err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	result := make(chan error, 1)
	go func() {
		slept, err := n.awaitWaitingForAdverts(ctx)
		if err == nil && !slept {
			err = errors.New("returned without sleeping")
		}
		result <- err
	}()
	change := func(s *Snapshot) {
		n.snap.Store(s)
		n.changeMu.Lock()
		close(n.changed)
		n.changed = make(chan struct{})
		n.changeMu.Unlock()
	}
	change(&Snapshot{State: Ready, Consensus: 1, View: View{ID: 2}}) // still Ready: sleeps on
	select {
	case err := <-result:
		t.Fatalf("woke on a change to another Ready snapshot: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	change(&Snapshot{State: Rehashing, Consensus: 1, View: View{ID: 3}})
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if slept, err := n.awaitWaitingForAdverts(ctx); slept || err != nil {
		t.Fatalf("already Rehashing: slept %v, err %v", slept, err)
	}
}

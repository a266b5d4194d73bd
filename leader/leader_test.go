package leader_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/leader"
)

// singletonCluster is a cluster whose nodes all register one recorded
// singleton, "job".
func singletonCluster(t *testing.T, n int, seed uint64) (*testCluster, *runLog) {
	log := &runLog{}
	tc := newTestCluster(t, n, seed, func(i int, s *leader.Service) {
		if err := s.Singleton("job", log.singleton(nodeName(i))); err != nil {
			t.Error(err)
		}
	})
	return tc, log
}

func nodeName(i int) string { return "node" + string(rune('0'+i)) }

// waitOneRunning waits until exactly one instance runs, on the node every
// live node names leader, and returns that node's index.
func waitOneRunning(tc *testCluster, log *runLog) int {
	tc.t.Helper()
	var at int
	tc.WaitFor("one leader named by all, its singleton running", func() bool {
		m, _, ok := tc.agreedLeader(tc.live())
		if !ok {
			return false
		}
		at = tc.indexOf(m.ID)
		r := log.running()
		return at >= 0 && len(r) == 1 && r[0].node == nodeName(at) && tc.svc(at).Running("job")
	})
	return at
}

func TestLeaderKillHandsOver(t *testing.T) {
	tc, log := singletonCluster(t, 5, 1)
	first := waitOneRunning(tc, log)
	_, term1, _ := tc.svc(first).Leader()
	oldest := tc.Node(first).Self()
	for _, m := range tc.Node(first).Members() {
		if m.Incarnation < oldest.Incarnation {
			t.Errorf("leader %s is not the oldest member: %s is older", oldest.Name, m.Name)
		}
	}
	watcher := (first + 1) % 5
	changes, unsubscribe := tc.svc(watcher).Subscribe(16)
	defer unsubscribe()
	tc.Kill(first)
	second := waitOneRunning(tc, log)
	_, term2, _ := tc.svc(second).Leader()
	if second == first || term2 <= term1 {
		t.Errorf("after the kill: leader %d at term %d, before %d at term %d", second, term2, first, term1)
	}
	// A subscriber heard the change: from the old leader to none (the
	// view change), then to the new one at its term.
	want := tc.Node(second).Self().ID
	for heard := false; !heard; {
		select {
		case e := <-changes:
			heard = e.New.ID == want && e.Term == term2
		default:
			t.Fatal("the subscriber did not hear the new leader")
		}
	}
	log.checkNoOverlap(t)
	t.Logf("runs:\n%s", log)
}

func TestLeaderLeaveHandsOverWithoutMargin(t *testing.T) {
	tc, log := singletonCluster(t, 3, 2)
	first := waitOneRunning(tc, log)
	_, margin := tc.svc(first).Lease()
	stopped := time.Now()
	tc.Stop(first) // the service resigns before the leave (BeforeStop)
	second := waitOneRunning(tc, log)
	gap := log.running()[0].start.Sub(stopped)
	t.Logf("graceful handover from node %d to %d: %v (margin %v)", first, second, gap, margin)
	if gap >= margin {
		t.Errorf("graceful handover took %v, not less than the margin %v", gap, margin)
	}
	log.checkNoOverlap(t)
}

// Scenario 21: a majority crashes: the remaining two have no quorum and
// name no leader; nothing runs; when one returns, quorum and a leader
// are back. The three are frozen (Pause) rather than killed: a restarted
// member is a new incarnation, which does not count for its predecessor
// in the quorum's reference (see cloister.KeepMajority), so only the
// return of a member of the reference restores quorum.
func TestMajorityCrashNoLeader(t *testing.T) {
	tc, log := singletonCluster(t, 5, 3)
	at := waitOneRunning(tc, log)
	var crashed, kept []int
	crashed = append(crashed, at)
	for i := range 5 {
		if i != at && len(crashed) < 3 {
			crashed = append(crashed, i)
		} else if i != at {
			kept = append(kept, i)
		}
	}
	for _, i := range crashed {
		tc.Pause(i)
	}
	tc.WaitFor("the two left NoQuorum, naming no leader, nothing running", func() bool {
		for _, i := range kept {
			if tc.Node(i).State() != cloister.NoQuorum {
				return false
			}
			if _, _, ok := tc.svc(i).Leader(); ok {
				return false
			}
		}
		return len(log.running()) == 0
	})
	tc.Unpause(crashed[1])
	back := append([]int{crashed[1]}, kept...)
	tc.WaitFor("a leader named by the three, its singleton running", func() bool {
		m, _, ok := tc.agreedLeader(back)
		r := log.running()
		return ok && len(r) == 1 && r[0].node == nodeName(tc.indexOf(m.ID))
	})
	log.checkNoOverlap(t)
}

// Scenario 8: the leader is paused longer than the failure timeout: a new
// leader is named at a higher term; on waking, the old one finds its
// context done before it acts, its fenced calls with the old term are
// rejected with ErrStaleTerm, and it rejoins without a restart.
func TestPausedLeaderIsFenced(t *testing.T) {
	tc, log := singletonCluster(t, 5, 4)
	fenced := make(chan error, 16)
	for i := range 5 {
		s := tc.svc(i)
		if err := tc.Node(i).Handle("write", s.Fenced(func(ctx context.Context, _ cloister.Member, body []byte) ([]byte, error) {
			return body, nil
		})); err != nil {
			t.Fatal(err)
		}
	}
	_ = fenced
	old := waitOneRunning(tc, log)
	_, oldTerm, _ := tc.svc(old).Leader()
	oldSelf := tc.Node(old).Self()
	var peer cloister.Member
	for _, m := range tc.Node(old).Members() {
		if m.ID != oldSelf.ID {
			peer = m
			break
		}
	}
	tc.Pause(old)
	var others []int
	for i := range 5 {
		if i != old {
			others = append(others, i)
		}
	}
	tc.WaitFor("a new leader named by the other four, its singleton running", func() bool {
		m, term, ok := tc.agreedLeader(others)
		if !ok || m.ID == oldSelf.ID || term <= oldTerm {
			return false
		}
		r := log.running()
		return len(r) == 1 && r[0].node == nodeName(tc.indexOf(m.ID))
	})
	// The old leader's singleton ended on its own timer (its lease),
	// before the new one started.
	log.checkNoOverlap(t)
	if tc.svc(old).IsLeader() {
		t.Error("the paused leader still thinks it leads")
	}
	// On waking, a call it sends with its old term is rejected.
	tc.Unpause(old)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A connection the peer closed while this node was paused fails the
	// first send (ErrNotSent: nothing was delivered); a caller retries it.
	_, err := leader.FencedCall(ctx, tc.Node(old), peer, "write", oldTerm, []byte("late"))
	for errors.Is(err, cloister.ErrNotSent) && ctx.Err() == nil {
		_, err = leader.FencedCall(ctx, tc.Node(old), peer, "write", oldTerm, []byte("late"))
	}
	if !errors.Is(err, leader.ErrStaleTerm) {
		t.Errorf("the old leader's late write with term %d: got %v, want ErrStaleTerm", oldTerm, err)
	}
	// It rejoins without a restart.
	tc.WaitAllReady()
	if tc.Node(old).Self().ID != oldSelf.ID {
		t.Error("the old leader was restarted")
	}
	waitOneRunning(tc, log)
	log.checkNoOverlap(t)
	t.Logf("runs:\n%s", log)
}

// Scenario 1 with a singleton: a 2|3 partition, the leader on the 2-side.
// The 2-side names no leader and its singleton stops; the 3-side names
// one at a higher term and runs the singleton there; after the heal, one
// leader and one singleton. The singleton's own run records never
// overlap.
func TestPartitionSingletonNeverTwice(t *testing.T) {
	tc, log := singletonCluster(t, 5, 5)
	at := waitOneRunning(tc, log)
	_, term1, _ := tc.svc(at).Leader()
	small := []int{at}
	var big []int
	for i := range 5 {
		switch {
		case i == at:
		case len(small) < 2:
			small = append(small, i)
		default:
			big = append(big, i)
		}
	}
	tc.Partition(small, big)
	tc.WaitFor("the 2-side without a leader, the 3-side with one and its singleton", func() bool {
		for _, i := range small {
			if _, _, ok := tc.svc(i).Leader(); ok {
				return false
			}
		}
		m, term, ok := tc.agreedLeader(big)
		r := log.running()
		return ok && term > term1 && len(r) == 1 && r[0].node == nodeName(tc.indexOf(m.ID))
	})
	tc.Heal()
	waitOneRunning(tc, log)
	tc.WaitAllReady()
	log.checkNoOverlap(t)
	t.Logf("runs:\n%s", log)
}

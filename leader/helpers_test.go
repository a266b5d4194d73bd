package leader_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/leader"
)

// testCluster is a cloistertest cluster with a leader service on every
// node; a node restarted gets a new service.
type testCluster struct {
	*cloistertest.Cluster
	t    testing.TB
	mu   sync.Mutex
	svcs map[int]*leader.Service
	// setup, when set, runs on every new service (register singletons).
	setup func(i int, s *leader.Service)
}

func newTestCluster(t testing.TB, n int, seed uint64, setup func(i int, s *leader.Service), opts ...cloistertest.Option) *testCluster {
	return newTestClusterConfig(t, n, seed, setup, nil, opts...)
}

// newTestClusterConfig is newTestCluster with a change to each node's Config.
func newTestClusterConfig(t testing.TB, n int, seed uint64, setup func(i int, s *leader.Service), cfg func(i int, c *cloister.Config), opts ...cloistertest.Option) *testCluster {
	tc := &testCluster{t: t, svcs: map[int]*leader.Service{}, setup: setup}
	configure := cloistertest.WithConfig(func(i int, c *cloister.Config) {
		if cfg != nil {
			cfg(i, c)
		}
		s := leader.New(leader.Config{})
		if tc.setup != nil {
			tc.setup(i, s)
		}
		tc.mu.Lock()
		tc.svcs[i] = s
		tc.mu.Unlock()
		c.Services = append(c.Services, s)
	})
	all := append([]cloistertest.Option{cloistertest.WithMemNet(seed), configure}, opts...)
	tc.Cluster = cloistertest.New(t, n, all...)
	return tc
}

// svc is node i's current service.
func (tc *testCluster) svc(i int) *leader.Service {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.svcs[i]
}

// live returns the indexes of the live nodes.
func (tc *testCluster) live() []int {
	var out []int
	nodes := map[*cloister.Node]bool{}
	for _, n := range tc.Nodes() {
		nodes[n] = true
	}
	for i := range tc.Len() {
		if nodes[tc.Node(i)] {
			out = append(out, i)
		}
	}
	return out
}

// agreedLeader reports the leader every node in idx names, with its term,
// when they all name the same one.
func (tc *testCluster) agreedLeader(idx []int) (cloister.Member, leader.Term, bool) {
	var first cloister.Member
	var term leader.Term
	for k, i := range idx {
		m, t, ok := tc.svc(i).Leader()
		if !ok {
			return cloister.Member{}, 0, false
		}
		if k == 0 {
			first, term = m, t
		} else if m.ID != first.ID || t != term {
			return cloister.Member{}, 0, false
		}
	}
	return first, term, len(idx) > 0
}

// indexOf is the index of the node whose member ID is id, or -1.
func (tc *testCluster) indexOf(id string) int {
	for _, i := range tc.live() {
		if tc.Node(i).Self().ID == id {
			return i
		}
	}
	return -1
}

// interval is one run of a singleton instance, as it recorded itself.
type interval struct {
	node       string
	term       leader.Term
	start, end time.Time
	ended      bool
}

// runLog records singleton runs.
type runLog struct {
	mu   sync.Mutex
	runs []*interval
}

// singleton returns a singleton function that records its run on node
// and runs until its context ends.
func (l *runLog) singleton(node string) func(ctx context.Context, term leader.Term) error {
	return func(ctx context.Context, term leader.Term) error {
		iv := &interval{node: node, term: term, start: time.Now()}
		l.mu.Lock()
		l.runs = append(l.runs, iv)
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		iv.end, iv.ended = time.Now(), true
		l.mu.Unlock()
		return nil
	}
}

// running returns the runs not ended.
func (l *runLog) running() []interval {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []interval
	for _, r := range l.runs {
		if !r.ended {
			out = append(out, *r)
		}
	}
	return out
}

// checkNoOverlap fails the test when two runs overlapped in time, or a
// later run carried a term not above an earlier one's.
func (l *runLog) checkNoOverlap(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	runs := make([]interval, len(l.runs))
	for i, r := range l.runs {
		runs[i] = *r
		if !r.ended {
			runs[i].end = time.Now().Add(time.Hour)
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].start.Before(runs[j].start) })
	for i := 1; i < len(runs); i++ {
		a, b := runs[i-1], runs[i]
		if b.start.Before(a.end) {
			t.Errorf("two singletons ran at once: %s (term %d) %v..%v and %s (term %d) from %v",
				a.node, a.term, a.start.Format("15:04:05.000"), a.end.Format("15:04:05.000"), b.node, b.term, b.start.Format("15:04:05.000"))
		}
		if b.node != a.node && b.term <= a.term {
			t.Errorf("run on %s at term %d after run on %s at term %d", b.node, b.term, a.node, a.term)
		}
	}
}

func (l *runLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := ""
	for _, r := range l.runs {
		out += fmt.Sprintf("%s t%d %s..", r.node, r.term, r.start.Format("05.000"))
		if r.ended {
			out += r.end.Format("05.000")
		}
		out += "\n"
	}
	return out
}

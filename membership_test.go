package cloister_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// recorder is a listener that keeps every event it hears.
type recorder struct {
	mu     sync.Mutex
	events []cloister.Event
	states []string
}

func (r *recorder) OnStateChange(from, to cloister.State, _ cloister.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, from.String()+"->"+to.String())
}

func (r *recorder) OnEvent(e cloister.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) downs() []*cloister.MemberDown {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*cloister.MemberDown
	for _, e := range r.events {
		if d, ok := e.(*cloister.MemberDown); ok {
			out = append(out, d)
		}
	}
	return out
}

// count returns how often the member incarnation was reported down and up.
func (r *recorder) count(id string) (downs, ups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		switch e := e.(type) {
		case *cloister.MemberDown:
			if e.Member.ID == id {
				downs++
			}
		case *cloister.MemberUp:
			if e.Member.ID == id {
				ups++
			}
		}
	}
	return downs, ups
}

// differs counts the RingConfigDiffers events about the member incarnation.
func (r *recorder) differs(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if d, ok := e.(*cloister.RingConfigDiffers); ok && d.Member.ID == id {
			n++
		}
	}
	return n
}

// mark returns how many events the recorder has heard, for readyAt.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// readyAt reports whether a change to Ready at the term was heard after
// the first from events.
func (r *recorder) readyAt(term uint64, from int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events[from:] {
		if s, ok := e.(*cloister.StateChanged); ok && s.To == cloister.Ready && s.Snapshot.Term == term {
			return true
		}
	}
	return false
}

// transitions describes the state changes heard after the first from
// events, with each one's term and view size, for failure messages.
func (r *recorder) transitions(from int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events[from:] {
		switch e := e.(type) {
		case *cloister.StateChanged:
			fmt.Fprintf(&b, " %v->%v(term %d, %d members)", e.From, e.To, e.Snapshot.Term, len(e.Snapshot.View.Members))
		case *cloister.MemberDown:
			fmt.Fprintf(&b, " down(%s)", e.Member.Name)
		case *cloister.MemberUp:
			fmt.Fprintf(&b, " up(%s)", e.Member.Name)
		}
	}
	return b.String()
}

func (r *recorder) stateLog() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.states)
}

func withRecorders(rs []*recorder) cloistertest.Option {
	return cloistertest.WithConfig(func(i int, c *cloister.Config) {
		if i < len(rs) {
			c.Listeners = append(c.Listeners, rs[i])
		}
	})
}

// waitHeard waits until the listeners of the given nodes have heard want
// as their latest state change: listeners run on their own goroutines, so
// a node can be Ready before its listener has been told.
func waitHeard(c *cloistertest.Cluster, rs []*recorder, want string, nodes ...int) {
	c.WaitFor("listeners told "+want, func() bool {
		for _, i := range nodes {
			log := rs[i].stateLog()
			if len(log) == 0 || log[len(log)-1] != want {
				return false
			}
		}
		return true
	})
}

func newRecorders(n int) []*recorder {
	rs := make([]*recorder, n)
	for i := range rs {
		rs[i] = &recorder{}
	}
	return rs
}

func TestKilledNodeIsDetectedAndClusterRecovers(t *testing.T) {
	rs := newRecorders(3)
	c := cloistertest.New(t, 3, cloistertest.WithConsensus(2), withRecorders(rs))
	killed := c.Node(2).Self()
	start := time.Now()
	c.Kill(2)
	took := c.WaitFor("survivors Ready with 2 members", c.Agreed)
	t.Logf("crash detected and view agreed %v after kill", took)
	waitHeard(c, rs, "rehashing->ready", 0, 1)
	for i := range 2 {
		downs := rs[i].downs()
		if len(downs) != 1 || downs[0].Member.ID != killed.ID || downs[0].Reason != cloister.Failed {
			t.Fatalf("node %d: downs = %v, want one failed %s", i, downs, killed.Name)
		}
		log := rs[i].stateLog()
		if !slices.Contains(log, "ready->rehashing") || log[len(log)-1] != "rehashing->ready" {
			t.Fatalf("node %d: states %v, want ready->rehashing ... rehashing->ready", i, log)
		}
	}
	_ = start
}

// Consensus is only the start gate: with consensus 3 and three replicas, one
// crash leaves the other two Ready (and /readyz 200) on the smaller view at
// the next term; a second crash leaves the last one without quorum.
func TestOneCrashOfThreeKeepsQuorumTwoDoNot(t *testing.T) {
	rs := newRecorders(3)
	c := cloistertest.New(t, 3, withRecorders(rs)) // consensus 3
	term := c.Node(0).Snapshot().Term
	c.Kill(2)
	c.WaitFor("two survivors Ready at a later term", func() bool {
		for i := range 2 {
			s := c.Node(i).Snapshot()
			if s.State != cloister.Ready || len(s.View.Members) != 2 || s.Term <= term {
				return false
			}
		}
		return true
	})
	for i := range 2 {
		if log := rs[i].stateLog(); slices.Contains(log, "ready->assembling") || slices.Contains(log, "rehashing->noquorum") {
			t.Fatalf("node %d lost the start gate or quorum on one crash: %v", i, log)
		}
		if code := readyz(t, c.Node(i)); code != 200 {
			t.Fatalf("node %d /readyz = %d after one crash of three", i, code)
		}
	}
	// Of two, keep-majority keeps the one with the lowest name: crash
	// that one, and the other has no quorum.
	lowest, last := 0, 1
	if c.Node(1).Self().Name < c.Node(0).Self().Name {
		lowest, last = 1, 0
	}
	c.Kill(lowest)
	c.WaitFor("the last one without quorum", func() bool { return c.Node(last).State() == cloister.NoQuorum })
	c.WaitFor("listener told of the lost quorum", func() bool {
		log := rs[last].stateLog()
		return len(log) > 0 && strings.HasSuffix(log[len(log)-1], "->noquorum")
	})
	if _, err := c.Node(last).Whois("cart:42"); !errors.Is(err, cloister.ErrNoQuorum) || !errors.Is(err, cloister.ErrNotReady) {
		t.Fatalf("Whois without quorum: %v, want ErrNoQuorum (and ErrNotReady)", err)
	}
	if code := readyz(t, c.Node(last)); code != 503 {
		t.Fatalf("/readyz without quorum = %d, want 503", code)
	}
	if s := c.Node(last).Snapshot(); s.Quorate || s.StateName != "noquorum" {
		t.Fatalf("snapshot without quorum: quorate %v, state %q", s.Quorate, s.StateName)
	}
}

// Of two, the one with the lowest name keeps quorum when the other
// crashes (the tie rule of keep-majority), identically on every run.
func TestTieKeepsTheLowestName(t *testing.T) {
	c := cloistertest.New(t, 2)
	lowest, other := 0, 1
	if c.Node(1).Self().Name < c.Node(0).Self().Name {
		lowest, other = 1, 0
	}
	term := c.Node(lowest).Snapshot().Term
	c.Kill(other)
	c.WaitFor("the lowest alone, Ready at the next term", func() bool {
		s := c.Node(lowest).Snapshot()
		return s.State == cloister.Ready && len(s.View.Members) == 1 && s.Term > term
	})
}

// readyz returns the status code of the node's /readyz.
func readyz(t *testing.T, n *cloister.Node) int {
	t.Helper()
	return readyzCode(n)
}

// readyzCode returns the status code of the node's /readyz; safe on any
// goroutine.
func readyzCode(n *cloister.Node) int {
	w := httptest.NewRecorder()
	n.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	return w.Code
}

func TestGracefulStopIsSeenAsLeft(t *testing.T) {
	rs := newRecorders(3)
	c := cloistertest.New(t, 3, cloistertest.WithConsensus(2), withRecorders(rs))
	leaving := c.Node(1).Self()
	c.Stop(1)
	took := c.WaitFor("survivors Ready with 2 members", c.Agreed)
	t.Logf("leave propagated and view agreed in %v", took)
	waitHeard(c, rs, "rehashing->ready", 0, 2)
	for _, i := range []int{0, 2} {
		downs := rs[i].downs()
		if len(downs) != 1 || downs[0].Member.ID != leaving.ID || downs[0].Reason != cloister.Left {
			t.Fatalf("node %d: downs = %v, want one left %s", i, downs, leaving.Name)
		}
	}
	if s := c.Node(1).State(); s != cloister.Stopped {
		t.Fatalf("stopped node state = %v", s)
	}
	if log := rs[1].stateLog(); !slices.Equal(log[len(log)-2:], []string{"ready->stopping", "stopping->stopped"}) {
		t.Fatalf("leaving node states %v, want ... ready->stopping, stopping->stopped", log)
	}
}

func TestRestartAtSameAddressReplacesAtOnce(t *testing.T) {
	rs := newRecorders(3)
	c := cloistertest.New(t, 3, withRecorders(rs))
	old := c.Node(2).Self()
	c.Kill(2)
	fresh := c.Restart(2)
	if fresh.Self().Name != old.Name || fresh.Self().ID == old.ID {
		t.Fatalf("restart: name %s id %s, want same name %s and a new id", fresh.Self().Name, fresh.Self().ID, old.Name)
	}
	took := c.WaitAllReady()
	t.Logf("restarted incarnation admitted and agreed in %v", took)
	c.WaitFor("listeners told of the old incarnation", func() bool {
		return len(rs[0].downs()) > 0 && len(rs[1].downs()) > 0
	})
	for i := range 2 {
		downs := rs[i].downs()
		if len(downs) != 1 || downs[0].Member.ID != old.ID {
			t.Fatalf("node %d: downs = %v, want exactly one for the old incarnation", i, downs)
		}
		t.Logf("node %d saw the old incarnation go down as %v", i, downs[0].Reason)
	}
}

func TestWrongSecretNeverJoins(t *testing.T) {
	c := cloistertest.New(t, 2)
	addrs := []string{c.Node(0).Self().Addr.String(), c.Node(1).Self().Addr.String()}
	cfg := cloister.LocalConfig()
	cfg.App = "cloistertest"
	cfg.Secret = cloister.Secret("a-completely-different-secret")
	cfg.Consensus = 3
	sentry, err := staticSentry(addrs)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sentry = sentry
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	intruder, err := cloister.Start(ctx, cfg)
	if err == nil {
		intruder.Stop(context.Background())
		t.Fatal("a node with another secret reached Ready")
	}
	t.Logf("intruder: %v", err)
	for i := range 2 {
		for _, m := range c.Node(i).Members() {
			if m.Name != c.Node(0).Self().Name && m.Name != c.Node(1).Self().Name {
				t.Fatalf("node %d holds foreign member %s", i, m.Name)
			}
		}
		if s := c.Node(i).State(); s != cloister.Ready {
			t.Fatalf("node %d: state %v, want ready", i, s)
		}
	}
}

func TestSingleNodeWithoutSentryIsReadyAtOnce(t *testing.T) {
	cfg := cloister.LocalConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := cloister.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(ctx)
	if n.State() != cloister.Ready || len(n.Members()) != 1 {
		t.Fatalf("state %v with %d members, want ready alone", n.State(), len(n.Members()))
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-n.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
}

// A whole cluster shutting down at once has nobody left to hear the
// leaves; that is not reported as an error.
func TestWholeClusterStopsWithoutLeaveErrors(t *testing.T) {
	c := cloistertest.New(t, 3)
	c.WaitAllReady()
	nodes := c.Nodes()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs[i] = n.Stop(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: Stop = %v, want nil when every member stops", i, err)
		}
	}
}

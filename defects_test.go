package cloister_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// Issue #12, item 7: Self reports what the node is, not its starting values.
func TestSelfReportsStateAndView(t *testing.T) {
	c := cloistertest.New(t, 1)
	n := c.Node(0)
	self := n.Self()
	if self.State != cloister.Ready || self.StateName != "ready" || self.ViewID != n.View().ID || self.ViewID == 0 {
		t.Fatalf("Self() = state %v (%q) view %016x, want ready with view %016x", self.State, self.StateName, self.ViewID, n.View().ID)
	}
}

// Issue #12, item 7: a zero Ring and a zero RingChanged answer, never panic.
func TestZeroRingAndRingChanged(t *testing.T) {
	for name, r := range map[string]*cloister.Ring{"var": new(cloister.Ring), "literal": {}} {
		if _, err := r.Whois("k"); !errors.Is(err, cloister.ErrNotReady) {
			t.Errorf("%s: Whois = %v, want ErrNotReady", name, err)
		}
		if _, err := r.WhoisN("k", 2); !errors.Is(err, cloister.ErrNotReady) {
			t.Errorf("%s: WhoisN = %v, want ErrNotReady", name, err)
		}
		if r.Mine("k") || r.Checksum() != 0 || r.Members() != nil || !errors.Is(r.Err(), cloister.ErrNotReady) {
			t.Errorf("%s: Mine/Checksum/Members/Err answered on a zero ring", name)
		}
	}
	var e cloister.RingChanged
	if s := e.String(); s == "" {
		t.Error("RingChanged{}.String() is empty")
	}
	if e.Gained("k") || e.Lost("k") {
		t.Error("a zero RingChanged gained or lost a key")
	}
	if _, err := e.Handoff(); err == nil {
		t.Error("a zero RingChanged has a handoff")
	}
}

// returnsWithin runs f on its own goroutine and fails the test if it has not
// returned within d.
func returnsWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s has not returned after %v", what, d)
	}
}

// Issue #12, item 1: Stop from a listener returns, and Done closes.
func TestStopFromListener(t *testing.T) {
	stopped := make(chan error, 1)
	var node atomic.Pointer[cloister.Node]
	launched := make(chan struct{}) // the listener may hear Ready before Launch returns
	cfg := cloister.LocalConfig()
	cfg.Listeners = []cloister.Listener{cloister.ListenerFunc(func(from, to cloister.State, s cloister.Snapshot) {
		if to != cloister.Ready {
			return
		}
		select {
		case <-launched:
			stopped <- node.Load().Stop(context.Background())
		case <-time.After(10 * time.Second):
			stopped <- errors.New("Launch did not return")
		}
	})}
	n, err := cloister.Launch(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	node.Store(n)
	close(launched)
	n.WaitReady(context.Background())
	returnsWithin(t, 10*time.Second, "Stop called from a listener", func() {
		if err := <-stopped; err != nil {
			t.Errorf("Stop from a listener = %v", err)
		}
	})
	returnsWithin(t, 10*time.Second, "Done after Stop from a listener", func() { <-n.Done() })
}

// Issue #12, item 1: Stop from a call handler returns, and Done closes.
func TestStopFromHandler(t *testing.T) {
	c := cloistertest.New(t, 2)
	target := c.Node(1)
	stopped := make(chan error, 1)
	target.Handle("stop", func(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
		stopped <- target.Stop(context.Background())
		return nil, nil
	})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.Node(0).Call(ctx, target.Self(), "stop", nil)
	}()
	returnsWithin(t, 10*time.Second, "Stop called from a handler", func() { <-stopped })
	returnsWithin(t, 10*time.Second, "Done after Stop from a handler", func() { <-target.Done() })
}

// Issue #12, item 4: Stop returns by ctx's deadline, with ctx's error, even
// when a handler ignores its context and a listener never returns; the
// rest finishes in the background.
func TestStopHonoursContext(t *testing.T) {
	release := make(chan struct{})
	c := cloistertest.New(t, 2, cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		if i == 1 {
			cfg.Listeners = append(cfg.Listeners, cloister.ListenerFunc(func(_, to cloister.State, _ cloister.Snapshot) {
				if to == cloister.Stopping {
					<-release
				}
			}))
		}
	}))
	target := c.Node(1)
	entered := make(chan struct{})
	target.Handle("stuck", func(context.Context, cloister.Member, []byte) ([]byte, error) {
		close(entered)
		<-release // ignores its context
		return nil, nil
	})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = c.Node(0).Call(ctx, target.Self(), "stuck", nil)
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	var err error
	returnsWithin(t, 10*time.Second, "Stop with a 300 ms context and a stuck handler", func() { err = target.Stop(ctx) })
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Errorf("Stop = %v after %v, want DeadlineExceeded at about 300 ms", err, took)
	}
	returnsWithin(t, 10*time.Second, "Done with the handler and the listener still stuck", func() { <-target.Done() })
	close(release)
}

// Issue #12, item 2: a subscription made while the node stops is closed.
func TestSubscribeDuringStop(t *testing.T) {
	subs := make(chan (<-chan cloister.Event), 1)
	var node atomic.Pointer[cloister.Node]
	cfg := cloister.LocalConfig()
	cfg.Listeners = []cloister.Listener{cloister.ListenerFunc(func(from, to cloister.State, s cloister.Snapshot) {
		if to == cloister.Stopped {
			ch, _ := node.Load().Subscribe(1) // while Stop waits for this listener
			subs <- ch
		}
	})}
	n, err := cloister.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	node.Store(n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.Stop(ctx)
	var ch <-chan cloister.Event
	returnsWithin(t, 10*time.Second, "the listener", func() { ch = <-subs })
	returnsWithin(t, 10*time.Second, "reading the subscription made during Stop", func() {
		for range ch {
		}
	})
}

// Issue #12, item 3: what one caller is handed is its own: writing to it
// changes nothing another caller, a listener or the node's rings see.
func TestValuesHandedOutAreCopies(t *testing.T) {
	events := make(chan cloister.Event, 64)
	c := cloistertest.New(t, 2, cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		cfg.Roles = []string{"worker"}
		if i == 0 {
			cfg.Listeners = append(cfg.Listeners, eventFunc(func(e cloister.Event) {
				if sc, ok := e.(*cloister.StateChanged); ok {
					sc.Snapshot.View.Members[0].Name = "scribbled"
					sc.Snapshot.View.Members[0].Roles[0] = "scribbled"
				}
			}), eventFunc(func(e cloister.Event) {
				select {
				case events <- e:
				default:
				}
			}))
		}
	}))
	n := c.Node(0)
	want := n.Snapshot().View.Members[0].Name
	owner, err := n.Whois("k")
	if err != nil {
		t.Fatal(err)
	}
	scribble := func(ms []cloister.Member) {
		for i := range ms {
			ms[i].Name, ms[i].ID, ms[i].Weight = "scribbled", "scribbled", 999
			ms[i].Roles[0] = "scribbled"
		}
	}
	scribble(n.Members())
	scribble(n.View().Members)
	s := n.Snapshot()
	scribble(s.View.Members)
	s.Self.Roles[0] = "scribbled"
	self := n.Self()
	self.Roles[0] = "scribbled"
	owner.Roles[0] = "scribbled"
	scribble(n.Ring(cloister.DefaultRing).Members())
	ms, _ := n.WhoisN("k", 2)
	scribble(ms)

	for _, m := range append(n.Members(), n.Snapshot().View.Members...) {
		if m.Name == "scribbled" || m.Weight == 999 || m.Roles[0] != "worker" {
			t.Fatalf("a caller's write reached the node: %+v", m)
		}
	}
	if n.Members()[0].Name != want || n.Self().Roles[0] != "worker" || n.Snapshot().Self.Roles[0] != "worker" {
		t.Fatalf("a caller's write reached the node: %+v", n.Snapshot())
	}
	again, _ := n.Whois("k")
	if again.ID != owner.ID || again.Roles[0] != "worker" {
		t.Fatalf("Whois after a caller's write = %+v", again)
	}
	for _, m := range n.Ring(cloister.DefaultRing).Members() {
		if m.Name == "scribbled" || m.Roles[0] != "worker" {
			t.Fatalf("ring member changed by a caller: %+v", m)
		}
	}
	// The other listener saw what happened, not the first one's writes.
	for {
		select {
		case e := <-events:
			if sc, ok := e.(*cloister.StateChanged); ok {
				for _, m := range sc.Snapshot.View.Members {
					if m.Name == "scribbled" || m.Roles[0] == "scribbled" {
						t.Fatalf("one listener's write reached another: %+v", m)
					}
				}
			}
		default:
			return
		}
	}
}

// eventFunc is an EventListener of every event.
type eventFunc func(cloister.Event)

func (f eventFunc) OnStateChange(cloister.State, cloister.State, cloister.Snapshot) {}
func (f eventFunc) OnEvent(e cloister.Event)                                        { f(e) }

// BenchmarkWhois measures Whois and Mine on a Ready node, with owners that
// declare no roles (no allocation) and with roles (one: the copy of Roles).
func BenchmarkWhois(b *testing.B) {
	for _, roles := range [][]string{nil, {"worker"}} {
		c := cloistertest.New(b, 3, cloistertest.WithConfig(func(_ int, cfg *cloister.Config) { cfg.Roles = roles }))
		n := c.Node(0)
		b.Run(fmt.Sprintf("Whois/roles=%d", len(roles)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = n.Whois("user:42")
			}
		})
		b.Run(fmt.Sprintf("Mine/roles=%d", len(roles)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = n.Mine("user:42")
			}
		})
	}
}

package cloister_test

import (
	"context"
	"errors"
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
	cfg := cloister.LocalConfig()
	cfg.Listeners = []cloister.Listener{cloister.ListenerFunc(func(from, to cloister.State, s cloister.Snapshot) {
		if to == cloister.Ready {
			stopped <- node.Load().Stop(context.Background())
		}
	})}
	n, err := cloister.Launch(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	node.Store(n)
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

package registry_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/registry"
)

// A leaving node hands its names to another in one step: a node looking
// them up all along never finds nobody, and the new holder serves them.
func TestHandoffBeforeLeave(t *testing.T) {
	c := newCluster(t, 3, func(i int) registry.Options {
		return registry.Options{Adopt: func(name string) cloister.Handler { return echo("adopted-" + name) }}
	})
	ctx := ctxT(t, 30*time.Second)
	names := []string{"a", "b", "c"}
	for _, n := range names {
		if _, err := c.reg(0).Register(ctx, n, echo("n0")); err != nil {
			t.Fatal(err)
		}
	}
	self := c.Node(0).Self().ID
	for _, n := range names {
		c.WaitFor("names everywhere", func() bool { return c.holderEverywhere(n, self, 0, 1, 2) })
	}
	stop := make(chan struct{})
	t0 := time.Now()
	var misses, looks atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, n := range names {
				looks.Add(1)
				if _, ok := c.reg(2).Lookup(n); !ok {
					if misses.Add(1) == 1 {
						t.Logf("%v first miss of %s", time.Since(t0), n)
					}
				}
			}
		}
	}()
	to := c.Node(1).Self()
	if err := c.reg(0).Handoff(ctx, to); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	for _, n := range names {
		c.WaitFor("names held by node 1", func() bool { return c.holderEverywhere(n, to.ID, 1, 2) })
	}
	close(stop)
	wg.Wait()
	if misses.Load() != 0 {
		t.Fatalf("%d of %d lookups found nobody during the handoff", misses.Load(), looks.Load())
	}
	got, err := c.reg(2).Call(ctx, "b", []byte("!"))
	if err != nil || string(got) != "adopted-b:!" {
		t.Fatalf("call after handoff: %q %v", got, err)
	}
	if err := c.reg(1).Handoff(ctx, to, "a"); !errors.Is(err, registry.ErrHandoff) {
		t.Fatalf("handoff to itself: %v", err)
	}
	// Handed on again: the generation grows, and wins again.
	if err := c.reg(1).Handoff(ctx, c.Node(2).Self(), "a"); err != nil {
		t.Fatalf("second handoff: %v", err)
	}
	c.WaitFor("a held by node 2", func() bool { return c.holderEverywhere("a", c.Node(2).Self().ID, 1, 2) })
	if reg, _ := c.reg(1).Lookup("a"); reg.Gen != 2 {
		t.Fatalf("generation %d after two handoffs", reg.Gen)
	}
}

// Garbage from a peer on every handler is refused with an error; nothing
// panics and nothing changes.
func TestGarbageFromPeer(t *testing.T) {
	c := newCluster(t, 2, nil)
	ctx := ctxT(t, 10*time.Second)
	to := c.Node(1).Self()
	for _, h := range []string{"registry.push", "registry.sync", "registry.grant", "registry.call", "registry.takeover"} {
		for _, body := range [][]byte{nil, {0xff}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte("\x05\x01\x02\x03")} {
			_, err := c.Node(0).Call(ctx, to, h, body)
			var re *cloister.RemoteError
			if err == nil && h != "registry.call" || err != nil && !errors.As(err, &re) && !errors.Is(err, registry.ErrNoSuchName) {
				t.Errorf("%s(%x): %v", h, body, err)
			}
		}
	}
	if n := c.reg(1).Len(); n != 0 {
		t.Fatalf("garbage made %d names", n)
	}
}

// What one member claims is kept up to MaxNames: a peer cannot make a
// node hold more.
func TestClaimsFromOnePeerAreBounded(t *testing.T) {
	c := newCluster(t, 3, func(i int) registry.Options {
		if i == 1 {
			return registry.Options{MaxNames: 3}
		}
		return registry.Options{}
	})
	ctx := ctxT(t, 20*time.Second)
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		if _, err := c.reg(0).Register(ctx, n, echo(n)); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor("six names on node 2", func() bool { return c.reg(2).Len() == 6 })
	// node 0's changes reach node 1 in order: once the release of "a" has,
	// so has every registration before it.
	c.WaitFor("a known on node 1", func() bool { _, ok := c.reg(1).Lookup("a"); return ok })
	if err := c.reg(0).Unregister("a"); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("a released on node 1", func() bool { _, ok := c.reg(1).Lookup("a"); return !ok })
	if n := c.reg(1).Len(); n != 2 {
		t.Fatalf("node 1 keeps %d of node 0's names after one release, want 2 (3 kept, the bound)", n)
	}
}

// Before its node starts, a Registry answers with ErrNotStarted, not a
// panic.
func TestNotStarted(t *testing.T) {
	r := registry.New(registry.Options{})
	ctx := context.Background()
	if _, err := r.Register(ctx, "x", echo("x")); !errors.Is(err, registry.ErrNotStarted) || !errors.Is(err, cloister.ErrNotReady) {
		t.Fatalf("Register: %v", err)
	}
	if err := r.Unregister("x"); !errors.Is(err, registry.ErrNotStarted) {
		t.Fatalf("Unregister: %v", err)
	}
	if _, err := r.Call(ctx, "x", nil); !errors.Is(err, registry.ErrNotStarted) {
		t.Fatalf("Call: %v", err)
	}
	if err := r.Handoff(ctx, cloister.Member{ID: "other"}); !errors.Is(err, registry.ErrNotStarted) {
		t.Fatalf("Handoff: %v", err)
	}
	if _, ok := r.Lookup("x"); ok || r.Len() != 0 {
		t.Fatal("an unstarted registry knows a name")
	}
}

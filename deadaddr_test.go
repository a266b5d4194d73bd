package cloister

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister/cloistertest/memnet"
	"github.com/cloister-go/cloister/discovery"
)

// An address of a static sentry that refuses connections (nobody listens
// there) is paused with backoff instead of being dialled every discovery
// round; a process that starts there later still joins, through its own
// sentry.
func TestRefusingAddressIsPaused(t *testing.T) {
	net := memnet.New(7)
	defer net.Close()
	live := netip.MustParseAddrPort("198.18.0.1:4747")
	dead := netip.MustParseAddrPort("198.18.0.2:4747")
	var polls atomic.Int64
	sentry := discovery.Func(func(context.Context) ([]netip.AddrPort, error) {
		polls.Add(1)
		return []netip.AddrPort{live, dead}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	launch := func(addr netip.AddrPort) *Node {
		tr, err := net.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		cfg := LocalConfig()
		cfg.App = "dead-addresses"
		cfg.Secret = Secret("dead-addresses-secret")
		cfg.Sentry = sentry
		cfg.Transport = tr
		cfg.DiscoveryInterval = 100 * time.Millisecond
		n, err := Launch(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop(context.Background()) })
		return n
	}
	a := launch(live)
	// 20 polls of the sentry, 100 ms apart: each used to dial the dead
	// address once. Paused for 1, 2, 4 s..., it is dialled a few times.
	for polls.Load() < 20 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d polls of the sentry by the deadline", polls.Load())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if refused := net.Stats().Refused; refused == 0 || refused > 3 {
		t.Fatalf("the dead address refused %d dials over %d polls, want 1 to 3", refused, polls.Load())
	}
	b := launch(dead) // a process starts at the paused address
	for len(a.Members()) != 2 || len(b.Members()) != 2 {
		select {
		case <-ctx.Done():
			t.Fatalf("the process at the paused address was not admitted: %d and %d members", len(a.Members()), len(b.Members()))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

package cloister_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/discovery"
)

// A node that is not Ready rejoins the addresses of its last discovery
// answer that are not members yet, without asking the sentry again: here
// its only poll comes before its peer is up, and the next poll is an hour
// away.
func TestAssemblingNodeRejoinsWithoutPollingAgain(t *testing.T) {
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.5"), netip.MustParseAddr("127.0.0.6")}
	port := freeSharedPort(t, ips)
	addrs := []netip.AddrPort{netip.AddrPortFrom(ips[0], port), netip.AddrPortFrom(ips[1], port)}
	var polls atomic.Int32
	start := func(i int, sentry discovery.Provider) *cloister.Node {
		cfg := cloister.LocalConfig()
		cfg.App = "app"
		cfg.Bind = addrs[i].String()
		cfg.Sentry = sentry
		cfg.Secret = cloistertest.Secret()
		cfg.Consensus = 2
		cfg.DiscoveryInterval, cfg.DiscoveryMaxBackoff = time.Hour, time.Hour
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := cloister.Launch(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop(context.Background()) })
		return n
	}
	a := start(0, discovery.Func(func(context.Context) ([]netip.AddrPort, error) {
		polls.Add(1)
		return addrs, nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cloistertest.Poll(ctx, func() bool { return polls.Load() == 1 }); err != nil {
		t.Fatal("node a never polled its sentry")
	}
	// b knows nobody: only a's rejoin can bring them together.
	b := start(1, discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return addrs[1:], nil }))
	for _, n := range []*cloister.Node{a, b} {
		if err := n.WaitReady(ctx); err != nil {
			t.Fatalf("%s: %v", n.Self().Name, err)
		}
	}
	if n := polls.Load(); n != 1 {
		t.Fatalf("a polled its sentry %d times, want once", n)
	}
}

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
		cfg := LocalConfig()
		cfg.App = "dead-addresses"
		cfg.Secret = Secret("dead-addresses-secret")
		cfg.Sentry = sentry
		cfg.DiscoveryInterval = 100 * time.Millisecond
		return launchOn(ctx, t, net, addr, cfg)
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

// A node waiting alone for its cluster, every other sentry address
// refusing, sleeps until the first of them may be dialled again: its
// discovery loop used to wake every pace (20 ms with the steady profile)
// to find every address still paused.
func TestDiscoveryWaitsOutPausedAddresses(t *testing.T) {
	net := memnet.New(11)
	defer net.Close()
	self := netip.MustParseAddrPort("198.18.0.1:4747")
	addrs := []netip.AddrPort{self}
	for i := range 20 {
		addrs = append(addrs, netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 1, byte(i + 1)}), 4747))
	}
	cfg := DefaultConfig() // the steady profile: a pace of 20 ms
	cfg.App = "paused-addresses"
	cfg.Secret = Secret("paused-addresses-secret")
	cfg.Sentry = discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return addrs, nil })
	cfg.Consensus = 3 // never reached: the node stays Assembling
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := launchOn(ctx, t, net, self, cfg)
	// Every address refuses its first dial and is paused for a second;
	// then the loop is watched for 1.5 s, while the addresses come back
	// after 1 s and are paused for 2 s.
	for net.Stats().Refused < uint64(len(addrs)-1) {
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d addresses dialled by the deadline", net.Stats().Refused, len(addrs)-1)
		case <-time.After(10 * time.Millisecond):
		}
	}
	before := n.discoverRounds.Load()
	watch := time.NewTimer(1500 * time.Millisecond)
	defer watch.Stop()
	select {
	case <-watch.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	// Polls of the sentry (one a second) and the round when the pauses
	// end; at one round a pace it was about 75.
	if rounds := n.discoverRounds.Load() - before; rounds > 10 {
		t.Fatalf("the discovery loop went round %d times in 1.5 s with every address paused, want at most 10", rounds)
	}
	if s := n.State(); s != Assembling {
		t.Fatalf("state %v, want Assembling", s)
	}
}

// An address that refused a dial before its process started is paused,
// but a member there whose advert comes in is joined at once: the advert
// shows the process is up. The first node of a start used to skip those
// addresses for the rest of their pause (a second), while the last
// nodes, which knew everyone, waited for it. Gossip is slowed to ten
// seconds here, so only the advert can bring the member in time.
func TestHeardMemberAtPausedAddressIsJoined(t *testing.T) {
	net := memnet.New(13)
	defer net.Close()
	addrA := netip.MustParseAddrPort("198.18.0.1:4747")
	addrB := netip.MustParseAddrPort("198.18.0.2:4747")
	addrC := netip.MustParseAddrPort("198.18.0.3:4747")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	launch := func(addr netip.AddrPort, sentry ...netip.AddrPort) *Node {
		cfg := DefaultConfig()
		cfg.App = "heard-paused"
		cfg.Secret = Secret("heard-paused-secret")
		cfg.Sentry = discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return sentry, nil })
		cfg.Consensus = 3
		cfg.DiscoveryInterval, cfg.DiscoveryMaxBackoff = 10*time.Second, 10*time.Second
		cfg.Detection.GossipInterval = 10 * time.Second
		return launchOn(ctx, t, net, addr, cfg)
	}
	waitFor := func(what string, cond func() bool) {
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: not by the deadline", what)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	a := launch(addrA, addrA, addrB, addrC)
	waitFor("A's dials of B and C refused", func() bool { return net.Stats().Refused >= 2 })
	pausedSince, pausedUntil := a.deadAddrs.pause(addrB, time.Now())
	if pausedUntil.IsZero() || pausedSince.IsZero() {
		t.Fatal("B's address is not paused after refusing")
	}
	c := launch(addrC, addrC, addrA) // joins A
	waitFor("C joined A", func() bool { return len(a.Members()) == 2 })
	// B joins C only; its view {A, B, C} reaches Consensus, and it
	// advertises that straight to A, which does not know it.
	launch(addrB, addrB, addrC)
	waitFor("A holds B", func() bool { return len(a.Members()) == 3 })
	if now := time.Now(); !now.Before(pausedUntil) {
		t.Fatalf("A held B %v after B's address was paused until, not before it", now.Sub(pausedUntil))
	}
	if len(c.Members()) != 3 {
		t.Fatalf("C holds %d members, want 3", len(c.Members()))
	}
}

// launchOn starts a node with cfg on the in-memory network at addr, and
// stops it when the test ends, waiting at most 200 ms for its leave to go
// out (with gossip, which some tests slow down to seconds).
func launchOn(ctx context.Context, t *testing.T, net *memnet.Network, addr netip.AddrPort, cfg Config) *Node {
	t.Helper()
	tr, err := net.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transport = tr
	n, err := Launch(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		n.Stop(stop)
	})
	return n
}

package cloister

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func addrs(n int) []netip.AddrPort {
	out := make([]netip.AddrPort, n)
	for i := range out {
		out[i] = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(7000+i))
	}
	return out
}

var errRefused = errors.New("refused")

func TestJoinFirstStopsAtFirstAnswer(t *testing.T) {
	as := addrs(10)
	var mu sync.Mutex
	var tried []netip.AddrPort
	try := func(_ context.Context, a netip.AddrPort) error {
		mu.Lock()
		defer mu.Unlock()
		tried = append(tried, a)
		if a.Port() < 7003 {
			return errRefused // the first three refuse at once
		}
		return nil
	}
	errs := joinFirst(context.Background(), as, time.Hour, func(netip.AddrPort) bool { return false }, try)
	if len(tried) != 4 || len(errs) != 3 {
		t.Fatalf("tried %v with %d errors; want the first four tried and three errors", tried, len(errs))
	}
}

func TestJoinFirstSkipsMembers(t *testing.T) {
	as := addrs(5)
	var tried []netip.AddrPort
	member := func(a netip.AddrPort) bool { return a.Port() != 7004 }
	try := func(_ context.Context, a netip.AddrPort) error { tried = append(tried, a); return nil }
	joinFirst(context.Background(), as, time.Hour, member, try)
	if len(tried) != 1 || tried[0] != as[4] {
		t.Fatalf("tried %v; want only %v", tried, as[4])
	}
}

func TestJoinFirstStaggersPastHangingPeers(t *testing.T) {
	as := addrs(12)
	release := make(chan struct{})
	var mu sync.Mutex
	started, maxPending, pending := 0, 0, 0
	try := func(ctx context.Context, a netip.AddrPort) error {
		mu.Lock()
		started++
		pending++
		maxPending = max(maxPending, pending)
		mu.Unlock()
		defer func() { mu.Lock(); pending--; mu.Unlock() }()
		if a == as[len(as)-1] {
			return nil // only the last address answers
		}
		select { // the others hang like dead hosts until released
		case <-release:
		case <-ctx.Done():
		}
		return errRefused
	}
	done := make(chan []error)
	go func() {
		done <- joinFirst(context.Background(), as, time.Millisecond, func(netip.AddrPort) bool { return false }, try)
	}()
	// With eight tries hanging, no ninth starts until one returns.
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		s := started
		mu.Unlock()
		if s == maxConcurrentJoins {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("only %d tries started", s)
		case <-time.After(time.Millisecond):
		}
	}
	close(release)
	select {
	case <-done:
		if started != len(as) {
			t.Fatalf("%d tries started, want all %d", started, len(as))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("joinFirst did not return")
	}
	if maxPending > maxConcurrentJoins {
		t.Fatalf("%d tries pending at once, limit %d", maxPending, maxConcurrentJoins)
	}
}

func TestJoinFirstEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	try := func(ctx context.Context, _ netip.AddrPort) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	errs := joinFirst(ctx, addrs(5), time.Hour, func(netip.AddrPort) bool { return false }, try)
	if len(errs) > 1 {
		t.Fatalf("%d tries after the context ended", len(errs))
	}
}

// A node's own address, in any of the forms a sentry may list it, is never
// absent: it must not try to join itself.
func TestOwnAddressIsNeverAbsent(t *testing.T) {
	for _, bind := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
		cfg := LocalConfig()
		cfg.App = "app"
		cfg.Bind = bind
		cfg.Secret = Secret("a-test-secret-of-some-length")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := Launch(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		port := n.Self().Addr.Port()
		own := []netip.AddrPort{n.Self().Addr, netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), port)}
		other := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port+1)
		got := n.absent(append(own, other))
		n.Stop(context.Background())
		if len(got) != 1 || got[0] != other {
			t.Fatalf("bound to %s: absent = %v, want only %v", bind, got, other)
		}
	}
}

// A node that already joined does not join again while memberlist keeps
// hearing of new live members (gossip is bringing them), only once their
// number has stopped growing for the grace period.
func TestLiveGrowthHoldsRejoinsWhileMembersArrive(t *testing.T) {
	var g liveGrowth
	t0 := time.Unix(1000, 0)
	const grace = time.Second
	if !g.growing(t0, 5, grace) {
		t.Fatal("members just arrived: not growing")
	}
	if !g.growing(t0.Add(grace/2), 5, grace) {
		t.Fatal("half the grace after the last arrival: not growing")
	}
	if g.growing(t0.Add(grace), 5, grace) {
		t.Fatal("a grace period without arrivals: still growing")
	}
	if !g.growing(t0.Add(2*grace), 6, grace) {
		t.Fatal("one more member: not growing")
	}
	if g.growing(t0.Add(3*grace), 4, grace) {
		t.Fatal("members departing count as growth")
	}
}

// The rejoin gate paces by the members a node knows, memberlist's live
// ones included: a node whose view still holds only itself while
// memberlist knows 40 others has company, and its next join waits the
// pacer's gap and the grace after the last arrival. A node missing only
// a few (a tenth of those it knows, or one) waits the shorter straggler
// grace; one missing many, the whole gossip grace.
func TestRejoinGatePacesByKnownMembers(t *testing.T) {
	const gossip = 200 * time.Millisecond
	t0 := time.Unix(1000, 0)
	var g rejoinGate
	if g.allow(t0, 41, 40, 0, false, gossip) {
		t.Fatal("joined with nothing absent")
	}
	if !g.allow(t0, 41, 40, 30, false, gossip) {
		t.Fatal("first join with company held")
	}
	gap := joinGap(41, 30)
	if g.allow(t0.Add(gap/2), 41, 40, 30, false, gossip) {
		t.Fatalf("joined again within the pacer's gap (%v): the node counted as alone", gap)
	}
	// Past the gap, but memberlist heard of a member since: 30 of 41
	// missing is no straggler, so the whole gossip grace applies.
	at := t0.Add(joinGap(42, 30))
	if g.allow(at, 42, 41, 30, false, gossip) {
		t.Fatal("joined as members kept arriving")
	}
	if g.allow(at.Add(stragglerGrace*gossip), 42, 41, 30, false, gossip) {
		t.Fatal("30 of 42 missing: joined after the straggler grace")
	}
	at = at.Add(gossipGrace * gossip)
	if !g.allow(at, 42, 41, 30, false, gossip) {
		t.Fatal("no arrival for the gossip grace: still held")
	}

	// A straggler: 2 of 50 missing, memberlist's count just grew.
	var s rejoinGate
	if !s.allow(t0, 50, 47, 2, false, gossip) {
		t.Fatal("first join held")
	}
	at = t0.Add(joinGap(50, 2))
	if s.allow(at, 50, 48, 2, false, gossip) {
		t.Fatal("joined right after an arrival")
	}
	if !s.allow(at.Add(stragglerGrace*gossip), 50, 48, 2, false, gossip) {
		t.Fatalf("a straggler waited longer than the straggler grace (%d intervals)", stragglerGrace)
	}

	// A node that heard of a missing member (its advert came before its
	// alive message) joins right after an arrival: gossip is behind on
	// that one. The pacer still spaces the joins, by the shorter gap for
	// members heard of, however many are missing.
	for _, missing := range []int{2, 30} {
		var h rejoinGate
		if !h.allow(t0, 50, 47, missing, false, gossip) {
			t.Fatal("first join held")
		}
		if h.allow(t0.Add(heardGap(50, missing)/2), 50, 48, missing, true, gossip) {
			t.Fatalf("%d missing, heard of one: joined within the pacer's gap", missing)
		}
		if !h.allow(t0.Add(heardGap(50, missing)), 50, 48, missing, true, gossip) {
			t.Fatalf("%d missing, heard of one: held past the gap for members heard of", missing)
		}
	}
}

// A try pending past the stagger starts the next, and the gap after each
// start doubles with every try still pending: under load a live peer's
// state exchange can take longer than the stagger, and each extra try
// that succeeds is a whole state exchange.
func TestJoinFirstStaggerDoublesWhileTriesPend(t *testing.T) {
	const stagger = 20 * time.Millisecond
	as := addrs(5)
	var mu sync.Mutex
	var starts []time.Time
	release := make(chan struct{})
	try := func(ctx context.Context, a netip.AddrPort) error {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
		}
		return errRefused
	}
	done := make(chan []error)
	go func() {
		done <- joinFirst(context.Background(), as, stagger, func(netip.AddrPort) bool { return false }, try)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(starts)
		mu.Unlock()
		if n == len(as) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d tries started", n, len(as))
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	close(release)
	<-done
	for i := 1; i < len(starts); i++ {
		want := stagger << (i - 1) // i tries pending when try i+1 started
		if gap := starts[i].Sub(starts[i-1]); gap < want*9/10 {
			t.Fatalf("try %d started %v after the one before, %d pending: want at least %v", i+1, gap, i, want)
		}
	}
}

// A node's known members count memberlist's live ones only from twice
// rejoinGossips on: below, the view's size paces its joins, as quick
// rejoins are what a small start needs.
func TestKnownMembersBelowAndAboveTheBound(t *testing.T) {
	for _, c := range []struct{ view, known, want int }{
		{1, 2*rejoinGossips - 1, 1},
		{1, 2 * rejoinGossips, 2 * rejoinGossips},
		{60, 41, 60},
		{3, 100, 100},
	} {
		if got := knownMembers(c.view, c.known); got != c.want {
			t.Errorf("view %d, memberlist %d: %d, want %d", c.view, c.known, got, c.want)
		}
	}
}

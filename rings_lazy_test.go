package cloister

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister/ring"
)

// The node loop never builds a ring: the first query does, once per view,
// however many goroutines ask at the same moment.
func TestRingsAreBuiltOnFirstUse(t *testing.T) {
	cfg := LocalConfig()
	cfg.App = "app"
	cfg.Bind = "127.0.0.1:0"
	cfg.Secret = Secret("a-test-secret-of-some-length")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	table := n.Snapshot().rings[DefaultRing].table
	if table == nil || table.r != nil {
		t.Fatalf("ring table %+v at Ready; want one prepared, not built", table)
	}
	var wg sync.WaitGroup
	got := make([]*ring.Ring, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = n.Ring(DefaultRing).built()
		}()
	}
	wg.Wait()
	for _, r := range got {
		if r == nil || r != got[0] {
			t.Fatalf("concurrent first uses got %v; want one ring", got)
		}
	}
	if m, err := n.Whois("k"); err != nil || m.ID != n.Self().ID {
		t.Fatalf("Whois = %v, %v; want self", m, err)
	}
}

func TestRingBuildErrorsAreNoOwner(t *testing.T) {
	view := View{ID: 1, Epoch: 1, Members: []Member{
		{ID: "a#1", Addr: netip.MustParseAddrPort("127.0.0.1:1"), Weight: 1},
		{ID: "a#1", Addr: netip.MustParseAddrPort("127.0.0.1:1"), Weight: 1}, // a duplicate: ring.New refuses it
	}}
	cfgs := Config{}.ringConfigs()
	rs := prepareRings(cfgs, view)
	r := rs.ringsFor(cfgs, view, Ready, "a#1")[DefaultRing]
	if err := r.Err(); !errors.Is(err, ErrNoOwner) || !errors.Is(err, ring.ErrDuplicateMember) {
		t.Fatalf("Err() = %v; want ErrNoOwner wrapping ring.ErrDuplicateMember", err)
	}
	if _, err := r.Whois("k"); !errors.Is(err, ErrNoOwner) {
		t.Fatalf("Whois error = %v; want ErrNoOwner", err)
	}
}

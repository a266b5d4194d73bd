package cloister_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/discovery"
)

// Scenario 10: two live nodes with one name (a second node advertises
// node 0's address). The node that started first keeps the name; the
// other's Start fails with ErrNameConflict; no view ever holds both.
func TestSameNameTwoLiveNodes(t *testing.T) {
	c := cloistertest.New(t, 3, cloistertest.WithMemNet(10))
	first := c.Node(0).Self()
	tr, err := c.Net().Listen(netip.MustParseAddrPort("198.18.0.99:4747"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := cloister.LocalConfig()
	cfg.App = "cloistertest"
	cfg.Secret = cloistertest.Secret()
	cfg.Transport = tr
	cfg.Advertise = first.Addr.String()
	cfg.Consensus = 4
	var addrs []string
	for i := range 3 {
		addrs = append(addrs, c.Addr(i).String())
	}
	p, err := discovery.Parse(strings.Join(addrs, ","), 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sentry = p
	stop := make(chan struct{})
	both := make(chan string, 1)
	go func() { // watches every view for the two namesakes at once
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, n := range c.Nodes() {
				seen := map[string]bool{}
				for _, m := range n.Members() {
					if seen[m.Name] {
						select {
						case both <- m.Name:
						default:
						}
					}
					seen[m.Name] = true
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second, err := cloister.Start(ctx, cfg)
	close(stop)
	if second != nil {
		second.Stop(context.Background())
		t.Fatalf("the second node with name %s started", first.Name)
	}
	var ce *cloister.NameConflictError
	if !errors.Is(err, cloister.ErrNameConflict) || !errors.As(err, &ce) || ce.Other != first.ID {
		t.Fatalf("Start: %v, want a NameConflictError naming %s", err, first.ID)
	}
	select {
	case name := <-both:
		t.Errorf("a view held two members named %s", name)
	default:
	}
	c.WaitAllReady()
	if c.Node(0).Self().ID != first.ID || c.Node(0).State() != cloister.Ready {
		t.Error("the first node lost its name")
	}
}

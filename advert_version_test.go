package cloister

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/cloister-go/cloister/discovery"
	"github.com/cloister-go/cloister/transport"
)

// A later build's adverts (a newer format that still reads as this one,
// with an optional field this build does not know) agree with this
// build's: a cluster rolled one node at a time stays Ready.
func TestTwoAdvertVersionsAgree(t *testing.T) {
	later := &advertFormat{version: metaVersion + 1, minReadable: metaVersion, extra: []byte{99, 3, 'n', 'e', 'w'}}
	var trs []transport.Transport
	var addrs []netip.AddrPort
	for range 3 {
		tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		trs, addrs = append(trs, tr), append(addrs, tr.Addr())
	}
	sentry := discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return addrs, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var nodes []*Node
	for i, tr := range trs {
		cfg := LocalConfig()
		cfg.App = "versions"
		cfg.Secret = Secret("two-advert-versions-secret")
		cfg.Consensus = 3
		cfg.Sentry = sentry
		cfg.Transport = tr
		if i == 2 {
			cfg.advert = later
		}
		n, err := Launch(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Stop(context.Background())
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.WaitReady(ctx); err != nil {
			t.Fatalf("%s: %v", n.Self().Name, err)
		}
	}
	id, term := nodes[0].Snapshot().View.ID, nodes[0].Snapshot().Term
	for _, n := range nodes[1:] {
		if s := n.Snapshot(); s.View.ID != id || s.Term != term {
			t.Fatalf("%s: view %x term %d, want %x %d", n.Self().Name, s.View.ID, s.Term, id, term)
		}
	}
	if bad := nodes[0].Stats().BadAdverts; bad != 0 {
		t.Fatalf("%d adverts of the later format were unreadable", bad)
	}
}

// An advert whose minimum readable version is above this build's is
// refused, with a message that says why.
func TestAdvertNeedingANewerReaderIsRefused(t *testing.T) {
	future := encodeMetaAs(meta{View: 1, State: Ready, Weight: 1}, advertFormat{version: metaVersion + 2, minReadable: metaVersion + 1})
	if _, err := decodeMeta(future); !errors.Is(err, errMeta) {
		t.Fatalf("decodeMeta of a format needing a newer reader: %v", err)
	}
	old := []byte{2, 1}
	if _, err := decodeMeta(old); !errors.Is(err, errMeta) {
		t.Fatalf("decodeMeta of format 2: %v", err)
	}
}

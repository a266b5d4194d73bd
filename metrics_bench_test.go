package cloister_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/metrics"
)

// hotCluster starts 2 Ready nodes, with metrics on or off, and an echo
// handler on node 0.
func hotCluster(tb testing.TB, withMetrics bool) *cloistertest.Cluster {
	tb.Helper()
	c := cloistertest.New(tb, 2, cloistertest.WithConfig(func(i int, cfg *cloister.Config) {
		if withMetrics {
			cfg.Metrics = metrics.Prometheus(prometheus.NewRegistry())
		}
	}))
	if err := c.Node(0).Handle("echo", func(ctx context.Context, from cloister.Member, b []byte) ([]byte, error) {
		return b, nil
	}); err != nil {
		tb.Fatal(err)
	}
	return c
}

var modes = []struct {
	name string
	on   bool
}{{"metrics=off", false}, {"metrics=on", true}}

// The cost of metrics on a Ready node's hot paths (docs/benchmarks.md).
func BenchmarkHotPath(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "cart:" + string(rune('a'+i%26)) + string(rune('0'+i%10)) + string(rune(i))
	}
	for _, m := range modes {
		b.Run("Whois/"+m.name, func(b *testing.B) {
			c := hotCluster(b, m.on)
			n := c.Node(0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := n.Whois(keys[i&1023]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("Call/"+m.name, func(b *testing.B) {
			c := hotCluster(b, m.on)
			from, to := c.Node(1), c.Node(0).Self()
			ctx := context.Background()
			req := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") // 64 B
			b.ReportAllocs()
			for b.Loop() {
				if _, err := from.Call(ctx, to, "echo", req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Whois stays allocation-free with metrics on.
func TestWhoisAllocFreeWithMetrics(t *testing.T) {
	c := hotCluster(t, true)
	n := c.Node(0)
	_, _ = n.Whois("warm") // builds the ring
	if allocs := leastAllocsPerRun(func() {
		if _, err := n.Whois("cart:42"); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("Whois with metrics on: %v allocations per call, want 0", allocs)
	}
}

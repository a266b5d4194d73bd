package registry_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/registry"
)

// BenchmarkLookup looks names up among 100,000 on a single-node cluster:
// the index every node reads, whatever the cluster's size.
func BenchmarkLookup(b *testing.B) {
	names := registry.New(registry.Options{})
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{names}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer node.Stop(ctx)
	h := func(context.Context, cloister.Member, []byte) ([]byte, error) { return nil, nil }
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%06d", i)
		if _, err := names.Register(ctx, keys[i], h); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC() // the registrations' garbage, collected before, not during, the lookups
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := names.Lookup(keys[i%len(keys)]); !ok {
			b.Fatal("missing")
		}
	}
}

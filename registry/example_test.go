package registry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/registry"
)

// Register a name on one node, then call it by name from any node (here,
// a single-node cluster).
func Example() {
	names := registry.New(registry.Options{})
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{names}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)

	_, err = names.Register(ctx, "price-master", func(_ context.Context, _ cloister.Member, req []byte) ([]byte, error) {
		return []byte("price of " + string(req) + ": 42"), nil
	})
	fmt.Println("registered:", err)
	reply, err := names.Call(ctx, "price-master", []byte("tea"))
	fmt.Println(string(reply), err)

	_, err = names.Register(ctx, "price-master", nil)
	fmt.Println(err)
	_, err = names.Register(ctx, "price-master", func(context.Context, cloister.Member, []byte) ([]byte, error) { return nil, nil })
	fmt.Println(errors.Is(err, registry.ErrNameTaken))

	_ = names.Unregister("price-master")
	_, err = names.Call(ctx, "price-master", nil)
	fmt.Println(errors.Is(err, registry.ErrNoSuchName))
	// Output:
	// registered: <nil>
	// price of tea: 42 <nil>
	// registry: register "price-master": nil handler
	// true
	// true
}

// Lookup answers from this node's own copy: no round trip, no lock, no
// allocation.
func ExampleRegistry_Lookup() {
	names := registry.New(registry.Options{})
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{names}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)
	if _, err := names.Register(ctx, "scheduler", func(context.Context, cloister.Member, []byte) ([]byte, error) { return nil, nil }); err != nil {
		fmt.Println(err)
		return
	}
	reg, ok := names.Lookup("scheduler")
	fmt.Println(ok, reg.Holder.ID == node.Self().ID, reg.Stale)
	_, ok = names.Lookup("nobody")
	fmt.Println(ok)
	// Output:
	// true true false
	// false
}

// Watch a name: its current state first, then every change.
func ExampleRegistry_Watch() {
	names := registry.New(registry.Options{})
	cfg := cloister.LocalConfig()
	cfg.Services = []cloister.Service{names}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)
	events, stop := names.Watch("leader")
	defer stop()
	fmt.Println((<-events).Kind)
	_, _ = names.Register(ctx, "leader", func(context.Context, cloister.Member, []byte) ([]byte, error) { return nil, nil })
	fmt.Println((<-events).Kind)
	_ = names.Unregister("leader")
	fmt.Println((<-events).Kind)
	// Output:
	// unregistered
	// registered
	// unregistered
}

package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/discovery"
	"github.com/cloister-go/cloister/groups"
	"github.com/cloister-go/cloister/registry"
	"github.com/cloister-go/cloister/transport"
)

// node is one in-process cloister node with its services.
type node struct {
	n      *cloister.Node
	names  *registry.Registry
	groups *groups.Groups
}

// cluster is n nodes on loopback finding each other through one sentry.
type cluster struct {
	mu     sync.Mutex
	addrs  []netip.AddrPort
	nodes  []*node
	secret cloister.Secret
}

func (c *cluster) sentry() discovery.Provider {
	return discovery.Func(func(context.Context) ([]netip.AddrPort, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return append([]netip.AddrPort(nil), c.addrs...), nil
	})
}

// start launches n nodes and waits until all are Ready.
func start(ctx context.Context, n int) (*cluster, error) {
	c := &cluster{secret: cloister.Secret("bench-names-secret-0123456789abcdef")}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for range n {
		if _, err := c.add(ctx, n, &wg, errs); err != nil {
			c.stop()
			return nil, err
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

// add launches one more node; with wg, waits for Ready on a goroutine.
func (c *cluster) add(ctx context.Context, consensus int, wg *sync.WaitGroup, errs []error) (*node, error) {
	tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	cfg := cloister.LocalConfig()
	cfg.App = "names-bench"
	cfg.Secret = c.secret
	cfg.Consensus = consensus
	cfg.Transport = tr
	cfg.Sentry = c.sentry()
	nd := &node{names: registry.New(registry.Options{}), groups: groups.New(groups.Options{})}
	cfg.Services = []cloister.Service{nd.names, nd.groups}
	c.mu.Lock()
	c.addrs = append(c.addrs, tr.Addr())
	i := len(c.nodes)
	c.mu.Unlock()
	n, err := cloister.Launch(ctx, cfg)
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("node %d: %w", i, err)
	}
	nd.n = n
	c.mu.Lock()
	c.nodes = append(c.nodes, nd)
	c.mu.Unlock()
	if wg != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.WaitReady(ctx)
		}()
	}
	return nd, nil
}

func (c *cluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10e9)
	defer cancel()
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _ = nd.n.Stop(ctx) }()
	}
	wg.Wait()
}

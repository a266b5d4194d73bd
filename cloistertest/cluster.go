package cloistertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest/memnet"
	"github.com/cloister-go/cloister/discovery"
	"github.com/cloister-go/cloister/transport"
)

// DefaultTimeout bounds every wait of the harness unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Secret returns the secret harness nodes share (a new copy each time:
// changing it changes nothing else).
func Secret() cloister.Secret { return cloister.Secret("cloistertest-shared-secret") }

// Option changes how New builds a cluster.
type Option func(*options)

type options struct {
	configure func(i int, c *cloister.Config)
	consensus int
	wait      bool
	timeout   time.Duration
	logger    *slog.Logger
	memnet    bool
	seed      uint64
}

// WithMemNet runs the nodes on an in-memory network (package memnet)
// instead of loopback sockets, so the test can partition, block, delay,
// drop and pause their traffic (Cluster.Partition, Heal, Block, Isolate,
// Loss, Delay, Pause, or Cluster.Net for the network itself). seed makes
// its randomness (loss, jitter) reproducible. Node i's address is
// 198.18.0.(i+1):4747; a node restarted with RestartElsewhere gets a new one.
func WithMemNet(seed uint64) Option {
	return func(o *options) { o.memnet, o.seed = true, seed }
}

// WithConfig lets the test change node i's Config before it starts.
func WithConfig(f func(i int, c *cloister.Config)) Option {
	return func(o *options) { o.configure = f }
}

// WithConsensus sets Config.Consensus on every node (default: the cluster size).
func WithConsensus(n int) Option { return func(o *options) { o.consensus = n } }

// WithoutWait makes New return once the nodes are launched, before Ready.
func WithoutWait() Option { return func(o *options) { o.wait = false } }

// WithTimeout bounds New's wait and every Wait* call (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithLogger sends every node's logs to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Cluster is a set of in-process nodes. Its methods may be called from the
// test goroutine and from others, except those that can fail the test
// (Add, Stop, Kill, Restart, RestartElsewhere, the Wait methods and the
// fault injectors on a cluster not made WithMemNet): they call t.Fatalf,
// which must run on the test's goroutine.
type Cluster struct {
	t    testing.TB
	opts options
	net  *memnet.Network // nil unless WithMemNet

	sentryDown atomic.Bool
	nextHost   atomic.Uint32 // the next in-memory host number

	mu    sync.Mutex
	slots []*slot

	reaping sync.WaitGroup // killed nodes finishing their Stop
}

// slot is one node position: an address that survives restarts.
type slot struct {
	addr netip.AddrPort
	node *cloister.Node
	tr   transport.Transport
	live bool
}

// New starts n nodes and, unless WithoutWait, waits until all are Ready.
func New(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	o := options{consensus: n, wait: true, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Cluster{t: t, opts: o}
	if o.memnet {
		c.net = memnet.New(o.seed)
	}
	t.Cleanup(c.stopAll)
	c.mu.Lock()
	for range n {
		c.slots = append(c.slots, &slot{})
	}
	c.mu.Unlock()
	// Configure every node here, one after the other, so that WithConfig's
	// function runs on the caller's goroutine (it may call t.Fatalf);
	// only the launches run concurrently, and they never touch t.
	cfgs := make([]cloister.Config, n)
	trs := make([]transport.Transport, n)
	for i := range n {
		tr, cfg, err := c.configure(i)
		if err != nil {
			for _, done := range trs[:i] {
				done.Close()
			}
			t.Fatalf("cloistertest: node %d: %v", i, err)
		}
		trs[i], cfgs[i] = tr, cfg
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(i, trs[i], cfgs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("cloistertest: node %d: %v", i, err)
		}
	}
	if o.wait {
		c.WaitAllReady()
	}
	return c
}

// sentry lists every slot that has an address, alive or not: like a DNS
// name that still resolves to a stopped container.
func (c *Cluster) sentry() discovery.Provider {
	return discovery.Func(func(context.Context) ([]netip.AddrPort, error) {
		if c.sentryDown.Load() {
			return nil, errSentryDown
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		var out []netip.AddrPort
		for _, s := range c.slots {
			if s.addr.IsValid() {
				out = append(out, s.addr)
			}
		}
		return out, nil
	})
}

// launch starts the node of slot i at its address (a free port the first time).
func (c *Cluster) launch(i int) error {
	tr, cfg, err := c.configure(i)
	if err != nil {
		return err
	}
	return c.start(i, tr, cfg)
}

// configure opens the transport of slot i and returns the node's Config,
// changed by WithConfig's function.
func (c *Cluster) configure(i int) (transport.Transport, cloister.Config, error) {
	c.mu.Lock()
	s := c.slots[i]
	addr := s.addr
	c.mu.Unlock()

	tr, err := c.listen(addr)
	if err != nil {
		return nil, cloister.Config{}, err
	}
	cfg := cloister.LocalConfig()
	// The LAN profile, not the local one: the local profile's 50 ms
	// probe timeout is missed by a hundred nodes sharing a few CPUs, and
	// their false failures kept 100 nodes from agreeing for 35-144 s
	// (LAN: under 4 s). Nor the default (Steady), whose silent-host
	// detection of about 10 s would slow the tests that wait for one;
	// beyond 100 nodes, memberlist's timings slowed down in proportion
	// (DetectionFor).
	cfg.Detection = DetectionFor(len(c.slots))
	cfg.App = "cloistertest"
	cfg.Secret = Secret()
	cfg.Consensus = c.opts.consensus
	cfg.Sentry = c.sentry()
	cfg.Transport = tr
	cfg.Logger = c.opts.logger
	if c.opts.configure != nil {
		c.opts.configure(i, &cfg)
	}
	if c.net != nil {
		cfg.Transport = tr // the in-memory network is the point of WithMemNet
	}
	return tr, cfg, nil
}

// start launches node i on tr with cfg; it never touches the test's T.
func (c *Cluster) start(i int, tr transport.Transport, cfg cloister.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.timeout)
	defer cancel()
	node, err := cloister.Launch(ctx, cfg)
	if err != nil {
		tr.Close()
		return err
	}
	c.mu.Lock()
	s := c.slots[i]
	s.addr, s.node, s.tr, s.live = tr.Addr(), node, tr, true
	c.mu.Unlock()
	return nil
}

// Len is the number of node positions, live or not.
func (c *Cluster) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots)
}

// Node returns node i (its latest incarnation).
func (c *Cluster) Node(i int) *cloister.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slots[i].node
}

// Nodes returns the live nodes.
func (c *Cluster) Nodes() []*cloister.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*cloister.Node
	for _, s := range c.slots {
		if s.live {
			out = append(out, s.node)
		}
	}
	return out
}

// Add starts one more node and returns its index. It does not wait for Ready.
func (c *Cluster) Add() int {
	c.t.Helper()
	c.mu.Lock()
	c.slots = append(c.slots, &slot{})
	i := len(c.slots) - 1
	c.mu.Unlock()
	if err := c.launch(i); err != nil {
		c.t.Fatalf("cloistertest: add node %d: %v", i, err)
	}
	return i
}

// Stop makes node i leave gracefully and waits until it has stopped.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	n := c.take(i)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.timeout)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		c.t.Logf("cloistertest: stop node %d: %v", i, err)
	}
}

// Kill crashes the given nodes together: their sockets close at once
// (on the in-memory network at one instant, memnet.Network.Crash; on
// loopback concurrently) and they send no leave, so the others find out
// through the failure detector.
func (c *Cluster) Kill(nodes ...int) {
	c.t.Helper()
	c.mu.Lock()
	trs := make([]transport.Transport, len(nodes))
	addrs := make([]netip.AddrPort, len(nodes))
	for k, i := range nodes {
		trs[k], addrs[k] = c.slots[i].tr, c.slots[i].tr.Addr()
	}
	c.mu.Unlock()
	if c.net != nil {
		c.net.Crash(addrs...)
	} else {
		var wg sync.WaitGroup
		for _, tr := range trs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr.Close()
			}()
		}
		wg.Wait()
	}
	for _, i := range nodes {
		n := c.take(i)
		// Release the node's goroutines in the background: with its
		// sockets closed nothing it does reaches the others any more.
		c.reaping.Add(1)
		go func() {
			defer c.reaping.Done()
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.timeout)
			defer cancel()
			_ = n.Stop(ctx)
		}()
	}
}

// Restart starts a new incarnation of node i at the same address. Node i
// must have been stopped or killed.
func (c *Cluster) Restart(i int) *cloister.Node {
	c.t.Helper()
	c.mu.Lock()
	live := c.slots[i].live
	c.mu.Unlock()
	if live {
		c.t.Fatalf("cloistertest: restart node %d: still running; Stop or Kill it first", i)
	}
	if err := c.launch(i); err != nil {
		c.t.Fatalf("cloistertest: restart node %d: %v", i, err)
	}
	return c.Node(i)
}

func (c *Cluster) take(i int) *cloister.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slots[i]
	if !s.live {
		c.t.Fatalf("cloistertest: node %d is not running", i)
	}
	s.live = false
	return s.node
}

func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = n.Stop(ctx)
		}()
	}
	wg.Wait()
	c.reaping.Wait()
	c.mu.Lock()
	for _, s := range c.slots {
		s.live = false
	}
	c.mu.Unlock()
	if c.net != nil {
		_ = c.net.Close()
	}
}

func (c *Cluster) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := ""
	for i, s := range c.slots {
		if !s.live {
			out += fmt.Sprintf("node %d: down\n", i)
			continue
		}
		snap := s.node.Snapshot()
		out += fmt.Sprintf("node %d: %s %s view=%016x members=%d\n", i, snap.Self.Name, snap.State, snap.View.ID, len(snap.View.Members))
	}
	return out
}

package cloistertest

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cloister-go/cloister/cloistertest/memnet"
	"github.com/cloister-go/cloister/transport"
)

// errSentryDown is what the harness's sentry answers while SentryDown.
var errSentryDown = errors.New("cloistertest: sentry down")

// memPort is the port of every in-memory node.
const memPort = 4747

// listen opens node transport at addr, or at a fresh address when addr is
// not valid: a free loopback port, or the next in-memory host.
func (c *Cluster) listen(addr netip.AddrPort) (transport.Transport, error) {
	if c.net == nil {
		bind := "127.0.0.1:0"
		if addr.IsValid() {
			bind = addr.String()
		}
		return transport.Listen(transport.NetConfig{Bind: bind})
	}
	if !addr.IsValid() {
		h := c.nextHost.Add(1)
		addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(h >> 8), byte(h)}), memPort)
	}
	return c.net.Listen(addr)
}

// Net returns the in-memory network of a cluster made WithMemNet, or nil.
func (c *Cluster) Net() *memnet.Network { return c.net }

// Addr returns node i's address.
func (c *Cluster) Addr(i int) netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slots[i].addr
}

// SentryDown makes the harness's sentry fail every poll while down is
// true, as a DNS server that is down: nodes must find each other by
// themselves.
func (c *Cluster) SentryDown(down bool) { c.sentryDown.Store(down) }

// network returns the in-memory network, failing the test without one.
func (c *Cluster) network(op string) *memnet.Network {
	c.t.Helper()
	if c.net == nil {
		c.t.Fatalf("cloistertest: %s needs a cluster made WithMemNet", op)
	}
	return c.net
}

// addrs maps node indices to their addresses.
func (c *Cluster) addrs(nodes []int) []netip.AddrPort {
	out := make([]netip.AddrPort, len(nodes))
	for k, i := range nodes {
		out[k] = c.Addr(i)
	}
	return out
}

// Partition splits the in-memory network into groups of node indices:
// nodes in different groups cannot reach each other; a node in no group
// reaches nobody. It replaces any earlier partition.
func (c *Cluster) Partition(groups ...[]int) {
	c.t.Helper()
	n := c.network("Partition")
	var gs [][]netip.AddrPort
	for _, g := range groups {
		gs = append(gs, c.addrs(g))
	}
	n.Partition(gs...)
}

// Heal removes every fault of the in-memory network.
func (c *Cluster) Heal() {
	c.t.Helper()
	c.network("Heal").Heal()
}

// Block cuts the traffic from node from to node to, one way.
func (c *Cluster) Block(from, to int) {
	c.t.Helper()
	c.network("Block").Block(c.Addr(from), c.Addr(to))
}

// Isolate cuts node i off from every other node.
func (c *Cluster) Isolate(i int) {
	c.t.Helper()
	c.network("Isolate").Isolate(c.Addr(i))
}

// Loss drops datagrams to and from node i with probability p.
func (c *Cluster) Loss(i int, p float64) {
	c.t.Helper()
	c.network("Loss").Loss(c.Addr(i), p)
}

// Delay delays the traffic to and from node i by d ± jitter.
func (c *Cluster) Delay(i int, d, jitter time.Duration) {
	c.t.Helper()
	c.network("Delay").Delay(c.Addr(i), d, jitter)
}

// Pause freezes node i's traffic, as under SIGSTOP, until Unpause.
func (c *Cluster) Pause(i int) {
	c.t.Helper()
	c.network("Pause").Pause(c.Addr(i))
}

// Unpause delivers what Pause held and lets node i's traffic flow again.
func (c *Cluster) Unpause(i int) {
	c.t.Helper()
	c.network("Unpause").Unpause(c.Addr(i))
}

// RestartElsewhere starts a new incarnation of node i at a new address,
// as a container rescheduled with a new IP. Node i must have been stopped
// or killed. The harness's sentry lists the new address, not the old one.
func (c *Cluster) RestartElsewhere(i int) {
	c.t.Helper()
	c.mu.Lock()
	if c.slots[i].live {
		c.mu.Unlock()
		c.t.Fatalf("cloistertest: restart node %d: still running; Stop or Kill it first", i)
	}
	c.slots[i].addr = netip.AddrPort{}
	c.mu.Unlock()
	if err := c.launch(i); err != nil {
		c.t.Fatalf("cloistertest: restart node %d elsewhere: %v", i, err)
	}
}

// States returns every node's state name ("down" for a node not running),
// for failure messages.
func (c *Cluster) States() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.slots))
	for i, s := range c.slots {
		out[i] = "down"
		if s.live {
			snap := s.node.Snapshot()
			out[i] = fmt.Sprintf("%s/t%d/%d", snap.StateName, snap.Term, len(snap.View.Members))
		}
	}
	return out
}

package memnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// Bounds of the queues a Network keeps. Everything it holds is bounded by
// these, whatever the traffic and the faults.
const (
	// PacketQueue is the capacity of each transport's Packets channel. A
	// datagram that arrives when it is full is dropped and counted in
	// Stats.DroppedFull, as a full socket buffer drops it.
	PacketQueue = 1024
	// InFlightLimit bounds the delayed datagrams on their way to one
	// transport. Beyond it datagrams are dropped and counted in
	// Stats.DroppedFull.
	InFlightLimit = 4096
	// PausedLimit bounds the datagrams held for a paused transport. Beyond
	// it datagrams are dropped and counted in Stats.DroppedPaused.
	PausedLimit = 512
	// AcceptQueue is the capacity of each Streams channel: dialled streams
	// nobody has accepted yet. A dial finding it full waits for room until
	// its context ends (a full listen backlog drops SYNs; it does not
	// refuse them).
	AcceptQueue = 128
	// StreamBuffer is the number of bytes one direction of a stream holds
	// (written and not yet read, including bytes held by a fault). A
	// writer blocks while it is full.
	StreamBuffer = 256 << 10
)

// firstEphemeralPort is where Listen starts looking when asked for port 0.
const firstEphemeralPort = 49152

// Network is an in-memory network of hosts' ports with injectable faults.
//
// Its zero value is not usable; call New. All its methods are safe for
// concurrent use, with each other and with traffic on its transports.
type Network struct {
	hostsMu sync.Mutex // serialises Listen, remove and Close
	closed  bool
	hosts   sync.Map // netip.AddrPort -> *host; read without hostsMu by every dial and datagram

	faultMu sync.Mutex // serialises fault changes
	state   atomic.Pointer[faults]

	rngMu sync.Mutex
	rng   *rand.Rand

	stats counters
}

// Stats counts what a Network did with the traffic it carried.
type Stats struct {
	Sent              uint64 // datagrams accepted by WritePacket
	Delivered         uint64 // datagrams put on a receiver's Packets channel
	DroppedFault      uint64 // datagrams dropped by a partition, block, isolation or a paused sender
	DroppedLoss       uint64 // datagrams dropped by Loss
	DroppedFull       uint64 // datagrams dropped because the receiver's queue was full
	DroppedPaused     uint64 // datagrams dropped because too many were held for a paused receiver
	DroppedNoListener uint64 // datagrams sent to an address nobody listened on
	Dialled           uint64 // streams established by Dial
	Refused           uint64 // dials refused: nobody listening
	DialTimeouts      uint64 // dials whose context ended first (typically on a cut path)
}

type counters struct {
	sent, delivered, droppedFault, droppedLoss, droppedFull, droppedPaused,
	droppedNoListener, dialled, refused, dialTimeouts atomic.Uint64
}

// New returns an empty network with no faults. seed seeds the only source
// of randomness the network uses (loss and jitter), so a run is
// reproducible given the same sequence of calls.
func New(seed uint64) *Network {
	n := &Network{
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	n.state.Store(newFaults())
	return n
}

// Listen opens a port at addr and returns its transport. addr must have a
// specific IP; with port 0 the network picks a free port from 49152 up,
// which the transport's Addr reports. The error wraps transport.ErrBind
// (and syscall.EADDRINUSE when the address is taken by an open transport).
// Once that transport is closed, the address may be listened on again.
// After the network's Close, Listen returns transport.ErrClosed.
func (n *Network) Listen(addr netip.AddrPort) (transport.Transport, error) {
	addr = unmap(addr)
	if !addr.IsValid() || addr.Addr().IsUnspecified() {
		return nil, fmt.Errorf("%w: memnet: %s: need a specific IP address", transport.ErrBind, addr)
	}
	n.hostsMu.Lock()
	defer n.hostsMu.Unlock()
	if n.closed {
		return nil, transport.ErrClosed
	}
	if addr.Port() == 0 {
		free := false
		for p := firstEphemeralPort; p <= math.MaxUint16 && !free; p++ {
			a := netip.AddrPortFrom(addr.Addr(), uint16(p))
			if _, taken := n.hosts.Load(a); !taken {
				addr, free = a, true
			}
		}
		if !free {
			return nil, fmt.Errorf("%w: memnet: %s: no free port: %w", transport.ErrBind, addr.Addr(), syscall.EADDRINUSE)
		}
	}
	if _, taken := n.hosts.Load(addr); taken {
		return nil, fmt.Errorf("%w: memnet: %s: %w", transport.ErrBind, addr, syscall.EADDRINUSE)
	}
	h := newHost(n, addr)
	n.hosts.Store(addr, h)
	return h, nil
}

// Close closes every transport on the network and waits for them. Later
// calls to Listen fail. It is idempotent and always returns nil.
func (n *Network) Close() error {
	n.hostsMu.Lock()
	n.closed = true
	var hosts []*host
	n.hosts.Range(func(_, h any) bool {
		hosts = append(hosts, h.(*host))
		return true
	})
	n.hostsMu.Unlock()
	for _, h := range hosts {
		h.Close()
	}
	return nil
}

// Crash closes the transports listening at addrs together, as when their
// processes are killed at once (a host, a rack, the bench's ten victims):
// from one instant every one of them refuses dials, sends and receives
// nothing, and then their streams are closed, concurrently. Closing them
// one after the other (Close waits for each transport's goroutines)
// spread ten kills over more than a second in a busy process of 500
// nodes, and the survivors saw ten failures, not one. It returns once all
// are closed, with how many addresses had an open transport.
func (n *Network) Crash(addrs ...netip.AddrPort) int {
	var hosts []*host
	n.hostsMu.Lock()
	for _, a := range addrs {
		if h := n.lookup(unmap(a)); h != nil {
			n.hosts.CompareAndDelete(h.addr, h)
			h.halt()
			hosts = append(hosts, h)
		}
	}
	n.hostsMu.Unlock()
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Close()
		}()
	}
	wg.Wait()
	return len(hosts)
}

// Stats returns the network's counters.
func (n *Network) Stats() Stats {
	c := &n.stats
	return Stats{
		Sent:              c.sent.Load(),
		Delivered:         c.delivered.Load(),
		DroppedFault:      c.droppedFault.Load(),
		DroppedLoss:       c.droppedLoss.Load(),
		DroppedFull:       c.droppedFull.Load(),
		DroppedPaused:     c.droppedPaused.Load(),
		DroppedNoListener: c.droppedNoListener.Load(),
		Dialled:           c.dialled.Load(),
		Refused:           c.refused.Load(),
		DialTimeouts:      c.dialTimeouts.Load(),
	}
}

// Partition splits the network into groups: traffic between addresses in
// different groups is cut both ways, and an address named in no group is
// cut from every other address (so Partition with no groups cuts every
// address from every other). An address named in several groups belongs
// to the last. It replaces any previous partition; blocks, isolations and
// the other faults stay.
func (n *Network) Partition(groups ...[]netip.AddrPort) {
	n.change(func(f *faults) {
		f.grouped = true
		f.group = make(map[netip.AddrPort]int)
		for i, g := range groups {
			for _, a := range g {
				f.group[unmap(a)] = i
			}
		}
	})
}

// Heal removes every fault: the partition, blocks, isolations, loss,
// delays and pauses. Stream bytes held by a fault then flow, in order, and
// datagrams held for paused addresses are delivered.
func (n *Network) Heal() {
	n.change(func(f *faults) { *f = faults{} })
}

// Block cuts traffic from one address to another, one way: datagrams and
// stream bytes from from to to are cut, the reverse direction still
// works. A dial needs both directions (its handshake goes both ways), so
// a dial either way hangs while the block stands.
func (n *Network) Block(from, to netip.AddrPort) {
	from, to = unmap(from), unmap(to)
	n.change(func(f *faults) {
		if f.blocked == nil {
			f.blocked = make(map[link]struct{})
		}
		f.blocked[link{from, to}] = struct{}{}
	})
}

// Unblock removes a block set by Block(from, to).
func (n *Network) Unblock(from, to netip.AddrPort) {
	from, to = unmap(from), unmap(to)
	n.change(func(f *faults) { delete(f.blocked, link{from, to}) })
}

// Isolate cuts addr from every other address, both ways, until Rejoin or
// Heal. It does not change the partition.
func (n *Network) Isolate(addr netip.AddrPort) {
	addr = unmap(addr)
	n.change(func(f *faults) {
		if f.isolated == nil {
			f.isolated = make(map[netip.AddrPort]struct{})
		}
		f.isolated[addr] = struct{}{}
	})
}

// Rejoin undoes Isolate(addr). A partition or block still applies.
func (n *Network) Rejoin(addr netip.AddrPort) {
	addr = unmap(addr)
	n.change(func(f *faults) { delete(f.isolated, addr) })
}

// Loss makes datagrams to or from addr be dropped with probability p,
// clamped to [0, 1] (NaN counts as 0). When both ends have a loss, each
// applies independently. Loss(addr, 0) removes it. Streams are reliable,
// as TCP is: loss never applies to stream bytes.
func (n *Network) Loss(addr netip.AddrPort, p float64) {
	addr = unmap(addr)
	if math.IsNaN(p) || p < 0 {
		p = 0
	}
	p = min(p, 1)
	n.change(func(f *faults) {
		if p == 0 {
			delete(f.loss, addr)
			return
		}
		if f.loss == nil {
			f.loss = make(map[netip.AddrPort]float64)
		}
		f.loss[addr] = p
	})
}

// Delay makes datagrams and stream bytes to or from addr arrive d ± jitter
// after they are sent, the jitter drawn uniformly and the result never
// negative. When both ends have a delay the two add up. Stream bytes stay
// in order: a byte never arrives before one written earlier on the same
// stream. A dial waits for one round trip. Negative values count as 0;
// Delay(addr, 0, 0) removes the delay.
func (n *Network) Delay(addr netip.AddrPort, d, jitter time.Duration) {
	addr = unmap(addr)
	d, jitter = max(d, 0), max(jitter, 0)
	n.change(func(f *faults) {
		if d == 0 && jitter == 0 {
			delete(f.delay, addr)
			return
		}
		if f.delay == nil {
			f.delay = make(map[netip.AddrPort]latency)
		}
		f.delay[addr] = latency{d, jitter}
	})
}

// Pause freezes addr's network, as SIGSTOP would freeze its process:
// nothing it sends leaves (its datagrams are dropped, its stream bytes
// wait in the stream buffer) and nothing sent to it is delivered
// (datagrams are held, up to PausedLimit, and stream bytes wait in the
// stream buffer) until Unpause or Heal. Dials to or from addr hang. The
// node's goroutines keep running: only its network is frozen.
func (n *Network) Pause(addr netip.AddrPort) {
	addr = unmap(addr)
	n.change(func(f *faults) {
		if f.paused == nil {
			f.paused = make(map[netip.AddrPort]struct{})
		}
		f.paused[addr] = struct{}{}
	})
}

// Unpause undoes Pause(addr): held datagrams are delivered (those whose
// delay has passed at once) and held stream bytes flow.
func (n *Network) Unpause(addr netip.AddrPort) {
	addr = unmap(addr)
	n.change(func(f *faults) { delete(f.paused, addr) })
}

// change applies fn to a copy of the fault state, publishes the copy and
// wakes everything waiting on the old state.
func (n *Network) change(fn func(f *faults)) {
	n.faultMu.Lock()
	defer n.faultMu.Unlock()
	old := n.state.Load()
	f := old.clone()
	fn(f)
	f.at = time.Now()
	f.changed = make(chan struct{})
	n.state.Store(f)
	close(old.changed)
}

// lookup returns the open transport at addr, or nil.
func (n *Network) lookup(addr netip.AddrPort) *host {
	h, _ := n.hosts.Load(addr)
	dst, _ := h.(*host)
	return dst
}

// remove forgets h, which is closing, so that its address is free again.
func (n *Network) remove(h *host) {
	n.hostsMu.Lock()
	defer n.hostsMu.Unlock()
	n.hosts.CompareAndDelete(h.addr, h)
}

// lost draws whether a datagram from one address to another is lost.
func (n *Network) lost(f *faults, from, to netip.AddrPort) bool {
	p := f.lossP(from, to)
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	n.rngMu.Lock()
	x := n.rng.Float64()
	n.rngMu.Unlock()
	return x < p
}

// delayFor draws the one-way delay from one address to another.
func (n *Network) delayFor(f *faults, from, to netip.AddrPort) time.Duration {
	if len(f.delay) == 0 {
		return 0
	}
	var d time.Duration
	if l, ok := f.delay[from]; ok {
		d += n.sample(l)
	}
	if l, ok := f.delay[to]; ok && to != from {
		d += n.sample(l)
	}
	return d
}

// sample draws d ± jitter, never negative.
func (n *Network) sample(l latency) time.Duration {
	if l.jitter <= 0 {
		return l.d
	}
	n.rngMu.Lock()
	x := n.rng.Int64N(2*int64(l.jitter) + 1)
	n.rngMu.Unlock()
	return max(l.d-l.jitter+time.Duration(x), 0)
}

// unmap turns IPv4-mapped IPv6 addresses into plain IPv4 ones, as
// transport.Net does, so that an address has one spelling.
func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// tcpAddr is a stream end's address as net.Conn reports it.
func tcpAddr(a netip.AddrPort) *net.TCPAddr { return net.TCPAddrFromAddrPort(a) }

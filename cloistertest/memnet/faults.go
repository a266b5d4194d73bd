package memnet

import (
	"maps"
	"net/netip"
	"time"
)

// link is one direction between two addresses.
type link struct{ from, to netip.AddrPort }

// latency is a delay with its jitter.
type latency struct{ d, jitter time.Duration }

// faults is one immutable state of the network's faults. A change builds a
// new state and closes the old one's changed channel, which wakes every
// stream, dial and delivery loop waiting for the network to change.
type faults struct {
	at       time.Time     // when this state took effect
	changed  chan struct{} // closed when a newer state replaces this one
	group    map[netip.AddrPort]int
	grouped  bool // a partition is in force (group may be empty)
	blocked  map[link]struct{}
	isolated map[netip.AddrPort]struct{}
	paused   map[netip.AddrPort]struct{}
	loss     map[netip.AddrPort]float64
	delay    map[netip.AddrPort]latency
}

func newFaults() *faults {
	return &faults{at: time.Now(), changed: make(chan struct{})}
}

// clone copies the state for a change; the copy's at and changed are set
// by the caller.
func (f *faults) clone() *faults {
	return &faults{
		group:    maps.Clone(f.group),
		grouped:  f.grouped,
		blocked:  maps.Clone(f.blocked),
		isolated: maps.Clone(f.isolated),
		paused:   maps.Clone(f.paused),
		loss:     maps.Clone(f.loss),
		delay:    maps.Clone(f.delay),
	}
}

// cut reports whether traffic from one address to another is cut by a
// partition, a block or an isolation. Traffic from an address to itself
// is never cut.
func (f *faults) cut(from, to netip.AddrPort) bool {
	if from == to {
		return false
	}
	if f.grouped {
		gf, okf := f.group[from]
		gt, okt := f.group[to]
		if !okf || !okt || gf != gt {
			return true
		}
	}
	if _, ok := f.isolated[from]; ok {
		return true
	}
	if _, ok := f.isolated[to]; ok {
		return true
	}
	_, ok := f.blocked[link{from, to}]
	return ok
}

// isPaused reports whether a's network is frozen.
func (f *faults) isPaused(a netip.AddrPort) bool {
	_, ok := f.paused[a]
	return ok
}

// open reports whether bytes sent from one address to another leave the
// sender and reach the receiver now.
func (f *faults) open(from, to netip.AddrPort) bool {
	return !f.cut(from, to) && !f.isPaused(from) && !f.isPaused(to)
}

// lossP is the probability that a datagram from one address to another is
// lost: each end's loss applies independently.
func (f *faults) lossP(from, to netip.AddrPort) float64 {
	keep := 1 - f.loss[from]
	if to != from {
		keep *= 1 - f.loss[to]
	}
	return 1 - keep
}

package cloister

import (
	"hash/fnv"
	"net/netip"
	"slices"
	"sync/atomic"
)

// Who retries the address of a failed member. A join is a full state
// exchange: the joiner encodes every member it knows and decodes every
// member the other side knows. When every node of a large cluster retried
// the address of the same failed member every second (reconnect.go), that
// member received N state exchanges of N members per round, and when it
// was alive but slow (falsely declared dead), the exchanges did not even
// revive it (memberlist keeps its own dead verdict over an alive message
// of the same incarnation): at 500 nodes sharing two CPUs that load turned
// one false failure into the next. One successful exchange is all a heal
// needs, so only a few members of a view retry an address at the normal
// pace: the reconnectFanout members that follow the address on a hash
// circle of the view's member IDs. Every node computes the circle from its
// own view, so while views differ a few more try; when a view has at most
// reconnectFanout members, every member tries; the others retry every
// reconnectSlow, as a safety net.
//
// Addresses that discovery returns and that are not members are not
// thinned that way: a member that missed one alive message (the odd one
// out of a large start) must rejoin it itself, and a refused dial to an
// address that is not listening yet costs nothing.
const reconnectFanout = 3

// viewIndex is what the discovery, rejoin and reconnect loops look up in
// one view, built once per view (View.ID digests the members' IDs, which
// hold their addresses): each of those loops runs every 100 ms on every
// node, and rebuilding a set of N addresses each time was an eighth of the
// CPU of 500 nodes in one process. It is not rebuilt per snapshot either:
// every advert of a member makes a new snapshot of the same view, and
// rebuilding the index for each of them made garbage in proportion to the
// cube of the cluster's size during an assembly.
type viewIndex struct {
	view   ViewID
	live   map[netip.AddrPort]bool // see liveAddrs; read only
	hashes []uint64                // the hash circle: the members' IDs, sorted
	self   uint64                  // this node's place on it
}

// viewIndexCache holds the index of the last view asked about.
type viewIndexCache struct{ last atomic.Pointer[viewIndex] }

// index returns the index of the current view.
func (n *Node) index() *viewIndex {
	s := n.snap.Load()
	x := n.viewIdx.last.Load()
	if x == nil || x.view != s.View.ID {
		x = newViewIndex(s, n.self.ID)
		x.live = n.liveAddrs(s)
		n.viewIdx.last.Store(x)
	}
	return x
}

// newViewIndex returns the hash circle of s's view as seen by member self
// (who is on it whether or not the view holds it); live is left empty.
func newViewIndex(s *Snapshot, self string) *viewIndex {
	x := &viewIndex{view: s.View.ID, self: fnv64(self)}
	x.hashes = make([]uint64, 0, len(s.View.Members)+1)
	x.hashes = append(x.hashes, x.self)
	for _, m := range s.View.Members {
		if m.ID != self {
			x.hashes = append(x.hashes, fnv64(m.ID))
		}
	}
	slices.Sort(x.hashes)
	return x
}

// chosen reports whether this node is one of the k members of the current
// view that follow address a on the view's hash circle (always true when
// the view has at most k members).
func (n *Node) chosen(a netip.AddrPort, k int) bool {
	return n.index().chosen(fnv64(a.String()), k)
}

// chosen reports whether self is among the k places at or after h on the
// circle.
func (c *viewIndex) chosen(h uint64, k int) bool {
	if len(c.hashes) <= k {
		return true
	}
	i, _ := slices.BinarySearch(c.hashes, h)
	for j := range k {
		if c.hashes[(i+j)%len(c.hashes)] == c.self {
			return true
		}
	}
	return false
}

// fnv64 is FNV-1a of s: stable across processes and versions, so every
// node places an address and a member at the same point.
func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

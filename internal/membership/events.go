package membership

import (
	"net/netip"
	"sync"

	"github.com/hashicorp/memberlist"
)

// EventKind says what happened to a member.
type EventKind uint8

// The membership event kinds.
const (
	Joined   EventKind = iota + 1 // a member became alive
	Updated                       // a member's metadata changed
	Departed                      // a member left or was declared dead
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case Joined:
		return "joined"
	case Updated:
		return "updated"
	case Departed:
		return "departed"
	}
	return "unknown"
}

// Member is a copy of what memberlist knows about one member.
type Member struct {
	ID   string         // the memberlist node name: unique per incarnation
	Addr netip.AddrPort // where it gossips
	Meta []byte         // its metadata, owned by the receiver
}

// Event is one membership change.
type Event struct {
	Kind   EventKind
	Member Member
}

// queue is an unbounded FIFO of events. Push never blocks.
type queue struct {
	mu     sync.Mutex
	items  []Event
	signal chan struct{} // capacity 1: "there may be items"
}

func newQueue() *queue { return &queue{signal: make(chan struct{}, 1)} }

func (q *queue) push(e Event) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// drain returns every queued event in order.
func (q *queue) drain() []Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

func toMember(n *memberlist.Node) Member {
	addr, _ := netip.AddrFromSlice(n.Addr)
	return Member{
		ID:   n.Name,
		Addr: netip.AddrPortFrom(addr.Unmap(), n.Port),
		Meta: append([]byte(nil), n.Meta...),
	}
}

// delegate receives memberlist callbacks. It never blocks.
type delegate struct {
	q    *queue
	meta func() []byte
}

func (d *delegate) NotifyJoin(n *memberlist.Node) {
	d.q.push(Event{Kind: Joined, Member: toMember(n)})
}

func (d *delegate) NotifyUpdate(n *memberlist.Node) {
	d.q.push(Event{Kind: Updated, Member: toMember(n)})
}

// NotifyLeave reports a departure. memberlist calls it for a graceful leave
// and for a death alike, and the Node it passes does not say which (its
// State field is not kept up to date); the caller tells them apart from the
// member's last metadata.
func (d *delegate) NotifyLeave(n *memberlist.Node) {
	d.q.push(Event{Kind: Departed, Member: toMember(n)})
}

func (d *delegate) NodeMeta(limit int) []byte {
	m := d.meta()
	if len(m) > limit {
		// Validation keeps metadata far below memberlist's limit; never
		// send a truncated (undecodable) value.
		return nil
	}
	return m
}

func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

package membership

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"golang.org/x/time/rate"
)

// EventKind says what happened to a member.
type EventKind uint8

// The membership event kinds.
const (
	Joined   EventKind = iota + 1 // a member became alive
	Updated                       // a member's metadata changed or was sent straight to us (perhaps an older copy)
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

	wire // what it reads, from its delegate protocol version
}

// wire is what a member reads and answers, from the delegate protocol
// version it advertises (memberlist's DelegateProtocolMax).
type wire struct {
	older bool // from before relays: reads neither relay requests nor batches (relayWire)
	pulls bool // answers pulls (pullWire)
	downs bool // reads batches of down notices (downsWire)
	side  bool // reads cloister's datagrams beside memberlist's (sideWire)
	pings bool // answers side pings (pingWire)
	// endedPulls: answers pulls of endings (endedPullWire)
	endedPulls bool
}

// wireOf is what a member advertising delegate protocol version v reads.
func wireOf(v uint8) wire {
	return wire{older: v < relayWire, pulls: v >= pullWire, downs: v >= downsWire, side: v >= sideWire, pings: v >= pingWire, endedPulls: v >= endedPullWire}
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
		wire: wireOf(n.DMax),
	}
}

// maxHeld bounds the direct adverts held for members not known yet.
const maxHeld = 256

// delegate receives memberlist callbacks. It never blocks.
type delegate struct {
	q    *queue
	meta func() []byte
	self string

	mu    sync.Mutex
	alive map[string]peer // live members but self, by ID
	// ended: live members whose process the caller found ended (Ended):
	// memberlist holds them alive until its own probes tell, and until
	// then they are sent nothing and picked as nobody's relay. Only
	// members in alive, dropped with them.
	ended map[string]struct{}
	addrs map[netip.AddrPort]bool // their addresses (liveAddrs), nil when to be built again
	held  map[string]heldAdvert   // direct adverts from members not known yet
	heard chan struct{}           // capacity 1: a member not known yet was held (HeardSignal)
	// departed: members memberlist reported departed (left or failed),
	// whose late adverts are held but not heard of (HeardOf); at most
	// maxDeparted, an arbitrary one dropped to make room.
	departed map[string]struct{}
	// revived: channels closed when the member is next held alive
	// (WaitAlive), by ID.
	revived map[string][]chan struct{}
	// last: a digest of the metadata last queued for each live member
	// but self. Each advert arrives twice, sent straight and gossiped,
	// and the gossiped copy is dropped when it says nothing new (see
	// queueMeta).
	last map[string]uint64
	seed maphash.Seed

	badAdverts atomic.Uint64 // direct adverts dropped as unreadable
	dupAdverts atomic.Uint64 // adverts not queued: the same as the last one queued

	onDown           func([]Member)                   // down notices' receiver, or nil
	relay            *relayer                         // passes on adverts sent to relay, or nil
	olderWire        bool                             // tests: behave as a node from before relays
	beforePulls      bool                             // tests: behave as a node from before pulls (counts them as unreadable)
	beforeDowns      bool                             // tests: behave as a node from before batches of down notices (counts them as unreadable)
	answer           func(to Member, msg []byte)      // sends an answer to a pull, or nil
	answers          *rate.Limiter                    // the rate of answers (newPullAnswers)
	pullsSent        atomic.Uint64                    // pulls sent
	pullsAnswered    atomic.Uint64                    // pulls answered
	pullsDropped     atomic.Uint64                    // pulls not answered: unknown asker, or beyond the rate
	beforeEndedPulls bool                             // tests: behave as a node from before pulls of endings (counts them as unreadable)
	services         ServiceGossip                    // the service channel's receiver, or nil
	broadcasts       *memberlist.TransmitLimitedQueue // service broadcasts to gossip, or nil
	downs            *memberlist.TransmitLimitedQueue // down notices to gossip (downBroadcast), or nil
	prunedDowns      atomic.Uint64                    // down notices dropped from a full queue
	prunedBroadcasts atomic.Uint64                    // broadcasts dropped from a full queue
	oversizedStates  atomic.Uint64                    // state exchanges sent without the services' state

	// Pulls of endings (endedpull.go).
	endedPullsSent     atomic.Uint64 // sent
	endedPullsAnswered atomic.Uint64 // answered
	endedPullsDropped  atomic.Uint64 // not answered: unknown asker, or beyond the rate
	endedPullsEmpty    atomic.Uint64 // not answered: nobody found ended
}

// newDelegate returns a delegate that queues events on q for the member
// self.
func newDelegate(q *queue, self string) *delegate {
	return &delegate{q: q, self: self, alive: map[string]peer{}, ended: map[string]struct{}{}, held: map[string]heldAdvert{},
		heard: make(chan struct{}, 1), departed: map[string]struct{}{}, revived: map[string][]chan struct{}{},
		last: map[string]uint64{}, seed: maphash.MakeSeed(), answers: newPullAnswers()}
}

// peer is what the delegate keeps of a live member.
type peer struct {
	addr netip.AddrPort
	wire
}

// numAlive is how many members the service broadcasts retransmit for.
func (d *delegate) numAlive() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.alive) + 1
}

func (d *delegate) NotifyJoin(n *memberlist.Node) { d.record(Joined, toMember(n)) }

func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.record(Updated, toMember(n)) }

// NotifyLeave reports a departure. memberlist calls it for a graceful leave
// and for a death alike, and the Node it passes does not say which (its
// State field is not kept up to date); the caller tells them apart from the
// member's last metadata.
func (d *delegate) NotifyLeave(n *memberlist.Node) { d.record(Departed, toMember(n)) }

// record tracks who is alive and queues the event, under one lock so that
// a direct advert (NotifyMsg) is queued either before a member's departure
// or not at all. A direct advert held for a member that just joined is
// queued right after its Joined event.
func (d *delegate) record(k EventKind, m Member) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m.ID == d.self {
		d.q.push(Event{Kind: k, Member: m})
		return
	}
	switch k {
	case Departed:
		d.q.push(Event{Kind: k, Member: m})
		d.noteDeparted(m.ID)
		delete(d.alive, m.ID)
		delete(d.ended, m.ID)
		delete(d.last, m.ID)
		d.addrs = nil
		return
	case Joined:
		d.q.push(Event{Kind: k, Member: m})
		d.last[m.ID] = maphash.Bytes(d.seed, m.Meta)
	default:
		d.queueMeta(m)
	}
	if p, had := d.alive[m.ID]; !had || p.addr != m.Addr {
		d.addrs = nil
	}
	d.alive[m.ID] = peer{addr: m.Addr, wire: m.wire}
	if ws, ok := d.revived[m.ID]; ok {
		delete(d.revived, m.ID)
		for _, w := range ws {
			close(w)
		}
	}
	if h, ok := d.held[m.ID]; ok {
		delete(d.held, m.ID)
		d.queueMeta(Member{ID: m.ID, Addr: m.Addr, Meta: h.meta})
		if h.relay && d.relay != nil {
			d.relay.add(m.ID, h.meta)
		}
	}
}

// queueMeta queues an Updated event for a live member, unless its
// metadata is what was last queued for it: every advert reaches each
// member twice, sent straight and then as memberlist's alive message, and
// at 500 members in one process the gossiped copies of adverts every
// member already had kept each node's loop recomputing its view's
// agreement for nothing, a sixth of the CPU. An older advert than the
// last one is still queued (the caller keeps the newest by its sequence
// number), and so is the newer one after it. d.mu must be held.
func (d *delegate) queueMeta(m Member) {
	h := maphash.Bytes(d.seed, m.Meta)
	if last, ok := d.last[m.ID]; ok && last == h {
		d.dupAdverts.Add(1)
		return
	}
	d.last[m.ID] = h
	d.q.push(Event{Kind: Updated, Member: m})
}

// hold keeps a direct advert from a member not known yet: its alive message
// is usually on its way. At most maxHeld are kept; when full, an arbitrary
// older one makes room (gossip still carries what a dropped one said).
func (d *delegate) hold(id string, meta []byte, relay bool) {
	old, ok := d.held[id]
	if !ok && len(d.held) >= maxHeld {
		for old := range d.held {
			delete(d.held, old)
			break
		}
	}
	d.held[id] = heldAdvert{meta: meta, relay: relay || old.relay, at: time.Now()}
	if _, gone := d.departed[id]; !ok && !gone {
		d.heardOne()
	}
}

// liveAddrs returns the addresses of the live members but self (those
// found ended included: discovery need not join them). The map
// is built once per change of the live members and shared: callers must
// not change it (discovery asks for every address it considers, and a
// fresh map each time cost O(N) per address at 500 members).
func (d *delegate) liveAddrs() map[netip.AddrPort]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.addrs == nil {
		d.addrs = make(map[netip.AddrPort]bool, len(d.alive))
		for _, p := range d.alive {
			d.addrs[p.addr] = true
		}
	}
	return d.addrs
}

// peers returns the live members but self and those found ended.
func (d *delegate) peers() []Member {
	return d.somePeers(0, nil)
}

// somePeers returns up to limit live members (every one with limit 0),
// leaving out those in except and those found ended, in map order: random
// enough to pick from.
// A down notice passed on to three members copied all of them before (a
// twentieth of the CPU of 500 nodes in one process after ten kills).
func (d *delegate) somePeers(limit int, except []string) []Member {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.alive) - len(d.ended)
	if limit > 0 {
		n = min(n, limit)
	}
	out := make([]Member, 0, n)
	for id, p := range d.alive {
		if limit > 0 && len(out) == limit {
			break
		}
		if _, ended := d.ended[id]; !ended && !slices.Contains(except, id) {
			out = append(out, Member{ID: id, Addr: p.addr, wire: p.wire})
		}
	}
	return out
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

// NotifyMsg receives a member's metadata sent straight to this member (see
// SetMeta). It is queued as an update only while memberlist holds the
// sender alive: a message cannot make anyone a member, nor bring back one
// that left or failed. From a member not known yet it is held until that
// member joins (its sender already knows it; gossip of its alive message
// can take longer than the direct packet). A batch from a relay is the
// adverts of several members, each taken the same way; a member's advert
// sent to this member as its relay is also passed on (relay.go).
func (d *delegate) NotifyMsg(b []byte) {
	if d.olderWire && len(b) > 0 && (b[0] == relayKind || b[0] == batchKind) {
		d.badAdverts.Add(1) // what a node from before relays does with them
		return
	}
	if len(b) > 0 && b[0] == serviceKind {
		d.receiveService(b)
		return
	}
	if len(b) > 0 && b[0] == downKind {
		d.receiveDown(b)
		return
	}
	if len(b) > 0 && b[0] == downsKind && !d.beforeDowns {
		d.receiveDowns(b)
		return
	}
	if len(b) > 0 && b[0] == pullKind && !d.beforePulls {
		d.receivePull(b)
		return
	}
	if len(b) > 0 && b[0] == endedPullKind && !d.beforeEndedPulls {
		d.receiveEndedPull(b)
		return
	}
	if len(b) > 0 && b[0] == batchKind {
		if err := decodeBatch(b, func(id string, meta []byte) { d.receiveAdvert(id, meta, false) }); err != nil {
			d.badAdverts.Add(1)
		}
		return
	}
	id, meta, err := decodeAdvert(b)
	if err != nil {
		d.badAdverts.Add(1)
		return
	}
	d.receiveAdvert(id, meta, b[0] == relayKind)
}

// receiveAdvert queues a member's advert, or holds it when the member is
// not known yet; with relay, this member is its relay and passes it on,
// once the member is known: a relay passes on only the adverts of members
// memberlist holds alive, so it can neither admit nor revive anybody. (At
// the start of a large cluster a member advertises as soon as it knows
// enough members, often before its relays know it: passing on only the
// adverts of members known at arrival left hundreds to the repairs, and
// 500 nodes took twice as long to agree.)
func (d *delegate) receiveAdvert(id string, meta []byte, relay bool) {
	if id == d.self {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, alive := d.alive[id]; alive {
		d.queueMeta(Member{ID: id, Addr: p.addr, Meta: meta})
		if relay && d.relay != nil {
			d.relay.add(id, meta)
		}
		return
	}
	d.hold(id, meta, relay)
}

// heldAdvert is an advert from a member not known yet.
type heldAdvert struct {
	meta  []byte
	relay bool      // sent to this member as its relay: passed on once the member joins
	at    time.Time // when the last advert from the member came
}

package registry

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/hamt"
	"github.com/cloister-go/cloister/internal/replica"
	"github.com/cloister-go/cloister/internal/watch"
)

// Registration is a name and the member that holds it, as a value.
type Registration struct {
	Name string
	// Holder is the member holding the name: its ID, Name and Addr (no
	// roles).
	Holder cloister.Member
	// Term and Seq are the grant's stamp: the cluster term at the grant
	// and the authority's sequence number within it.
	Term, Seq uint64
	// Gen counts the handoffs of this registration.
	Gen uint64
	// Stale is set on an answer from a node without quorum: the holder
	// may have died, or the name moved, on the side with quorum.
	Stale bool
}

// slot is a name's entry in the index, held in the trie's leaf itself: a
// lookup then reads the leaf and the holder, one per member and so hot in
// the cache, rather than a registration of its own per name.
type slot struct {
	holder         *cloister.Member // shared by every name of the holder; never changed
	term, seq, gen uint64
}

func (s slot) registration(name string, stale bool) Registration {
	return Registration{Name: name, Holder: *s.holder, Term: s.term, Seq: s.seq, Gen: s.gen, Stale: stale}
}

// Resolver picks the winner of two claims on one name by different
// members, granted separately. It must be deterministic and symmetric:
// Resolve(n, a, b) and Resolve(n, b, a) pick the same registration on every
// node, whatever the order of arrival.
//
// Claims meet in two ways. Under a quorum policy, only transiently: a
// holder's release and the next holder's grant travel on different
// streams, so a node may see the new claim before the old one's release;
// the later grant must win, or the new holder would be told it lost. Under
// quorum none, both sides of a split may grant the name: a real conflict,
// and the loser is told (NameLost). A handoff (same grant, a higher Gen)
// always beats the claim it was handed from, without the Resolver.
type Resolver func(name string, a, b Registration) Registration

// LatestGrant is the default Resolver: the registration granted in the
// higher term wins, then the one with the higher sequence number (within a
// term a name has one authority, whose sequence orders its grants), then
// the holder with the lower member ID. Under a quorum policy a grant in a
// later term is made only after every earlier holder has let go (or left
// the view), so the latest grant is the live one. Custom resolvers for
// quorum none should keep that order for claims of one term.
func LatestGrant(_ string, a, b Registration) Registration {
	switch {
	case a.Term != b.Term:
		return pick(a.Term > b.Term, a, b)
	case a.Seq != b.Seq:
		return pick(a.Seq > b.Seq, a, b)
	default:
		return pick(a.Holder.ID < b.Holder.ID, a, b)
	}
}

func pick(first bool, a, b Registration) Registration {
	if first {
		return a
	}
	return b
}

// NameLost tells a holder that it no longer holds one of its names: both
// sides of a split had registered it and the other won, or this node lost
// quorum (then Winner is zero: the side with quorum may grant the name).
type NameLost struct {
	Name   string
	Lost   Registration // this node's
	Winner Registration
}

// Options configures a Registry. The zero value is usable.
type Options struct {
	// Resolve picks the winner of a conflict; default LatestGrant. Every
	// node must use the same.
	Resolve Resolver
	// OnNameLost is called when this node loses a name: to a conflict,
	// before the winner's registration is visible to Lookup on this node,
	// or for want of quorum.
	// It runs with the registry locked: it must not block nor call the
	// registry.
	OnNameLost func(NameLost)
	// Adopt gives the handler for a name handed to this node (Handoff);
	// nil, or a nil handler, refuses the handoff.
	Adopt func(name string) cloister.Handler
	// MaxNames bounds the names this node holds, and the names it
	// accepts from any one member. Default 1<<20.
	MaxNames int
}

// Registry is the global name service of one node: attach it with
// Config.Services, then use it once the node is Ready.
type Registry struct {
	opts  Options
	host  cloister.Host
	self  cloister.Member // ID, Name, Addr
	ctx   context.Context // ends when the node stops
	store *replica.Store

	index    atomic.Pointer[hamt.Map[slot]]
	quorate  atomic.Bool // this node is Ready or rehashing with quorum
	noQuorum atomic.Bool // this node is in NoQuorum: it holds no name

	// guarded by the store's lock (the sink's methods)
	claims  map[string][]*Registration          // every member's claim on each name
	held    map[string]map[string]*Registration // by holder ID, by name
	pending map[string]grantHeld                // grants this authority made, not yet seen
	holders map[string]*cloister.Member         // the index's holders, by ID
	seq     uint64                              // the authority's grant sequence
	txn     *hamt.Txn[slot]                     // the index being built in a sink call

	hmu      sync.RWMutex
	handlers map[string]cloister.Handler // names held here

	watch *watch.Hub[Event]

	state stateNotifier

	grants, retries, refusals *atomic.Uint64 // Stats.Services: registry.grants, .retries, .taken
	started                   atomic.Bool    // Start has run: host and store are set
}

// New returns a registry to add to Config.Services of one node (a
// Registry serves one node).
func New(opts Options) *Registry {
	if opts.Resolve == nil {
		opts.Resolve = LatestGrant
	}
	if opts.MaxNames <= 0 {
		opts.MaxNames = 1 << 20
	}
	r := &Registry{
		opts: opts, claims: map[string][]*Registration{}, held: map[string]map[string]*Registration{},
		pending: map[string]grantHeld{}, holders: map[string]*cloister.Member{}, handlers: map[string]cloister.Handler{}, watch: watch.New[Event](watchQueue),
	}
	r.index.Store(&hamt.Map[slot]{})
	r.state.init()
	return r
}

// Name names the service: "registry".
func (r *Registry) Name() string { return "registry" }

// Start attaches the registry to its node (cloister.Service).
func (r *Registry) Start(h cloister.Host) error {
	r.host = h
	me := h.Self()
	r.self = cloister.Member{ID: me.ID, Name: me.Name, Addr: me.Addr}
	st, err := replica.New(h, "registry", (*sink)(r), r.opts.MaxNames)
	if err != nil {
		return err
	}
	r.store, r.ctx = st, st.Context()
	r.grants, r.retries, r.refusals = h.Counter("grants"), h.Counter("retries"), h.Counter("taken")
	for name, fn := range map[string]cloister.Handler{
		"registry.grant":    r.handleGrant,
		"registry.call":     r.handleCall,
		"registry.cast":     r.handleCast,
		"registry.takeover": r.handleTakeover,
	} {
		if err := h.Handle(name, fn); err != nil {
			return err
		}
	}
	h.Listen(stateListener{r})
	r.started.Store(true)
	return nil
}

// ErrNotStarted: the registry is not attached to a started node (add it
// to Config.Services and start the node first). It matches
// cloister.ErrNotReady.
var ErrNotStarted = fmt.Errorf("registry: not started (%w)", cloister.ErrNotReady)

func (r *Registry) check() error {
	if !r.started.Load() {
		return ErrNotStarted
	}
	return nil
}

// Lookup returns the registration of name as this node knows it, with no
// network round trip: it takes no lock and allocates nothing. Stale is set
// when this node has no quorum.
func (r *Registry) Lookup(name string) (Registration, bool) {
	s, ok := r.index.Load().Get(name)
	if !ok {
		return Registration{}, false
	}
	return s.registration(name, !r.quorate.Load()), true
}

// Len is the number of names this node knows of.
func (r *Registry) Len() int { return r.index.Load().Len() }

// Names returns every registration this node knows of, in no order.
func (r *Registry) Names() []Registration {
	m := r.index.Load()
	out := make([]Registration, 0, m.Len())
	stale := !r.quorate.Load()
	for name, s := range m.All() {
		out = append(out, s.registration(name, stale))
	}
	return out
}

// Held lists the names this node holds.
func (r *Registry) Held() []string {
	r.hmu.RLock()
	defer r.hmu.RUnlock()
	out := make([]string, 0, len(r.handlers))
	for n := range r.handlers {
		out = append(out, n)
	}
	return out
}

// stateListener follows the node's state: quorum for Lookup, term marks
// for grants.
type stateListener struct{ r *Registry }

func (l stateListener) OnStateChange(_, to cloister.State, s cloister.Snapshot) { l.r.follow(to, s) }

// OnEvent catches up after dropped events: the state may have changed
// unheard.
func (l stateListener) OnEvent(e cloister.Event) {
	if _, ok := e.(*cloister.EventsDropped); ok {
		s := l.r.host.Snapshot()
		l.r.follow(s.State, s)
	}
}

// follow takes the node's state: quorum for Lookup's flag, the term mark
// at Ready, the names given up without quorum.
func (r *Registry) follow(to cloister.State, s cloister.Snapshot) {
	r.quorate.Store(s.Quorate && (to == cloister.Ready || to == cloister.Rehashing))
	switch to {
	case cloister.Ready:
		r.noQuorum.Store(false)
		r.store.Mark(s.Term)
	case cloister.NoQuorum:
		r.noQuorum.Store(true) // before forfeit: a grant accepted after it is refused
		r.forfeit()
	}
	r.state.notify()
}

// stateNotifier wakes the waiters of the next state change.
type stateNotifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *stateNotifier) init() { n.ch = make(chan struct{}) }

func (n *stateNotifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *stateNotifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.ch)
	n.ch = make(chan struct{})
}

// forfeit gives up every name this node holds: it lost quorum, and the
// side with quorum may grant them to others once it agrees this node is
// gone.
func (r *Registry) forfeit() {
	_ = r.store.Update(func(tx *replica.Tx) error {
		for _, name := range r.Held() {
			var lost Registration
			if s, ok := r.index.Load().Get(name); ok {
				lost = s.registration(name, false)
			}
			tx.Delete(name)
			r.hmu.Lock()
			delete(r.handlers, name)
			r.hmu.Unlock()
			if r.opts.OnNameLost != nil {
				r.opts.OnNameLost(NameLost{Name: name, Lost: lost})
			}
			r.watch.Notify(name, Event{Name: name, Kind: Lost, Registration: lost})
		}
		return nil
	})
}

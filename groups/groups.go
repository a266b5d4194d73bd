package groups

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/hamt"
	"github.com/cloister-go/cloister/internal/replica"
	"github.com/cloister-go/cloister/internal/watch"
	"github.com/cloister-go/cloister/internal/wire"
)

// Errors of the groups service.
var (
	// ErrInvalidName: a group or member key is empty, longer than MaxName
	// bytes, or holds a NUL byte.
	ErrInvalidName = errors.New("groups: invalid group or member name")
	// ErrNotMember: Leave of a member that has not joined the group here.
	ErrNotMember = errors.New("groups: not a member")
	// ErrTooMany: this node has Options.MaxMemberships memberships already.
	ErrTooMany = errors.New("groups: too many memberships on this node")
)

// MaxName is the longest group name or member key, in bytes.
const MaxName = 255

// Member is one member of a group: a key on a node, joined Count times.
type Member struct {
	Node  cloister.Member // ID, Name and Addr of the node
	Key   string
	Count int
}

// Options configures Groups. The zero value is usable.
type Options struct {
	// MaxMemberships bounds the memberships (group and key) of this node,
	// and those accepted from any one node. Default 1<<21.
	MaxMemberships int
}

// Groups is the process-group service of one node (OTP's pg): attach it
// with Config.Services.
type Groups struct {
	opts  Options
	host  cloister.Host
	self  cloister.Member
	ctx   context.Context
	store *replica.Store

	index atomic.Pointer[hamt.Map[*group]] // group name -> its members

	// guarded by the store's lock (the sink's methods)
	txn     *hamt.Txn[*group]
	dirty   map[string]*hamt.Txn[Member]
	perNode map[string]int // memberships by node ID, bounded by MaxMemberships

	hmu      sync.RWMutex
	handlers map[string]map[string]cloister.Handler // group -> key -> handler, this node's

	watch *watch.Hub[Event]

	started atomic.Bool // Start has run: host and store are set
}

// ErrNotStarted: Groups is not attached to a started node (add it to
// Config.Services and start the node first). It matches
// cloister.ErrNotReady.
var ErrNotStarted = fmt.Errorf("groups: not started (%w)", cloister.ErrNotReady)

// group is one group's members, immutable once published.
type group struct {
	members hamt.Map[Member] // by node ID + "\x00" + key
}

// New returns a Groups to add to Config.Services of one node (a Groups
// serves one node).
func New(opts Options) *Groups {
	if opts.MaxMemberships <= 0 {
		opts.MaxMemberships = 1 << 21
	}
	g := &Groups{opts: opts, perNode: map[string]int{}, handlers: map[string]map[string]cloister.Handler{}, watch: watch.New[Event](watchQueue)}
	g.index.Store(&hamt.Map[*group]{})
	return g
}

// Name names the service: "groups".
func (g *Groups) Name() string { return "groups" }

// Start attaches the service to its node (cloister.Service).
func (g *Groups) Start(h cloister.Host) error {
	g.host = h
	me := h.Self()
	g.self = cloister.Member{ID: me.ID, Name: me.Name, Addr: me.Addr}
	st, err := replica.New(h, "groups", (*sink)(g), g.opts.MaxMemberships)
	if err != nil {
		return err
	}
	g.store, g.ctx = st, st.Context()
	if err := h.Handle("groups.publish", g.handlePublish); err != nil {
		return err
	}
	g.started.Store(true)
	return nil
}

func checkNames(group, key string) error {
	if group == "" || len(group) > MaxName || key == "" || len(key) > MaxName {
		return fmt.Errorf("%w: group of %d bytes, key of %d, want 1 to %d", ErrInvalidName, len(group), len(key), MaxName)
	}
	if strings.IndexByte(group, 0) >= 0 || strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("%w: a NUL byte", ErrInvalidName)
	}
	return nil
}

// entryKey is a membership's key in the replicated store: group, NUL,
// key (names hold no NUL).
func entryKey(group, key string) string { return group + "\x00" + key }

func splitEntry(e string) (group, key string, ok bool) {
	group, key, ok = strings.Cut(e, "\x00")
	return group, key, ok && checkNames(group, key) == nil
}

// Join makes key on this node a member of group, served by h (which
// receives the group's publications). Joining again counts, as in pg: the
// member stays until it has left as many times; the latest h serves.
func (g *Groups) Join(group, key string, h cloister.Handler) error {
	if err := checkNames(group, key); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("groups: join %q: nil handler", group)
	}
	if !g.started.Load() {
		return ErrNotStarted
	}
	ek := entryKey(group, key)
	return g.store.Update(func(tx *replica.Tx) error {
		n := uint64(0)
		if v, ok := tx.Get(ek); ok {
			n = wire.NewReader(v).Uint()
		} else if tx.Len() >= g.opts.MaxMemberships {
			return fmt.Errorf("%w: %d", ErrTooMany, g.opts.MaxMemberships)
		}
		g.hmu.Lock()
		if g.handlers[group] == nil {
			g.handlers[group] = map[string]cloister.Handler{}
		}
		g.handlers[group][key] = h
		g.hmu.Unlock()
		return tx.Set(ek, wire.AppendUint(nil, n+1))
	})
}

// Leave undoes one Join of key to group on this node: ErrNotMember if it
// has not joined.
func (g *Groups) Leave(group, key string) error {
	if err := checkNames(group, key); err != nil {
		return err
	}
	if !g.started.Load() {
		return ErrNotStarted
	}
	ek := entryKey(group, key)
	return g.store.Update(func(tx *replica.Tx) error {
		v, ok := tx.Get(ek)
		if !ok {
			return fmt.Errorf("%w: %q in %q", ErrNotMember, key, group)
		}
		if n := wire.NewReader(v).Uint(); n > 1 {
			return tx.Set(ek, wire.AppendUint(nil, n-1))
		}
		tx.Delete(ek)
		g.hmu.Lock()
		delete(g.handlers[group], key)
		if len(g.handlers[group]) == 0 {
			delete(g.handlers, group)
		}
		g.hmu.Unlock()
		return nil
	})
}

// Members returns the group's members on every node, as this node knows
// them, with no network round trip, sorted by node name then key.
func (g *Groups) Members(group string) []Member {
	gr, ok := g.index.Load().Get(group)
	if !ok {
		return nil
	}
	out := make([]Member, 0, gr.members.Len())
	for _, m := range gr.members.All() {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int {
		if c := strings.Compare(a.Node.Name, b.Node.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// Count is the number of members of the group (each counted once).
func (g *Groups) Count(group string) int {
	gr, ok := g.index.Load().Get(group)
	if !ok {
		return 0
	}
	return gr.members.Len()
}

// LocalMembers returns the keys of the group's members on this node.
func (g *Groups) LocalMembers(group string) []string {
	g.hmu.RLock()
	defer g.hmu.RUnlock()
	out := make([]string, 0, len(g.handlers[group]))
	for k := range g.handlers[group] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Groups returns the names of every group with members, in no order.
func (g *Groups) Groups() []string {
	m := g.index.Load()
	out := make([]string, 0, m.Len())
	for name := range m.All() {
		out = append(out, name)
	}
	return out
}

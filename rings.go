package cloister

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cloister-go/cloister/ring"
)

// DefaultRing is the name of the ring of every member, which Node.Whois,
// Node.WhoisN and Node.Mine use.
const DefaultRing = "default"

// RingConfig declares a named ring in Config.Rings.
type RingConfig struct {
	// Name identifies the ring: Node.Ring(Name). Letters, digits, '-', '_'
	// or '.'; not DefaultRing.
	Name string
	// Role limits the ring to members that declare this role in
	// Config.Roles. Empty means every member.
	Role string
	// BoundedLoad, when positive, caps every member at (1+BoundedLoad)
	// times its fair share of the key space (consistent hashing with
	// bounded loads), trading some extra movement on changes for balance.
	BoundedLoad float64
}

// Errors of ring queries.
var (
	// ErrUnknownRing: no ring of that name is configured.
	ErrUnknownRing = errors.New("cloister: unknown ring")
	// ErrNoOwner: the ring has no member (no live member has its role).
	ErrNoOwner = errors.New("cloister: ring has no members")
)

// Ring is one named consistent-hash ring as of one view: an immutable value,
// safe for concurrent use. Every Ready node of the cluster holds the same
// rings for the same view ID. A Ring taken while the node is not Ready
// answers every query with an error matching ErrNotReady.
//
// A ring is built on its first use after the view it belongs to was
// agreed: by a query, by Err, Checksum or Members, or by a RingChanged
// listener reading it. Building takes about 1 ms at 50 members and 12 ms
// at 1000 (see docs/benchmarks.md); concurrent first uses wait for one
// build, and every later query is lock-free and does not allocate. A node
// whose application never asks for a ring never builds one. To have a
// ring built before the first request after a change, read it in a
// listener (RingChanged handlers that look at Gained, Lost or Handoff do).
type Ring struct {
	name    string
	err     error     // why the ring cannot answer at all, known when the snapshot was taken
	table   *lazyRing // nil when err is set
	viewID  ViewID
	epoch   uint64
	selfID  string
	members map[string]Member
}

// lazyRing builds one ring of one view on first use; every snapshot of the
// view shares it.
type lazyRing struct {
	once    sync.Once
	name    string
	size    int // members, known before the build
	members []ring.Member
	opts    []ring.Option
	r       *ring.Ring
	err     error
}

func (l *lazyRing) get() (*ring.Ring, error) {
	l.once.Do(func() {
		l.r, l.err = ring.New(l.members, l.opts...)
		if l.err != nil {
			l.err = fmt.Errorf("%w: ring %q: %w", ErrNoOwner, l.name, l.err)
		}
		l.members, l.opts = nil, nil
	})
	return l.r, l.err
}

// built returns the ring's table, building it on first use, or why the
// ring cannot answer.
func (r *Ring) built() (*ring.Ring, error) {
	if r == nil || r.table == nil && r.err == nil {
		// A zero Ring (var r Ring, &Ring{}) belongs to no view.
		return nil, fmt.Errorf("%w: a zero Ring belongs to no view", ErrNotReady)
	}
	if r.err != nil {
		return nil, r.err
	}
	return r.table.get()
}

// Name is the ring's name.
func (r *Ring) Name() string { return r.name }

// Err is why the ring cannot answer (ErrNotReady, ErrUnknownRing,
// ErrNoOwner when its members are invalid), or nil.
func (r *Ring) Err() error {
	_, err := r.built()
	return err
}

// ViewID is the ID of the view the ring was built from.
func (r *Ring) ViewID() ViewID {
	if r == nil {
		return 0
	}
	return r.viewID
}

// Epoch is the local epoch of the view the ring was built from.
func (r *Ring) Epoch() uint64 { return r.epoch }

// Checksum digests the ring's content: equal checksums mean equal
// ownership of every key. It is 0 when the ring cannot answer.
func (r *Ring) Checksum() uint64 {
	t, err := r.built()
	if err != nil {
		return 0
	}
	return t.Checksum()
}

// size is the number of members, without building the ring; 0 when the
// ring cannot answer.
func (r *Ring) size() int {
	if r == nil || r.err != nil || r.table == nil {
		return 0
	}
	return r.table.size
}

// Members returns the ring's members, sorted by name.
func (r *Ring) Members() []Member {
	t, err := r.built()
	if err != nil {
		return nil
	}
	out := make([]Member, 0, t.Len())
	for _, m := range t.Members() {
		out = append(out, r.members[m.ID].clone())
	}
	return out
}

// Whois returns the member that owns key, a copy of the caller's own.
// Once the ring is built it never blocks, and it does not allocate unless
// the owner declares roles (the copy of its Roles).
func (r *Ring) Whois(key string) (Member, error) {
	t, err := r.built()
	if err != nil {
		return Member{}, err
	}
	m, err := t.OwnerString(key)
	if err != nil {
		return Member{}, fmt.Errorf("%w: ring %q: %w", ErrNoOwner, r.name, err)
	}
	return r.members[m.ID].clone(), nil
}

// WhoisN returns up to n distinct members in preference order for key:
// the owner first, then the replicas.
func (r *Ring) WhoisN(key string, n int) ([]Member, error) {
	t, err := r.built()
	if err != nil {
		return nil, err
	}
	ms, err := t.OwnersNString(key, min(n, t.Len()))
	if err != nil {
		return nil, fmt.Errorf("%w: ring %q: %w", ErrNoOwner, r.name, err)
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = r.members[m.ID].clone()
	}
	return out, nil
}

// Mine reports whether this node owns key. It is false when the ring
// cannot answer.
func (r *Ring) Mine(key string) bool {
	t, err := r.built()
	if err != nil {
		return false
	}
	m, err := t.OwnerString(key)
	return err == nil && m.ID == r.selfID
}

// ownerID is the ID of key's owner, or "" when the ring cannot answer.
func (r *Ring) ownerID(key string) string {
	if r == nil {
		return ""
	}
	t, err := r.built()
	if err != nil {
		return ""
	}
	m, err := t.OwnerString(key)
	if err != nil {
		return ""
	}
	return m.ID
}

// Ring returns the named ring as of now. It never returns nil: when the
// node is not Ready, or the name is unknown, the ring answers every query
// with that error, so node.Ring("workers").Whois(key) is safe to chain.
func (n *Node) Ring(name string) *Ring {
	return n.snap.Load().Ring(name)
}

// Whois returns the owner of key on the default ring.
func (n *Node) Whois(key string) (Member, error) { return n.Ring(DefaultRing).Whois(key) }

// WhoisN returns up to count distinct owners of key on the default ring.
func (n *Node) WhoisN(key string, count int) ([]Member, error) {
	return n.Ring(DefaultRing).WhoisN(key, count)
}

// Mine reports whether this node owns key on the default ring.
func (n *Node) Mine(key string) bool { return n.Ring(DefaultRing).Mine(key) }

// ringSet holds the rings of one view, each built on first use.
type ringSet struct {
	viewID ViewID
	tables map[string]*lazyRing
}

// ringConfigs is the default ring followed by the configured ones.
func (c Config) ringConfigs() []RingConfig {
	return append([]RingConfig{{Name: DefaultRing}}, c.Rings...)
}

// prepareRings lists the members of every configured ring of the view; the
// rings themselves are built on first use.
func prepareRings(cfgs []RingConfig, view View) ringSet {
	rs := ringSet{viewID: view.ID, tables: make(map[string]*lazyRing, len(cfgs))}
	for _, rc := range cfgs {
		var members []ring.Member
		for _, m := range view.Members {
			if rc.Role == "" || hasRole(m.Roles, rc.Role) {
				members = append(members, ring.Member{ID: m.ID, Weight: m.Weight})
			}
		}
		opts := []ring.Option{ring.WithEpoch(view.Epoch)}
		if rc.BoundedLoad > 0 {
			opts = append(opts, ring.WithBoundedLoad(rc.BoundedLoad))
		}
		rs.tables[rc.Name] = &lazyRing{name: rc.Name, size: len(members), members: members, opts: opts}
	}
	return rs
}

func hasRole(roles []string, role string) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

// ringsFor wraps the built rings for a snapshot: queryable only when Ready.
func (rs ringSet) ringsFor(cfgs []RingConfig, view View, state State, selfID string) map[string]*Ring {
	answers := state == Ready && rs.viewID == view.ID
	var members map[string]Member // read only by rings that answer
	if answers {
		members = make(map[string]Member, len(view.Members))
		for _, m := range view.Members {
			members[m.ID] = m
		}
	}
	out := make(map[string]*Ring, len(cfgs))
	for _, rc := range cfgs {
		r := &Ring{name: rc.Name, viewID: view.ID, epoch: view.Epoch, selfID: selfID, members: members}
		if answers {
			r.table = rs.tables[rc.Name]
		} else if state == NoQuorum {
			r.err = fmt.Errorf("%w (%w): ring %q", ErrNoQuorum, ErrNotReady, rc.Name)
		} else {
			r.err = fmt.Errorf("%w: ring %q: node is %s", ErrNotReady, rc.Name, state)
		}
		out[rc.Name] = r
	}
	return out
}

package cloister

import (
	"errors"
	"fmt"

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
type Ring struct {
	name    string
	err     error
	r       *ring.Ring
	viewID  uint64
	epoch   uint64
	selfID  string
	members map[string]Member
}

// Name is the ring's name.
func (r *Ring) Name() string { return r.name }

// Err is why the ring cannot answer (ErrNotReady, ErrUnknownRing), or nil.
func (r *Ring) Err() error { return r.err }

// ViewID is the ID of the view the ring was built from.
func (r *Ring) ViewID() uint64 { return r.viewID }

// Epoch is the local epoch of the view the ring was built from.
func (r *Ring) Epoch() uint64 { return r.epoch }

// Checksum digests the ring's content: equal checksums mean equal
// ownership of every key.
func (r *Ring) Checksum() uint64 {
	if r.r == nil {
		return 0
	}
	return r.r.Checksum()
}

// Members returns the ring's members, sorted by name.
func (r *Ring) Members() []Member {
	if r.r == nil {
		return nil
	}
	out := make([]Member, 0, r.r.Len())
	for _, m := range r.r.Members() {
		out = append(out, r.members[m.ID])
	}
	return out
}

// Whois returns the member that owns key. It never blocks and does not
// allocate.
func (r *Ring) Whois(key string) (Member, error) {
	if r.err != nil {
		return Member{}, r.err
	}
	m, err := r.r.OwnerString(key)
	if err != nil {
		return Member{}, fmt.Errorf("%w: ring %q: %w", ErrNoOwner, r.name, err)
	}
	return r.members[m.ID], nil
}

// WhoisN returns up to n distinct members in preference order for key:
// the owner first, then the replicas.
func (r *Ring) WhoisN(key string, n int) ([]Member, error) {
	if r.err != nil {
		return nil, r.err
	}
	ms, err := r.r.OwnersNString(key, min(n, r.r.Len()))
	if err != nil {
		return nil, fmt.Errorf("%w: ring %q: %w", ErrNoOwner, r.name, err)
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = r.members[m.ID]
	}
	return out, nil
}

// Mine reports whether this node owns key. It is false when the ring
// cannot answer.
func (r *Ring) Mine(key string) bool {
	if r.err != nil {
		return false
	}
	m, err := r.r.OwnerString(key)
	return err == nil && m.ID == r.selfID
}

// ownerID is the ID of key's owner, or "" when the ring cannot answer.
func (r *Ring) ownerID(key string) string {
	if r == nil || r.err != nil {
		return ""
	}
	m, err := r.r.OwnerString(key)
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

// ringSet builds and caches the rings of one view.
type ringSet struct {
	viewID uint64
	built  map[string]*ring.Ring
	errs   map[string]error
}

// ringConfigs is the default ring followed by the configured ones.
func (c Config) ringConfigs() []RingConfig {
	return append([]RingConfig{{Name: DefaultRing}}, c.Rings...)
}

// buildRings builds every configured ring from the view's members.
func buildRings(cfgs []RingConfig, view View) ringSet {
	rs := ringSet{viewID: view.ID, built: map[string]*ring.Ring{}, errs: map[string]error{}}
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
		r, err := ring.New(members, opts...)
		if err != nil {
			rs.errs[rc.Name] = fmt.Errorf("%w: ring %q: %w", ErrNoOwner, rc.Name, err)
			continue
		}
		rs.built[rc.Name] = r
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
		switch {
		case !answers:
			r.err = fmt.Errorf("%w: ring %q: node is %s", ErrNotReady, rc.Name, state)
		case rs.errs[rc.Name] != nil:
			r.err = rs.errs[rc.Name]
		default:
			r.r = rs.built[rc.Name]
		}
		out[rc.Name] = r
	}
	return out
}

package cloister

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/cloister-go/cloister/internal/core"
)

// Member is one node of the cluster, as a value: nothing in it aliases
// the node's internal state.
type Member struct {
	// ID is unique per incarnation: Name, "#", and the incarnation in hex.
	ID string `json:"id"`
	// Name is app@host:port; a restarted instance at the same address
	// keeps its Name and gets a new ID.
	Name string `json:"name"`
	// Addr is the address of the member's single port.
	Addr netip.AddrPort `json:"addr"`
	// Incarnation is drawn at each start; a restart draws a larger one.
	Incarnation uint64 `json:"incarnation"`
	// Roles are the roles declared in the member's Config.
	Roles []string `json:"roles,omitempty"`
	// Weight is the member's capacity relative to others.
	Weight float64 `json:"weight"`
	// ViewID is the view ID the member advertises, as last gossiped.
	ViewID ViewID `json:"view_id"`
	// State is the state the member advertises, as last gossiped.
	State State `json:"-"`
	// StateName is State as text, for JSON.
	StateName string `json:"state"`
	// Term is the cluster term the member advertises (Snapshot.Term).
	Term uint64 `json:"term"`
	// Hidden: a hidden member (Config.Hidden). Only a hidden node's Self
	// says so: hidden members are never in a view.
	Hidden bool `json:"hidden,omitempty"`

	accept uint64 // the term at which the member accepts its view (quorum advert), for pulls (pull.go)
}

// View is the set of live members a node counts.
type View struct {
	// ID is a digest of the member IDs. Nodes with equal view IDs hold the
	// same member set, so they compute the same rings. Members advertise
	// it, and a node is Ready only when all of them advertise its own.
	ID ViewID `json:"id"`
	// Epoch counts this node's view changes, from 1. It orders one node's
	// views; it is not compared across nodes.
	Epoch uint64 `json:"epoch"`
	// Members are sorted by Name, then ID.
	Members []Member `json:"members"`
}

// Snapshot is a node's state at one moment. Each caller and each listener
// gets a copy of its own: changing it changes nothing else.
type Snapshot struct {
	Self      Member `json:"self"`
	State     State  `json:"-"`
	StateName string `json:"state"`
	Consensus int    `json:"consensus"`
	// Term is the cluster term: the fencing token. It never decreases,
	// advances with every view a quorate side agrees on, never without
	// quorum, and is the same on every Ready node of one view; two
	// different agreed views never carry the same term. 0 before the
	// first Ready.
	Term uint64 `json:"term"`
	// Quorate is what /readyz answers: the node is Ready, or has been and
	// is rehashing a view change without having lost quorum.
	Quorate bool `json:"quorate"`
	View    View `json:"view"`
	// RingMismatch names the members of the view whose Config.Rings
	// differ from this node's (see RingConfigDiffers).
	RingMismatch []string `json:"ring_mismatch,omitempty"`

	rings  map[string]*Ring // every configured ring, for this view and state
	advert core.Advert      // what this node advertises
}

// Ring returns the named ring as of this snapshot (see Node.Ring).
func (s Snapshot) Ring(name string) *Ring {
	if r, ok := s.rings[name]; ok {
		return r
	}
	return &Ring{name: name, err: fmt.Errorf("%w: %q", ErrUnknownRing, name)}
}

// clone is m with Roles of its own: what a caller is handed never aliases
// what the node or another caller holds. A member without roles is
// copied without allocating.
func (m Member) clone() Member {
	if len(m.Roles) > 0 {
		m.Roles = slices.Clone(m.Roles)
	}
	return m
}

func cloneMembers(ms []Member) []Member {
	if ms == nil {
		return nil
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = m.clone()
	}
	return out
}

// clone is v with members of its own.
func (v View) clone() View {
	v.Members = cloneMembers(v.Members)
	return v
}

// clone is s with a view and members of its own (rings are immutable).
func (s Snapshot) clone() Snapshot {
	s.Self = s.Self.clone()
	s.View = s.View.clone()
	return s
}

func memberFromCore(m core.Member) Member {
	return Member{
		ID:          m.ID,
		Name:        m.Name,
		Addr:        m.Addr,
		Incarnation: m.Incarnation,
		Roles:       slices.Clone(m.Roles),
		Weight:      m.Weight,
		ViewID:      ViewID(m.View),
		State:       m.State,
		StateName:   m.State.String(),
		Term:        m.Quorum.Term,
		Hidden:      m.Hidden,
		accept:      m.Quorum.Accept,
	}
}

func viewFromCore(v core.View) View {
	ms := make([]Member, len(v.Members))
	for i, m := range v.Members {
		ms[i] = memberFromCore(m)
	}
	return View{ID: ViewID(v.ID), Epoch: v.Epoch, Members: ms}
}

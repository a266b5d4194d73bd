package core

import (
	"slices"
	"time"
)

// QuorumKind names a quorum policy: which side of a split may act.
type QuorumKind uint8

// The quorum policies, after Akka's split-brain strategies.
const (
	// KeepMajority: a view is quorate when it holds more than half of the
	// reference view's members, or exactly half including the reference's
	// lowest member (by name, then ID). The default.
	KeepMajority QuorumKind = iota
	// StaticQuorum: a view is quorate when it holds at least Size live
	// members. Safe only when Size is more than half of the largest
	// cluster the application runs.
	StaticQuorum
	// KeepOldest: the side holding the reference's oldest member (the one
	// started first) is quorate, unless that member is alone against all
	// the others (of three or more), in which case the others are.
	KeepOldest
	// DownAll: a view is quorate only while it holds every member of the
	// reference: any failure costs quorum everywhere; graceful leaves and
	// joins do not.
	DownAll
	// NoQuorumCheck: every view is quorate. For development only: both
	// sides of a split act.
	NoQuorumCheck
)

var quorumNames = [...]string{"keep-majority", "static-quorum", "keep-oldest", "down-all", "none"}

// String returns the policy's name as the configuration spells it.
func (k QuorumKind) String() string {
	if int(k) < len(quorumNames) {
		return quorumNames[k]
	}
	return "unknown"
}

// ParseQuorumKind is the inverse of String.
func ParseQuorumKind(s string) (QuorumKind, bool) {
	for i, n := range quorumNames {
		if n == s {
			return QuorumKind(i), true
		}
	}
	return 0, false
}

// Quorum is a node's quorum policy.
type Quorum struct {
	Kind QuorumKind
	// Size is StaticQuorum's number of members.
	Size int
	// StableAfter is how long a view must stay unchanged before this node
	// accepts it as the next reference (Akka's stable-after): a burst of
	// failures then costs one term, not one per failure.
	StableAfter time.Duration
}

// reference is a view that every one of its members accepted at Term:
// the view that later views are measured against.
type reference struct {
	Term   uint64
	ViewID uint64
	// Epoch is this node's epoch of the view when it accepted it: a view
	// ID that comes back after other views is a new view to accept,
	// unless this node accepted nothing at a higher term meanwhile (see
	// Core.refIsView).
	Epoch   uint64
	Members []Member // sorted by name, then ID; never modified once set
}

// holds reports whether the members present form a quorum against ref
// under the policy. Both are sorted by name, then ID (views and
// references are), so the members in common are counted in one walk: the
// node loop evaluates quorum several times for every batch of adverts.
func (q Quorum) holds(present []Member, ref reference) bool {
	if len(ref.Members) == 0 {
		return true
	}
	in := 0
	for i, j := 0, 0; i < len(ref.Members) && j < len(present); {
		switch c := compareMembers(ref.Members[i], present[j]); {
		case c == 0:
			in++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	switch q.Kind {
	case KeepMajority:
		return 2*in > len(ref.Members) ||
			2*in == len(ref.Members) && hasID(present, ref.Members[0].ID)
	case StaticQuorum:
		return len(present) >= q.Size
	case KeepOldest:
		oldest := ref.Members[0]
		for _, m := range ref.Members[1:] {
			if m.Incarnation < oldest.Incarnation || m.Incarnation == oldest.Incarnation && m.ID < oldest.ID {
				oldest = m
			}
		}
		if hasID(present, oldest.ID) {
			// Down if alone: the oldest by itself against two or more.
			return !(in == 1 && len(ref.Members) > 2)
		}
		return len(ref.Members) > 2 && in == len(ref.Members)-1
	case DownAll:
		return in == len(ref.Members)
	case NoQuorumCheck:
		return true
	}
	return false
}

// hasID reports whether ms holds the member incarnation. A reference counts
// incarnations, not names: a restarted member has forgotten every view it
// accepted, so it cannot stand for its previous incarnation (counting it
// by name let a stale side reach a majority of an old reference).
func hasID(ms []Member, id string) bool {
	return slices.ContainsFunc(ms, func(m Member) bool { return m.ID == id })
}

// withoutAll returns ref less the members drop reports, as a new
// reference made with one copy, or ref itself when drop reports none (the
// original's slice is shared with snapshots and never modified).
func (r reference) withoutAll(drop func(Member) bool) reference {
	if !slices.ContainsFunc(r.Members, drop) {
		return r
	}
	r.Members = slices.DeleteFunc(slices.Clone(r.Members), drop)
	return r
}

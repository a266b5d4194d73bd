package cloister

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloister-go/cloister/internal/core"
)

// QuorumPolicy says which side of a network split may act once the
// cluster has started. The policies follow Akka's split-brain strategies.
type QuorumPolicy uint8

// The quorum policies. A reference view is the last view every member of
// it agreed on with quorum; a member that leaves gracefully is removed from
// it at once, a failed one only when the survivors agree, with quorum, on
// the view without it.
const (
	// KeepMajority (the default): a side is quorate with more than half of
	// the reference view's members, or exactly half including its lowest
	// member (by name, then ID). A restarted member is a new member: it
	// does not count for its previous incarnation.
	KeepMajority QuorumPolicy = QuorumPolicy(core.KeepMajority)
	// StaticQuorum: a side is quorate with at least Quorum.Size members.
	// Safe only when Size is more than half of the largest cluster you run.
	StaticQuorum QuorumPolicy = QuorumPolicy(core.StaticQuorum)
	// KeepOldest: the side with the reference view's oldest member (the
	// one started first) is quorate, unless that member is alone against
	// all the others (of three or more): then the others are.
	KeepOldest QuorumPolicy = QuorumPolicy(core.KeepOldest)
	// DownAll: quorate only while every member of the reference view is
	// there: any failure stops the whole cluster (graceful leaves and joins
	// do not).
	DownAll QuorumPolicy = QuorumPolicy(core.DownAll)
	// QuorumNone: every side is quorate. For development only: both sides
	// of a split act, and terms are no longer unique.
	QuorumNone QuorumPolicy = QuorumPolicy(core.NoQuorumCheck)
)

// String returns the policy's name as CLOISTER_QUORUM spells it.
func (p QuorumPolicy) String() string { return core.QuorumKind(p).String() }

// ParseQuorumPolicy reads a policy name: keep-majority, static-quorum,
// keep-oldest, down-all or none.
func ParseQuorumPolicy(s string) (QuorumPolicy, bool) {
	k, ok := core.ParseQuorumKind(s)
	return QuorumPolicy(k), ok
}

// Quorum configures the quorum policy.
type Quorum struct {
	// Policy decides which side of a split may act. Default KeepMajority.
	Policy QuorumPolicy
	// Size is StaticQuorum's number of members.
	Size int
	// StableAfter is how long a new view must stay unchanged before this
	// node accepts it as the next reference (Akka's stable-after), so a
	// burst of failures costs one term, not one per failure. Default 0.
	StableAfter time.Duration
}

func (q Quorum) core() core.Quorum {
	return core.Quorum{Kind: core.QuorumKind(q.Policy), Size: q.Size, StableAfter: q.StableAfter}
}

func (q Quorum) validate() error {
	if q.Policy.String() == "unknown" {
		return &ConfigError{Field: "Quorum.Policy", Reason: fmt.Sprintf("unknown policy %d", q.Policy)}
	}
	if q.Policy == StaticQuorum && q.Size < 1 {
		return &ConfigError{Field: "Quorum.Size", Reason: fmt.Sprintf("static-quorum needs a size of at least 1, got %d", q.Size)}
	}
	if q.StableAfter < 0 {
		return &ConfigError{Field: "Quorum.StableAfter", Reason: fmt.Sprintf("must not be negative, got %v", q.StableAfter)}
	}
	return nil
}

// parseQuorum reads CLOISTER_QUORUM: a policy name, with static-quorum
// written static-quorum:SIZE.
func parseQuorum(v string) (Quorum, error) {
	name, size, sized := strings.Cut(v, ":")
	p, ok := ParseQuorumPolicy(name)
	if !ok {
		return Quorum{}, fmt.Errorf("must be keep-majority, static-quorum:SIZE, keep-oldest, down-all or none, got %q", v)
	}
	q := Quorum{Policy: p}
	switch {
	case p == StaticQuorum && !sized:
		return Quorum{}, fmt.Errorf("static-quorum needs a size, as in static-quorum:3, got %q", v)
	case p == StaticQuorum:
		n, err := strconv.Atoi(size)
		if err != nil || n < 1 {
			return Quorum{}, fmt.Errorf("the size of static-quorum must be a whole number of at least 1, got %q", v)
		}
		q.Size = n
	case sized:
		return Quorum{}, fmt.Errorf("only static-quorum takes a size, got %q", v)
	}
	return q, nil
}

package ring

import (
	"cmp"
	"math"
	"slices"
)

// Member is one owner candidate: a node of the cluster.
type Member struct {
	// ID identifies the member; it must be non-empty and unique. Only the
	// ID (and Weight) decide placement, so every node must use the same
	// IDs for the same members.
	ID string

	// Weight is the member's relative capacity: a member of weight 2 gets
	// about twice the keys of a member of weight 1. Zero means the default,
	// 1. Negative, NaN, infinite and values above MaxWeight are rejected.
	// Weights are quantized to multiples of 1/PointsPerWeight.
	Weight float64
}

const (
	// MaxWeight is the largest Member.Weight New accepts.
	MaxWeight = 1000

	// MaxMembers is the largest number of members a ring can hold.
	MaxMembers = 1<<16 - 1

	// PointsPerWeight is how many points a member of weight 1 puts on
	// the hash ring that slots are assigned from (see the package
	// documentation). A member of weight w puts max(1, round(w*4096)).
	PointsPerWeight = 4096
)

// points returns the number of ring points for a validated weight. A single
// IEEE multiplication followed by rounding gives the same integer on every
// platform, so placement never depends on floating-point contraction.
func points(w float64) uint32 {
	p := math.Round(w * PointsPerWeight)
	if p < 1 {
		return 1
	}
	return uint32(p)
}

// normalize validates members and returns a copy sorted by ID with default
// weights filled in. The input is not modified.
func normalize(in []Member) ([]Member, error) {
	if len(in) > MaxMembers {
		return nil, ErrTooManyMembers
	}
	out := make([]Member, len(in))
	for i, m := range in {
		w := m.Weight
		reason := ""
		switch {
		case m.ID == "":
			reason = "empty ID"
		case math.IsNaN(w):
			reason = "weight is NaN"
		case w < 0:
			reason = "negative weight"
		case w > MaxWeight: // also +Inf
			reason = "weight above MaxWeight"
		}
		if reason != "" {
			return nil, &MemberError{Index: i, ID: m.ID, Reason: reason, Err: ErrInvalidMember}
		}
		if w == 0 {
			w = 1
		}
		out[i] = Member{ID: m.ID, Weight: w}
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(out); i++ {
		if out[i].ID == out[i-1].ID {
			return nil, &MemberError{
				Index:  slices.IndexFunc(in, func(m Member) bool { return m.ID == out[i].ID }),
				ID:     out[i].ID,
				Reason: "ID appears more than once",
				Err:    ErrDuplicateMember,
			}
		}
	}
	return out, nil
}

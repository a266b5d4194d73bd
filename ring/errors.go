package ring

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package either are one of these
// or wrap one of them, so callers test them with errors.Is.
var (
	// ErrEmpty is returned by queries on a ring that has no members
	// (including a nil *Ring).
	ErrEmpty = errors.New("ring: no members")

	// ErrInvalidMember is wrapped by the *MemberError New returns for an
	// empty ID or an unusable weight (negative, NaN, infinite or above
	// MaxWeight).
	ErrInvalidMember = errors.New("ring: invalid member")

	// ErrDuplicateMember is wrapped by the *MemberError New returns when
	// two members share an ID.
	ErrDuplicateMember = errors.New("ring: duplicate member")

	// ErrTooManyMembers is returned by New for more than MaxMembers members.
	ErrTooManyMembers = errors.New("ring: too many members")

	// ErrTooFew is returned by the OwnersN family when more distinct owners
	// are asked for than the ring has. It is returned as is (never
	// wrapped, so that path stays allocation-free) together with every
	// member of the ring, in preference order.
	ErrTooFew = errors.New("ring: fewer members than requested owners")

	// ErrInvalidOption is wrapped by the error New returns for an option
	// with an out-of-range value.
	ErrInvalidOption = errors.New("ring: invalid option")

	// ErrIncompatible is wrapped by the error Diff and Changes return for
	// two non-empty rings with different slot counts.
	ErrIncompatible = errors.New("ring: rings have different slot counts")
)

// MemberError reports a member New rejected. It wraps ErrInvalidMember or
// ErrDuplicateMember.
type MemberError struct {
	Index  int    // position in the slice given to New
	ID     string // the member's ID
	Reason string // what is wrong, for humans
	Err    error  // ErrInvalidMember or ErrDuplicateMember
}

// Error implements error.
func (e *MemberError) Error() string {
	return fmt.Sprintf("%v: members[%d] %q: %s", e.Err, e.Index, e.ID, e.Reason)
}

// Unwrap returns the sentinel, for errors.Is.
func (e *MemberError) Unwrap() error { return e.Err }

package core

// Change is one output of the state machine: MemberUp, MemberDown,
// ViewChanged or StateChanged.
type Change interface{ change() }

// MemberUp: a member entered the view.
type MemberUp struct{ Member Member }

// MemberDown: a member left the view.
type MemberDown struct {
	Member Member
	Reason Reason
}

// ViewChanged: the member set changed.
type ViewChanged struct{ Old, New View }

// StateChanged: this node's state changed.
type StateChanged struct {
	From, To State
	View     View
}

func (MemberUp) change()     {}
func (MemberDown) change()   {}
func (ViewChanged) change()  {}
func (StateChanged) change() {}

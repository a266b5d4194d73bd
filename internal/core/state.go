package core

// State is a node's lifecycle state.
type State uint8

// The lifecycle states. Their order is part of the wire format of member
// metadata: append new states at the end.
const (
	// Down: created, not started.
	Down State = iota
	// Assembling: fewer than Consensus members are alive in the view.
	Assembling
	// Rehashing: enough members are alive, but not every member advertises
	// this node's view yet.
	Rehashing
	// Ready: at least Consensus members are alive and all of them advertise
	// the same view, so every Ready node computes the same rings.
	Ready
	// Stopping: leaving the cluster.
	Stopping
	// Stopped: left, or shut down; final.
	Stopped
)

var stateNames = [...]string{"down", "assembling", "rehashing", "ready", "stopping", "stopped"}

// String returns the lower-case state name. It never panics.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// ParseState is the inverse of String.
func ParseState(s string) (State, bool) {
	for i, n := range stateNames {
		if n == s {
			return State(i), true
		}
	}
	return 0, false
}

// Reason says why a member went down.
type Reason uint8

// The reasons a member leaves the view.
const (
	// Failed: the failure detector declared it dead (crash, pause, partition).
	Failed Reason = iota + 1
	// Left: it announced a graceful leave.
	Left
	// Replaced: a newer incarnation of the same node name joined.
	Replaced
)

// String returns the reason's name.
func (r Reason) String() string {
	switch r {
	case Failed:
		return "failed"
	case Left:
		return "left"
	case Replaced:
		return "replaced"
	}
	return "unknown"
}

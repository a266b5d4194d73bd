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
	// Rehashing: enough members are alive, but the view is not agreed yet:
	// not every member advertises it, or has accepted it.
	Rehashing
	// Ready: the view is quorate and committed: every member accepted it
	// at the term this node holds, so every Ready node of the view
	// computes the same rings and term. It stays Ready while a member
	// advertises another view it accepted nothing on (see the package
	// documentation).
	Ready
	// Stopping: leaving the cluster.
	Stopping
	// Stopped: left, or shut down; final.
	Stopped
	// NoQuorum: this node has accepted a view before, and the members it
	// can reach do not form a quorum under its policy.
	NoQuorum
)

var stateNames = [...]string{"down", "assembling", "rehashing", "ready", "stopping", "stopped", "noquorum"}

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

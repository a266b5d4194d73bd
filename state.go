package cloister

import "github.com/cloister-go/cloister/internal/core"

// State is a node's lifecycle state. The transitions are described in the
// package documentation.
//
// State is an alias of an internal type, so go doc lists none of its
// methods. It has one: String returns the state's name as Snapshot.StateName
// and /cluster show it: "down", "assembling", "rehashing", "ready",
// "noquorum", "stopping" or "stopped".
type State = core.State

// The lifecycle states.
const (
	// Down: created, not started.
	Down = core.Down
	// Assembling: this node has not yet been in a committed view, and
	// its view holds fewer than Config.Consensus members.
	Assembling = core.Assembling
	// Rehashing: the members of the view are agreeing on it (a first
	// view of Consensus members or more, or a change); rings may still
	// differ between nodes. A node that has been Ready
	// and keeps quorum stays ready for probes (see Snapshot.Quorate).
	Rehashing = core.Rehashing
	// Ready: the view is quorate and every member accepted it at one
	// term: rings and term agree on every Ready node of the view. A
	// member on another view that accepted nothing there does not end it.
	Ready = core.Ready
	// NoQuorum: this node has been in a started cluster, and the members
	// it can reach are not a quorum under Config.Quorum: the network-split
	// signal. Whois and Mine return ErrNoQuorum; /readyz answers 503. It
	// returns to Rehashing and Ready by itself when members come back.
	NoQuorum = core.NoQuorum
	// Stopping: leaving the cluster.
	Stopping = core.Stopping
	// Stopped: final.
	Stopped = core.Stopped
)

// Reason says why a member went down.
//
// Reason is an alias of an internal type, so go doc lists none of its
// methods. It has one: String returns the reason's name, "failed", "left"
// or "replaced".
type Reason = core.Reason

// The reasons a member leaves the view.
const (
	// Failed: declared dead by the failure detector (crash, pause, partition).
	Failed = core.Failed
	// Left: it left gracefully (Stop).
	Left = core.Left
	// Replaced: a newer incarnation with the same name joined (a restart).
	Replaced = core.Replaced
)

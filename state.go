package cloister

import "github.com/cloister-go/cloister/internal/core"

// State is a node's lifecycle state. The transitions are described in the
// package documentation.
type State = core.State

// The lifecycle states.
const (
	// Down: created, not started.
	Down = core.Down
	// Assembling: fewer than Config.Consensus members are alive. A Ready
	// node that loses members falls back here: the network-split signal.
	Assembling = core.Assembling
	// Rehashing: enough members are alive but not all advertise this
	// node's view yet; rings may still differ between nodes.
	Rehashing = core.Rehashing
	// Ready: at least Consensus members are alive and all advertise the
	// same view.
	Ready = core.Ready
	// Stopping: leaving the cluster.
	Stopping = core.Stopping
	// Stopped: final.
	Stopped = core.Stopped
)

// Reason says why a member went down.
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

// Package core is cloister's cluster state machine: pure, single-threaded,
// with no clocks, goroutines or IO.
//
// The node loop feeds it batches of membership inputs (Apply; Join, Update
// and Leave are batches of one) and lifecycle inputs (Start, Stop,
// Stopped); each call returns the Changes it caused, in the order listeners
// must hear them: members up and down, then the view change, then the
// state change. A batch rebuilds the view once, so an assembly that
// delivers members in bursts costs one view change per burst, not one per
// member.
//
// # The view
//
// The view is the set of live members that count: every member memberlist
// holds alive or suspect, except that of several incarnations of one node
// name only the newest counts (a restarted instance replaces its previous
// incarnation at once, without waiting for the failure detector), and no
// other member may take this node's own name. The view ID is a digest of the
// member IDs in the view: two nodes with the same view ID compute the same
// rings. The epoch counts this node's view changes.
//
// # States and transitions
//
//	      Start
//	Down ───────► Assembling ◄─────────────────────────┐
//	                 │  ▲                               │
//	   live ≥ Consensus │ live < Consensus              │ live < Consensus
//	                 ▼  │                               │
//	             Rehashing ──── every member advertises ──► Ready
//	                 ▲          this node's view ID         │
//	                 └──────── view changed ◄──────────────┘
//
//	any of Down, Assembling, Rehashing, Ready ── Stop ──► Stopping ── Stopped ──► Stopped
//
// Assembling goes straight to Ready when the view is already agreed (a
// single node, or members that already advertise the same view). Below
// consensus is a state, not an error: it is how a node hears that it is on
// the minority side of a split, and it returns to Rehashing and Ready by
// itself when members come back.
package core

// Package groups is process groups for cloister, in the spirit of OTP
// 23's pg: members (a key and a handler on a node) join and leave named
// groups; any node lists a group's members locally, with no round trip,
// and publishes to all of them, or to the local ones only.
//
//	g := groups.New(groups.Options{})
//	cfg.Services = append(cfg.Services, g)
//	...
//	g.Join("lobby", "ada", handler) // twice counts twice, as in pg
//	g.Members("lobby")              // every node's members, from the local copy
//	g.Publish(ctx, "lobby", msg)    // one cast per node with members
//
// There is no lock across the cluster: each node is the only writer of its
// own memberships and replicates them to every member of its view
// (package internal/replica, as the registry does). A node that joins
// receives every member's whole state at once, in chunks. A node's
// memberships vanish on every node once that node reaches Ready in a view
// without it (failed, left, or replaced by a new incarnation); a node that
// is not Ready keeps what it knew. A membership is counted: Leave undoes
// one Join, and the member goes when the count reaches zero.
//
// Names are 1 to MaxName bytes without NUL. A node has at most
// Options.MaxMemberships memberships and accepts at most as many from any
// one node.
package groups

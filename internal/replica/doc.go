// Package replica replicates, to every member of the view, the entries
// each member owns: the names a node holds (package registry), the groups
// its processes joined (package groups). Every member is the only writer
// of its own entries, so there is no conflict to resolve within an origin
// and no lock across the cluster.
//
// Each member streams its changes to each other member of its view over
// calls: one goroutine per peer sends a numbered batch of changes, waits
// for the answer, then sends what accumulated meanwhile, so changes arrive
// in order, batches grow with load, and a slow peer costs only its own
// stream. A peer that is new, or whose numbering does not follow (it
// dropped the origin, or fell behind the bounded change log), is sent the
// origin's whole state, in chunks of at most 256 KiB, then the changes
// after it. The receiver accepts a stream only from a member of its own
// view, and forgets an origin's entries once it reaches Ready in a view
// without the origin (failed, left or replaced, and agreed so): what dies
// with a node dies with it on every node. A node that is not Ready (no
// quorum, or rehashing) keeps what it knew.
//
// What a peer sends is bounded: keys and values by MaxKey and MaxVal, a
// batch by the call's size, an origin's entries by the store's
// maxEntries, and a whole state in transit by MaxStateBytes (so a member
// whose own state is larger cannot hand it over whole: keep entries
// small).
//
// The gossip channel (Host.Gossip) is not used: its full state is capped
// at 1 MiB for all services and its broadcast queue at 1024 updates, and
// 100,000 names fit neither.
//
// Besides entries, a stream carries term marks: a member marks the term
// of each view it reaches Ready in, after every change it made under the
// term before. A receiver that has seen a member's mark for term t has
// seen all that member's changes of earlier terms (see registry).
package replica

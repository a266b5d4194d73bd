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
//	Down ───────► Assembling ──── Consensus members, agreed, accepted ───► Ready
//	                                                                       │ ▲
//	                                        view changed (quorum kept) ────┘ │
//	                                                   ▼                     │
//	                                              Rehashing ── committed ────┘
//	                                                │    ▲
//	                              quorum lost       ▼    │ quorum back
//	                                              NoQuorum
//
//	any running state ── Stop ──► Stopping ── Stopped ──► Stopped
//
// Consensus is the start gate only: it counts members until this node first
// takes part in a committed view. After that, the quorum policy decides.
// Before that first commit a node whose view holds Consensus members that
// have not all agreed and accepted yet is Rehashing (the diagram's arrow
// from Assembling to Ready is taken at once only when they have).
//
// # Quorum and the term
//
// Every member advertises, with its view ID, its part in a two-round
// protocol (QuorumAdvert): its vote (OK: the references it holds let the
// view be quorate), the term at which it accepts the view (Accept), the
// highest term it ever accepted or committed (Floor), and the term of its
// reference (Term).
//
//   - A reference is a view that every one of its members accepted at one
//     term: the last view this node committed. Members that leave
//     gracefully are removed from it at once; failed ones only by the next
//     commit.
//   - A node votes yes when the view holds a quorum of its reference and of
//     every view it accepted and has not committed yet (the joint rule: one
//     of those may have been committed elsewhere). Before its first commit
//     it votes by the start gate.
//   - The members that committed a view and, among them, those that
//     accepted the newest (the highest Floor) and those that hold the newest
//     reference (the highest Term) vote; the others defer to them. A member
//     that accepted a view knows every reference its commit could supersede
//     (a commit needs every member of the new view, which holds a quorum of
//     the old, to accept it), so a side holding a quorum of an old reference
//     holds a voter that knows the newer one. That acceptance may never
//     have been committed, and then the newest reference is one only its
//     holders know: with the highest Floor alone voting, a member whose
//     floor rose in a round that never ended silenced the member that knew
//     the newer commit. A member that never
//     committed a view has no vote once any member has one; before that (a
//     cluster forming for the first time), every member votes by the start
//     gate.
//   - A member that leaves gracefully is dropped from a reference (at its
//     stopping advert, then at its departure) only if it accepted nothing
//     newer than that reference: shrinking a stale reference by a leaver
//     that knew a newer one let a stale node reach a majority alone.
//   - Once every member advertises the view and the votes are yes, a node
//     accepts the view at a term above every floor it sees, or at the
//     highest term another member accepts it at. Once every member accepts
//     it at one term, the node commits it: that is its new reference and
//     its term, and it is Ready. Having accepted the view at a term, it
//     also commits when a member advertises the view committed at that
//     term (QuorumAdvert.Committed): that member saw every acceptance.
//   - A cluster forming for the first time (no member committed a view)
//     accepts its first view with the view itself, before the others
//     advertise it, when the start gate and every vote on it say yes and
//     no member on another view accepted anything: the round that agrees
//     the view then commits it. The commit still needs agreement.
//   - So does a node of an established cluster whose view is its
//     reference less members that left or were seen to end (Input.Ended:
//     they never come back), when it accepted nothing since its commit,
//     its own vote counts and says yes, and no member holds a newer
//     reference or accepted another view since: the survivors of a kill
//     commit the new view on the round that agrees it.
//   - A committed view stays Ready while some members advertise another
//     view, if none of them that committed a view votes no there and no
//     member advertises a floor above the term: anything accepted since
//     the commit would have raised one. Only a change of this node's own
//     view, a higher floor, or such a no makes it Rehashing.
//   - A view ID that comes back at a new epoch (a member's record departed
//     and returned) keeps this node's commit or acceptance of it, if it
//     accepted nothing at a higher term meanwhile, did not lose quorum
//     (NoQuorum) since it accepted that term, and no member advertises a
//     floor above it; otherwise it is a new view to accept. A node that
//     lost quorum cannot trust the records that bring its view back: a
//     member that rejoins may carry an advert from before the split.
//
// A node whose vote counts and says no is NoQuorum at once, without waiting
// for agreement. References count incarnations, not names:
// a restarted member has forgotten what it accepted, so it cannot stand for
// its previous incarnation.
//
// The properties, checked at every step of a randomized simulation of
// cores exchanging reports in random order through partitions, crashes,
// graceful stops, restarts and heals (quorum_sim_test.go): two Ready nodes
// never hold disjoint views; no term is committed on two views; no node's
// term goes back; a node that lost quorum and whose view changed since is
// Ready again only at a higher term; once the faults end and the voters' references are
// satisfied by the live members, every node is Ready on one view and one
// term. Each rule above was added after that test found a counterexample
// without it.
package core

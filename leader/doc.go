// Package leader names one leader per agreed view, runs singletons on it,
// and fences what a former leader still sends with the cluster term.
//
// Attach a Service to every node (cloister.Config.Services) and register
// the same singletons on every node:
//
//	svc := leader.New(leader.Config{})
//	svc.Singleton("billing", func(ctx context.Context, term leader.Term) error {
//		... work until ctx is done; send writes with svc.Call(ctx, ...) ...
//	})
//	cfg.Services = append(cfg.Services, svc)
//
// # The leader
//
// Every Ready node names the same leader for its view: the oldest member,
// the one with the smallest Incarnation (drawn from the clock when a node
// starts), then the smallest ID, among all members or those with
// Config.Role. The leader leads at the view's term (cloister.Snapshot.Term),
// which is the fencing token: it never decreases, is the same on every
// Ready node of a view, and differs between agreed views, so a later
// leader always holds a larger term. A node names no leader without
// quorum (NoQuorum), while stopping, or before its first Ready; while it
// rehashes a view change that keeps quorum and keeps the leader, it
// keeps naming it. Subscribe delivers LeaderChanged{Old, New, Term}.
// Hidden nodes (cloister.Config.Hidden) are in no view, so they never
// lead; they name the leader of the view they see.
//
// Because the rule is "oldest", a former leader that rejoins without a
// restart (after a pause or a healed partition) leads again, at a new
// term, after the margin below; a restart draws a new, larger incarnation.
//
// # The lease and the takeover margin
//
// A node that is named leader runs its singletons only while it holds a
// lease: every Lease/4 (a round at a time, each given up to Lease/2) it
// asks the other members of its view to acknowledge it, and a member acknowledges only when it is Ready on the
// same term and names the same leader. When a majority of the view (the
// leader included) has acknowledged a round, the lease runs until the
// round's send time plus Lease, on the leader's own monotonic clock. When
// the lease runs out, the node stops leading or loses quorum, or it
// starts to stop, the singletons' contexts are cancelled: locally, on the
// node's own timer, without hearing from anyone. A singleton's context
// also checks the lease whenever Err is called, and Service.Call and
// FencedCall refuse to send once it has run out (ErrStaleTerm), so a
// node that wakes from a pause learns that it lost before it acts.
//
// A node newly named leader starts the singletons only after the takeover
// margin, Lease + Lease/10 + Slack, from the moment it was named. Why that
// is enough: the new leader is named on a view that every one of its
// members accepted, and that view holds a majority of the previous
// reference (the quorum rule), so at least one member of the old leader's
// last acknowledging majority is in it. That member acknowledged before it
// left the old view, hence before the new view was committed; the old
// leader's lease started before that acknowledgement, so it ends less
// than Lease after the new leader was named. The Lease/10 covers clock
// rate differences between the two processes; Slack (default 300 ms)
// covers a timer that fires late on a loaded machine and is at least the
// time a stale minority can stay Ready on its old view after the majority
// has committed a new one. A stale minority cannot extend an old leader's
// lease: acknowledgements need a majority of the old view, and the
// majority has moved on.
//
// The default Lease is the node's Detection.Budget(10): 450 ms with
// LocalDetection, 950 ms with LANDetection and 5.5 s with SteadyDetection
// (the default), so the margin is 795 ms, 1.35 s and 6.35 s. A crashed or paused leader is replaced after about the
// detection time plus one view change plus the margin (bench/leader
// measures it); a leader that stops gracefully (Node.Stop calls the
// service's BeforeStop, which resigns: its singletons return, then it
// tells the others) hands over at once when its successor is named at the
// very next term: the gap is the leave's propagation and one view change. A leader that keeps leading
// through a view change (a member joins or leaves) keeps its singletons
// running when the new term is the next one.
//
// The argument needs a quorum policy under which a quorate view holds
// enough of the previous one to meet any majority of it: keep-majority,
// keep-oldest, down-all, or a static quorum above half of the cluster.
// With QuorumNone both sides of a split are quorate, and each may run
// the singletons.
//
// The model's timing assumptions: process clocks run at rates within 10%
// of each other (monotonic clocks; wall clocks are never compared), and a
// timer fires at most Slack late. A process that exceeds them (a pause
// longer than Slack exactly between a lease check and a write) can still
// act on an expired lease; that is what the term fences.
//
// # Fencing
//
// A fenced call carries the caller's term in an envelope (Wrap, Unwrap:
// a uvarint before the body). Fence.Admit rejects a term below the
// highest it has seen with a *StaleTermError (matching ErrStaleTerm);
// Fence.Handler and Service.Fenced wrap a cloister.Handler to do that for
// every call, and the error crosses the wire (cloister.RegisterError), so
// the caller's errors.Is(err, leader.ErrStaleTerm) holds. Service.Fenced
// also counts the node's own term as seen, so a former leader's write is
// rejected by any member that has moved on, even before the new leader
// writes there. A resource whose effect must be ordered with the check (a
// register) calls Fence.Admit under its own lock.
package leader

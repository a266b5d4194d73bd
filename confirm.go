package cloister

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/cloister-go/cloister/internal/membership"
)

// Confirming failures. memberlist declares a member dead when its own
// suspicion timer runs out, and every member that hears that dead message
// accepts it at once, without a suspicion of its own. A member cut off
// for a moment (a paused process, a flapping link) suspects everybody it
// cannot reach, its suspicions are lost in the outage so nobody refutes
// them, and when its timers run out after the outage its dead messages
// about healthy members reach everybody: one confused member took the
// whole cluster's view of healthy members down (scenarios 5 and 7).
//
// So the node acts on a failure only once it has confirmed it itself: it
// pings the member directly (confirmPings pings, each waiting the probe
// timeout). A member that answers is alive: memberlist's record of it
// comes back when it refutes the death (or, failing that, when the node
// joins it again), and the failure is never reported. A member that
// answers no ping is reported failed as before, three probe timeouts
// later (450 ms with LAN), unless nobody else answers this node either
// (cutOff). Leaves are not confirmed (a member that announced it stops
// has stopped).
const (
	confirmPings  = 3  // direct pings before a failure stands
	confirmRounds = 3  // rounds cut off, or of answers and joins that went through without a revival, before the failure stands
	maxConfirmTry = 12 // rounds of answers in all (most joins failing) before it stands all the same
	maxConfirming = 64 // failures confirmed at once; beyond, they wait in the backlog (confirmbacklog.go)
)

// confirmedFailure is a failure that stands, for the loop to apply.
type confirmedFailure struct {
	event membership.Event
	// ended: confirmed by a refused connection (watch.go) while
	// memberlist may still hold the member alive; else memberlist
	// declared it dead and the pings went unanswered.
	ended bool
}

// startConfirm confirms a failure reported by membership on a goroutine of
// its own, which hands it back on n.confirmed when it stands; while
// maxConfirming are being confirmed already, it waits in the backlog for
// a slot. It reports false when the backlog is full too: the caller
// applies the failure at once. Only the loop calls it.
func (n *Node) startConfirm(e membership.Event) bool {
	if !n.confirmWait.push(e) {
		return false
	}
	n.confirmNext()
	return true
}

// confirmNext starts a confirmation for each failure in the backlog while
// a slot is free. Whoever frees a slot calls it, and so does whoever
// pushes, so a failure never waits while a slot is free.
func (n *Node) confirmNext() {
	for {
		select {
		case n.confirmSlots <- struct{}{}:
		default:
			return
		}
		e, ok := n.confirmWait.pop()
		if !ok {
			<-n.confirmSlots
			if n.confirmWait.len() == 0 {
				return
			}
			continue // pushed while the slot was held here
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if n.confirmOne != nil {
				n.confirmOne(e)
			} else {
				n.confirm(e)
			}
			<-n.confirmSlots
			if n.loopCtx.Err() == nil {
				n.confirmNext()
			}
		}()
	}
}

// failuresConfirming is how many failures are being confirmed or wait
// for a slot.
func (n *Node) failuresConfirming() int {
	return len(n.confirmSlots) + n.confirmWait.len()
}

// confirm confirms one failure and hands it to the loop if it stands.
func (n *Node) confirm(e membership.Event) {
	if !n.confirmFailure(n.loopCtx, e.Member) {
		if n.loopCtx.Err() == nil {
			n.failuresRefuted.Add(1)
			n.logger.Info("failure not confirmed: the member answers", "member", e.Member.ID)
		}
		return
	}
	select {
	case n.confirmed <- confirmedFailure{event: e}:
	case <-n.loopCtx.Done():
	}
}

// confirmFailure reports whether the member stands failed: it answered
// none of the direct pings while another member answered this node; or
// nobody answered this node for confirmRounds rounds; or memberlist still
// held it dead after confirmRounds rounds in which it answered and a join
// with it went through (it has heard of its death and the cluster holds it
// dead all the same: it is reachable from here, not from the others); or
// after maxConfirmTry rounds of answers in all. A member that answers but
// cannot be joined (an overloaded cluster refuses or times out state
// exchanges) is given time, each round twice as long, up to
// maxConfirmWait probe intervals: at 500 nodes in one process, reporting
// it after three rounds whatever the joins did turned an overload into
// thousands of failures of live members.
func (n *Node) confirmFailure(ctx context.Context, m membership.Member) bool {
	// Every member hears a death at about the same moment. Confirming it
	// at once was N pings (and, for one that answers but stays dead
	// here, N state exchanges) at one member in a burst: at 1,000 nodes
	// in one process the accused's receive queue overflowed, its acks
	// were lost, and each false death confirmed itself into the next.
	// So each waits a random part of confirmSpread first, and a member
	// that refuted the death meanwhile (its refutation gossiped) is not
	// pinged at all.
	if spread := n.confirmSpread(); spread > 0 && n.waitAlive(ctx, m.ID, rand.N(spread)) {
		return false
	}
	wait := 2 * n.cfg.Detection.ProbeInterval
	var tally confirmTally
	for ctx.Err() == nil {
		if !n.answers(ctx, m) {
			if tally.unanswered(n.cutOff(ctx, m.ID)) {
				return ctx.Err() == nil
			}
			// Nobody answers: this node is the one cut off (a
			// flapping link, a pause); give the link a moment before
			// accusing anybody. A node that stays cut off reports its
			// failures after the rounds all the same, and loses
			// quorum then.
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
			continue
		}
		// It answers, but memberlist here holds it dead. It refutes
		// once the news reaches it, and that gossip revives it here;
		// failing that, a join merges its state (one push/pull: not
		// the first resort, since every member confirms at once).
		if n.waitAlive(ctx, m.ID, wait) {
			return false
		}
		err := n.joinOne(ctx, m.Addr)
		if err != nil {
			n.logger.Debug("rejoining a member that answers", "member", m.ID, "err", err)
			wait = min(2*wait, maxConfirmWait*n.cfg.Detection.ProbeInterval)
		}
		if n.waitAlive(ctx, m.ID, wait) {
			return false
		}
		if tally.answered(err == nil) {
			return ctx.Err() == nil
		}
	}
	return false
}

// confirmTally counts the rounds of one confirmation and says when the
// failure stands (see confirmFailure).
type confirmTally struct {
	cutOff  int // rounds in which nobody answered this node
	joined  int // rounds in which the member answered and a join with it went through
	answers int // rounds in which the member answered
}

// unanswered records a round in which the member answered no ping, and
// whether nobody else answered this node either; it reports whether the
// failure stands.
func (t *confirmTally) unanswered(cutOff bool) bool {
	if !cutOff {
		return true
	}
	t.cutOff++
	return t.cutOff >= confirmRounds
}

// answered records a round in which the member answered but stayed dead
// here, and whether the join with it went through; it reports whether the
// failure stands all the same.
func (t *confirmTally) answered(joined bool) bool {
	t.answers++
	if joined {
		t.joined++
	}
	return t.joined >= confirmRounds || t.answers >= maxConfirmTry
}

// maxConfirmWait bounds, in probe intervals, the wait for a revival in a
// round of a confirmation whose joins fail.
const maxConfirmWait = 8

// confirmSpread is how long the members confirming one death spread their
// first pings over: confirmSpreadPerMember for each member of the view (a
// member is pinged by about one confirming member every two
// milliseconds), up to maxConfirmSpread. 20 ms at 10 members, 200 ms at
// 100: a silent host's failure is reported half that later on average.
func (n *Node) confirmSpread() time.Duration {
	return min(maxConfirmSpread, confirmSpreadPerMember*time.Duration(len(n.snap.Load().View.Members)))
}

const (
	confirmSpreadPerMember = 2 * time.Millisecond
	maxConfirmSpread       = 2 * time.Second
)

// isolationPings is how many other members a node pings, once each, to
// tell whether it is cut off itself before it accuses a member that does
// not answer.
const isolationPings = 2

// cutOff reports whether this node looks cut off: none of up to
// isolationPings other members of its view (not the accused, chosen at
// random) answers a ping. The flapping node of scenario 5 reported the
// members it probed during a 1 s cut as failed (on real processes, in 2
// of 4 runs at N=10: the cut is longer than LAN's budget); the others came
// back 370 ms later.
func (n *Node) cutOff(ctx context.Context, accused string) bool {
	asked := 0
	for _, o := range n.askable(accused) {
		asked++
		if n.ml.Ping(ctx, membership.Member{ID: o.ID, Addr: o.Addr}, 1) {
			return false
		}
	}
	return asked > 0 && ctx.Err() == nil // nobody to ask: not cut off
}

// askable returns up to isolationPings members of the view, other than
// this node and the accused: the first ones from a random place in the
// view. It walks the view instead of copying it (a node of a large cluster
// may confirm many accusations at once, and a copy of the view each made
// the confirmations of 1,000 nodes in one process hold gigabytes); with
// at most two members to skip, the walk takes a few steps.
func (n *Node) askable(accused string) []Member {
	members := n.snap.Load().View.Members
	if len(members) == 0 {
		return nil
	}
	var out []Member
	start := rand.IntN(len(members))
	for j := range members {
		if len(out) == isolationPings {
			break
		}
		if o := members[(start+j)%len(members)]; o.ID != accused && o.ID != n.self.ID {
			out = append(out, o)
		}
	}
	return out
}

// waitAlive waits up to d for memberlist to hold the member alive again.
func (n *Node) waitAlive(ctx context.Context, id string, d time.Duration) bool {
	return n.ml.WaitAlive(ctx, id, d)
}

// answers reports whether the member answers direct pings. Datagrams
// only: when memberlist declares members dead under load, every member
// confirms at once, and anything over a stream multiplies. Calls (a
// connection and a handshake each, kept open afterwards) made tens of
// thousands of connections at 200 nodes in one process; a dial of the
// member's port (refused: the process is gone) made N dials of one
// accused member per accusation, which at 500 nodes in one process
// starved the accused into the next false failure. A dead process is seen
// by the watches (watch.go), which dial; this path is for silent hosts,
// for which only the pings' timeouts tell.
func (n *Node) answers(ctx context.Context, m membership.Member) bool {
	return n.ml.Ping(ctx, m, confirmPings)
}

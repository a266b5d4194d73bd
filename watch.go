package cloister

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/cloister-go/cloister/internal/membership"
	"github.com/cloister-go/cloister/rpc"
	"github.com/cloister-go/cloister/transport"
)

// Seeing a process end in milliseconds. A process that dies while its host
// stays up (a crash, kill -9, an OOM kill) has its TCP connections closed
// by the kernel at once, and its port refuses new ones; probing would take
// a detection budget to notice. So each node holds one open call (the
// watch) to each of the watchPeers members that follow it in ID order, and
// when that connection breaks it checks the member: a new connection to
// its port refused means the process is gone (a connection that opens,
// or a dial that times out, proves nothing, and probing stays in charge).
// The node then reports the member failed at once and sends every other
// member a down notice; each of them checks the member the same way before
// it acts, and once confirmed passes the notice on to downFanout others
// and queues it for memberlist's gossip (see membership.GossipDown), so a
// datagram lost on the way costs little. A hint alone, from a connection
// or from a notice, never makes a member fail: only the refused connection
// does, and a member that passed a check is not checked again on a hint
// for hintCooldown, so a peer sending notices costs at most one dial per
// member per cooldown.
const (
	watchCall     = "cloister/watch"       // the call a watch holds open
	watchPeers    = 2                      // members each node watches
	watchTick     = 250 * time.Millisecond // after a watch ended, how long before the watches are looked at again
	watchSettle   = 20 * time.Millisecond  // after a snapshot change, how long before they are
	hintCooldown  = time.Second            // a member that passed a check is not checked on a hint again before this
	maxHintMemory = 1024                   // members remembered as ended or recently checked
	downFanout    = 3                      // members a member told of an ending passes it on to
)

// hintState remembers, for the hints, which member incarnations were
// checked lately and which were confirmed ended. Safe for concurrent use.
type hintState struct {
	mu      sync.Mutex
	checked map[string]time.Time // last check (or one under way) of a member
	ended   map[string]time.Time // member incarnations confirmed ended
	gen     uint64               // counts changes to ended
}

// begin reports whether a hint about id may start a check now, and notes
// it as checked.
func (h *hintState) begin(id string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.checked == nil {
		h.checked = map[string]time.Time{}
	}
	if _, ok := h.ended[id]; ok {
		return false
	}
	if at, ok := h.checked[id]; ok && now.Sub(at) < hintCooldown {
		return false
	}
	if len(h.checked) >= maxHintMemory {
		dropEarliest(h.checked, func(t time.Time) time.Time { return t })
	}
	h.checked[id] = now
	return true
}

// forget drops the note that id was checked: its check did not happen.
func (h *hintState) forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.checked, id)
}

// end records a member incarnation confirmed ended, and reports whether
// it was not recorded already.
func (h *hintState) end(id string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended == nil {
		h.ended = map[string]time.Time{}
	}
	if _, ok := h.ended[id]; ok {
		return false
	}
	if len(h.ended) >= maxHintMemory {
		dropEarliest(h.ended, func(t time.Time) time.Time { return t })
	}
	h.ended[id] = now
	h.gen++
	return true
}

// endedGen counts the changes to the members confirmed ended: followers
// picked while it stays the same stay the same.
func (h *hintState) endedGen() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gen
}

// isEnded reports whether the member incarnation was confirmed ended: its
// later adverts (still gossiped, or late) must not bring it back.
func (h *hintState) isEnded(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.ended[id]
	return ok
}

// handleWatch serves a watch: it holds the call open until the caller
// gives up, the connection breaks or this node stops.
func (n *Node) handleWatch(ctx context.Context, _ rpc.Request) ([]byte, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.loopCtx.Done():
		return nil, ErrStopped
	}
}

// watchLoop keeps a watch on the watchPeers members that follow this node
// in ID order in its view, until the node stops.
func (n *Node) watchLoop() {
	defer n.wg.Done()
	ctx := n.loopCtx
	type watch struct {
		m      Member
		cancel context.CancelFunc
		done   chan struct{}
	}
	watches := map[string]*watch{}
	defer func() {
		for _, w := range watches {
			w.cancel()
			<-w.done
		}
	}()
	wake := newWatchWake()
	defer wake.retry.Stop()
	var targets targetCache
	var hold readyHold
	for {
		changed := n.nextChange()
		want, ok := targets.get(n, false)
		if ok {
			if wait := hold.wait(n.snap.Load(), time.Now()); wait > 0 {
				ok = false // not yet: as while not Ready
				wake.armWithin(wait)
			}
		}
		if !ok {
			// Not Ready: the view is still changing; keep the watches
			// there are (a new one is a handshake: while a hundred
			// processes assemble on two CPUs, re-aiming the watches at
			// every view change added to the load that delays them).
			// But when a watched member ended, aim at the members after
			// it at once: members killed together are often neighbours
			// in ID order (one host's, one rack's, or a test's last
			// ten), each found through the one before it, and the first
			// failure makes the node Rehashing until the rest are found.
			want = map[string]Member{}
			lost := false
			for id, w := range watches {
				if n.hints.isEnded(id) {
					lost = true
				} else {
					want[id] = w.m
				}
			}
			if lost {
				want, _ = targets.get(n, true)
			}
		}
		for id, w := range watches {
			select {
			case <-w.done:
				delete(watches, id) // ended: started again below if still wanted
				continue
			default:
			}
			if _, ok := want[id]; !ok {
				w.cancel()
				<-w.done
				delete(watches, id)
			}
		}
		for id, m := range want {
			if _, ok := watches[id]; ok {
				continue
			}
			wctx, cancel := context.WithCancel(ctx)
			w := &watch{m: m, cancel: cancel, done: make(chan struct{})}
			watches[id] = w
			go func() {
				defer wake.watchEnded()
				defer close(w.done)
				defer cancel()
				_, err := n.calls.Call(wctx, peerOf(m), watchCall, nil)
				if wctx.Err() == nil && errors.Is(err, rpc.ErrNodeDown) {
					n.hint(membership.Member{ID: m.ID, Addr: m.Addr})
				}
			}()
		}
		if err := n.waitWatchWork(ctx, changed, wake); err != nil {
			return
		}
	}
}

// watchWake is what watchLoop sleeps on besides the snapshot's changes
// and the pokes: the watches that ended, and the retry armed when one
// did, watchTick later, so that a call failing at once is not started
// again in a tight loop. With every watch running and nothing changing,
// the loop sleeps: a ticker in every member of an idle cluster woke every
// process four times a second.
type watchWake struct {
	ended chan struct{} // capacity 1: a watch ended
	retry *time.Timer
	armed bool
	due   time.Time // when the armed retry fires
}

// armWithin makes the retry fire within d.
func (w *watchWake) armWithin(d time.Duration) {
	due := time.Now().Add(d)
	if w.armed && !w.due.After(due) {
		return
	}
	w.retry.Reset(d)
	w.armed, w.due = true, due
}

func newWatchWake() *watchWake {
	w := &watchWake{ended: make(chan struct{}, 1), retry: time.NewTimer(time.Hour)}
	w.retry.Stop()
	return w
}

// watchEnded is called by a watch's goroutine as it ends.
func (w *watchWake) watchEnded() {
	select {
	case w.ended <- struct{}{}:
	default:
	}
}

// waitWatchWork waits until watchLoop has something to look at: the retry
// after a watch ended, a member found ended, or a change of the snapshot.
// It returns ctx's error when the node stops.
func (n *Node) waitWatchWork(ctx context.Context, changed <-chan struct{}, w *watchWake) error {
	var retry <-chan time.Time
	if w.armed {
		retry = w.retry.C
	}
	for {
		select {
		case <-retry:
			w.armed = false
			return nil
		case <-w.ended:
			if !w.armed {
				w.armWithin(watchTick)
				retry = w.retry.C
			}
		case <-n.watchPoke:
			// A member was found ended: aim at the one after it at
			// once, without waiting for the view to change. Members
			// killed together are often neighbours in ID order, and
			// each is found through the one before it; a step per
			// view change spread ten kills over as many view changes.
			return nil
		case <-changed:
			// The view may have changed: look again soon, but not for
			// every batch of adverts of an assembly.
			select {
			case <-time.After(watchSettle):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readyHold holds back the watches of a view that has just become Ready,
// for the view's settling quiet period (loop.go: 20 ms up to 10 members,
// 2 ms a member beyond, here at most settleMax) from when the watch loop
// first saw it Ready. The first members of a start to be Ready open their
// watches, each a TLS handshake or two, while the others are still
// agreeing: opened at once, the handshakes of a hundred agents on two CPUs
// held the last ones back, and waiting 200 ms made such a start Ready
// sooner (docs/benchmarks.md). Until then the loop keeps the watches it
// has, as while not Ready, and still aims past a watched member that
// ended at once. A kill before a watch opens is found when it opens (its
// dial is refused), or by the notices of a member that found it; slower
// than with the watches open: of 40 nodes on the in-memory network, one
// killed as soon as all were Ready was had by every survivor after
// 186-206 ms (0.4-1.1 s with -race, hold or not), against 0.1-0.3 s once
// the watches were open (docs/benchmarks.md). Owned by the watch loop.
type readyHold struct {
	id    ViewID
	since time.Time
}

// wait returns how much longer the watches of s's view are held back.
// The loop looks at the watches watchSettle after a change of the
// snapshot, so that much of the quiet period has passed when it first
// sees a view Ready: up to 10 members nothing is held back.
func (f *readyHold) wait(s *Snapshot, now time.Time) time.Duration {
	if s.View.ID != f.id {
		f.id, f.since = s.View.ID, now
	}
	quiet, _ := settleFor(len(s.View.Members))
	return min(quiet, settleMax) - watchSettle - now.Sub(f.since)
}

// targetCache holds the members a node watches, picked again only when
// its view or the members known to have ended change: every node asks on
// every tick, and picking them walked the whole view each time (at 500
// Ready members in one process, a sixth of the CPU). Owned by the watch
// loop; the map it returns is shared between calls, never modified.
type targetCache struct {
	view  ViewID
	ended uint64
	valid bool
	out   map[string]Member
}

// get returns the watchPeers members following this node in ID order,
// among the members of its view that are not known to have ended; false
// while the node is not Ready, unless anyState.
func (c *targetCache) get(n *Node, anyState bool) (map[string]Member, bool) {
	s := n.snap.Load()
	if s.State != Ready && !anyState {
		return nil, false
	}
	gen := n.hints.endedGen()
	if c.valid && c.view == s.View.ID && c.ended == gen {
		return c.out, true
	}
	best := followers(s.View.Members, s.Self.ID, watchPeers, n.hints.isEnded)
	out := make(map[string]Member, len(best))
	for _, m := range best {
		out[m.ID] = m
	}
	*c = targetCache{view: s.View.ID, ended: gen, valid: true, out: out}
	return out, true
}

// followers returns the k first members in ID order rotated to start
// just after self, leaving out self and those ended reports, picked in one
// pass: the watch loop asks on every tick of every node, and copying and
// sorting the view each time was a third of the CPU of 300 Ready nodes in
// one process.
func followers(members []Member, self string, k int, ended func(string) bool) []Member {
	var best []Member // at most k, in rotated order
	for _, m := range members {
		if m.ID == self || ended(m.ID) {
			continue
		}
		i := len(best)
		for i > 0 && rotatedBefore(m.ID, best[i-1].ID, self) {
			i--
		}
		if i < k {
			best = slices.Insert(best, i, m)
			best = best[:min(len(best), k)]
		}
	}
	return best
}

// rotatedBefore reports whether member a comes before member b in ID
// order rotated to start just after self: the IDs above self first, in
// order, then the rest.
func rotatedBefore(a, b, self string) bool {
	if (a > self) != (b > self) {
		return a > self
	}
	return a < b
}

// hint checks a member whose watch broke, on a goroutine of its own,
// unless it was checked lately or too many failures are being checked.
// When its port refuses a connection, the loop reports it failed, the
// members around this node in ID order are swept (sweep), and every other
// member gets a down notice about each one found.
func (n *Node) hint(m membership.Member) {
	n.checkEndings([]membership.Member{m}, true)
}

// checkEndings checks members said to have ended together: by a broken
// watch of this node's (watched: one member), or by one down notice from
// another member, which names all the members its sender found together
// and which this node passes on to downFanout others, as one notice, once
// confirmed. A member checked lately is left out; the rest take one of the
// hint slots together.
//
// The members of one notice are checked, confirmed and passed on
// together: checked one by one, each passed on its own as soon as it was
// confirmed, and at 500 members in one process the members told first of
// a row of ten killed together were told of it a member at a time, and
// some applied part of the row as a view of its own.
func (n *Node) checkEndings(said []membership.Member, watched bool) {
	now := time.Now()
	var ms []membership.Member
	for _, m := range said {
		if n.hints.begin(m.ID, now) {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return
	}
	// Slots of their own, not the confirmations' (which can take
	// seconds each under load): a hint dropped for want of a slot was
	// still marked as checked, so the next notice about the same member
	// was ignored too. Without a slot the hints are now forgotten, and a
	// later one is checked.
	select {
	case n.hintSlots <- struct{}{}:
	default:
		for _, m := range ms {
			n.hints.forget(m.ID)
		}
		return
	}
	n.checkBegun()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.checkEnded() // after its finding reached the loop
		defer func() { <-n.hintSlots }()
		ended := n.found(ms, watched)
		if len(ended) == 0 {
			return
		}
		select {
		case n.watchPoke <- struct{}{}: // re-aim the watches past them
		default:
		}
		n.failuresHinted.Add(uint64(len(ended)))
		if watched {
			n.failuresSwept.Add(uint64(len(ended) - 1))
		}
		ids := make([]string, len(ended))
		for i, e := range ended {
			ids[i] = e.ID
			n.logger.Info("member's process ended: its connection closed and its port refuses", "member", e.ID)
		}
		// The watcher tells everybody; a member told passes it on to a
		// few others once, so one lost datagram does not leave a member
		// to its own probing. Every member that confirmed it also
		// gossips it (membership.GossipDown): a member that lost every
		// datagram gets it again a gossip interval later.
		fanout := downFanout
		if watched {
			fanout = 0
		}
		n.ml.Ended(ids) // sent nothing more, nobody's relay
		told := n.endedAmong(said, ids)
		n.ml.SendDown(told, fanout)
		n.ml.GossipDown(told)
		for _, e := range ended {
			select {
			case n.confirmed <- confirmedFailure{event: membership.Event{Kind: membership.Departed, Member: e}, ended: true}:
			case <-n.loopCtx.Done():
				return
			}
		}
	}()
}

// endedAmong returns ids, the members this node just found ended, with
// the other members of said that it holds ended (found by an earlier check
// or notice): what it passes on is the whole row as far as it knows it.
// Passing on only the members it found itself, a node that had found one
// of a row before the row's notice came passed on the other nine, and at
// 500 members in one process nodes that heard such a part first applied
// it as a view of its own.
func (n *Node) endedAmong(said []membership.Member, ids []string) []string {
	out := ids
	for _, m := range said {
		if !slices.Contains(out, m.ID) && n.hints.isEnded(m.ID) {
			if len(out) == len(ids) {
				out = slices.Clone(ids)
			}
			out = append(out, m.ID)
		}
	}
	return out
}

// found returns the members of ms whose port refuses, recorded as ended;
// for a broken watch (watched), with those its sweep found around this
// node. One broken watch's check and sweep run at a time: the watches of
// both members after this node break together when both die, and two
// sweeps racing over one row each found part of it and sent it as a
// notice of its own, in another order of receivers. The second now finds
// its member already ended. The lock is not held while the finding is
// announced.
func (n *Node) found(ms []membership.Member, watched bool) []membership.Member {
	if !watched {
		return n.refusing(ms)
	}
	n.sweepMu.Lock()
	defer n.sweepMu.Unlock()
	ended := n.refusing(ms)
	if len(ended) == 0 {
		return nil
	}
	return n.sweep(ended)
}

// refusing checks the ports of ms together (portRefuses), each dial
// taking one of the node's checkDials (so that all the notices being
// checked dial at most maxConfirming ports at once, as when each notice
// named one member), and returns those that refuse and were not recorded
// as ended already, recording them.
func (n *Node) refusing(ms []membership.Member) []membership.Member {
	refused := make([]bool, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		if n.hints.isEnded(m.ID) {
			continue // found by another check here meanwhile
		}
		select {
		case n.checkDials <- struct{}{}:
		case <-n.loopCtx.Done():
			wg.Wait()
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-n.checkDials }()
			refused[i] = n.portRefuses(n.loopCtx, m)
		}()
	}
	wg.Wait()
	var ended []membership.Member
	now := time.Now()
	for i, m := range ms {
		if refused[i] && n.hints.end(m.ID, now) {
			ended = append(ended, m)
		}
	}
	return ended
}

// noticeDown takes a down notice from membership, on the goroutine that
// reads it: it never blocks, and a notice that finds the queue full is
// dropped (a lost datagram: the pass-ons, the gossip and probing stand
// in).
func (n *Node) noticeDown(ms []membership.Member) {
	n.checkBegun()
	select {
	case n.notices <- ms:
	default:
		n.checkEnded()
	}
}

// checkBegun and checkEnded count the endings this node is checking: a
// down notice from its arrival until its check starts (or is skipped),
// and a check until its finding reached the loop. While any is under
// way, settling holds a burst of departures past its quiet period (up to
// its bound): the checks are news of the same burst. At 500 members in
// one process, the notices of ten members killed together reached a
// survivor over a second or more, and each check took its turn on a busy
// scheduler; applied after a fixed quiet period, ten members killed at
// one instant became 8 to 28 distinct views in three runs.
func (n *Node) checkBegun() { n.checking.Add(1) }

func (n *Node) checkEnded() {
	if n.checking.Add(-1) == 0 {
		select {
		case n.checksDone <- struct{}{}:
		default:
		}
	}
}

// checksUnderWay reports whether this node is checking an ending.
func (n *Node) checksUnderWay() bool { return n.checking.Load() > 0 }

// noticeLoop checks the members the down notices name, until the node
// stops.
func (n *Node) noticeLoop() {
	defer n.wg.Done()
	for {
		select {
		case ms := <-n.notices:
			n.checkEndings(ms, false)
			n.checkEnded()
		case <-n.loopCtx.Done():
			return
		}
	}
}

// maxSweep bounds the members one sweep checks in each direction;
// maxSweepGap is how many members in a row that do not refuse a sweep
// steps over.
const (
	maxSweep    = 64
	maxSweepGap = 2
)

// sweep checks the members around a broken watch's finding in ID order,
// a few at a time (sweepFrom), and returns found with those whose port
// refuses a connection too: forward from this node, then backward from it (the
// members found already are passed over: both watches of a node break
// when both members after it die, and either may be looked at first).
// Each walk steps over up to maxSweepGap members in a row that
// do not refuse (a live member answers the dial; a silent one does not
// within a tenth of the probe timeout) and stops at the next, at this
// node, or after maxSweep dials. Members killed together are often
// neighbours in ID order (one host's, one rack's, or the last ten
// started), and each is watched by the ones before it, which died too:
// found only by re-aiming a watch past each one found, ten neighbours
// took a watch handshake and a failed call each, seconds under load at
// 500 members, and went out as ten rounds of down notices that the
// members applied as up to ten view changes. Swept, the row is found in
// one round of dials and announced in one round of notices.
//
// A row is seldom unbroken in ID order: IDs sort as strings, so the
// members at 198.18.1.235 to .244 have the member at 198.18.1.23 between
// .239 and .240. Stopping at the first live member, the bench's ten
// kills at 500 members went out as two rows from two watchers, and
// receivers that got one row more than their settling quiet period
// before the other applied it as a view of its own. So the forward walk
// steps over live members, and the backward walk lets a live member
// inside the row (.23, which watches .240) announce the whole row too,
// not only the part after it. A step over a live member costs one
// connection; the backward walk costs one per live predecessor, at most
// maxSweepGap+1.
//
// It runs only on this node's own finding (a broken watch), never on a
// notice: what another member says costs at most the one check.
func (n *Node) sweep(found []membership.Member) []membership.Member {
	found = n.sweepFrom(found, n.self.ID, false)
	return n.sweepFrom(found, n.self.ID, true)
}

// sweepFrom is one walk of sweep, from the member cursor, forward or
// backward in ID order. It dials the next members a few at once: as many
// as could end the walk if none refused (maxSweepGap+1 less the live ones
// just stepped over), so that it dials no member the walk one at a time
// would not have. A single kill's walks each dial three live members: one
// after the other, six dial times went by before the notice went out
// (12-24 ms in the debug logs of a kill right after a 10-process start;
// no difference the bench could measure on loopback, where dials are
// quick, but a tenth of the probe timeout each toward members that do not
// answer). The results are taken in ID order, as if dialled one by one.
func (n *Node) sweepFrom(found []membership.Member, cursor string, backward bool) []membership.Member {
	wait := n.cfg.Detection.ProbeTimeout / 10
	gap := 0
	for dialled := 0; dialled < maxSweep; {
		batch := n.besideRun(cursor, backward, min(maxSweepGap+1-gap, maxSweep-dialled))
		if len(batch) == 0 {
			break
		}
		dialled += len(batch)
		cursor = batch[len(batch)-1].ID
		refused := make([]bool, len(batch))
		var wg sync.WaitGroup
		for i, m := range batch {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(n.loopCtx, wait)
				defer cancel()
				refused[i] = n.dialRefused(ctx, m)
			})
		}
		wg.Wait()
		for i, m := range batch {
			if !refused[i] {
				if gap++; gap > maxSweepGap {
					return found
				}
				continue
			}
			if !n.hints.end(m.ID, time.Now()) {
				return found // another check here found it first
			}
			found, gap = append(found, m), 0
		}
	}
	return found
}

// besideRun returns up to k members in a row from cursor in ID order,
// forward or backward, leaving out those ended and stopping before this
// node.
func (n *Node) besideRun(cursor string, backward bool, k int) []membership.Member {
	members := n.snap.Load().View.Members
	var run []membership.Member
	for len(run) < k {
		next, ok := beside(members, cursor, backward, n.hints.isEnded)
		if !ok || next.ID == n.self.ID || slices.ContainsFunc(run, func(m membership.Member) bool { return m.ID == next.ID }) {
			break
		}
		run = append(run, membership.Member{ID: next.ID, Addr: next.Addr})
		cursor = next.ID
	}
	return run
}

// beside returns the member next to cursor in ID order (wrapping around),
// after it or, backward, before it, leaving out cursor and those ended
// reports; false when there is none.
func beside(members []Member, cursor string, backward bool, ended func(string) bool) (Member, bool) {
	if !backward {
		next := followers(members, cursor, 1, ended)
		if len(next) == 0 {
			return Member{}, false
		}
		return next[0], true
	}
	var best Member
	ok := false
	for _, m := range members {
		if m.ID == cursor || ended(m.ID) {
			continue
		}
		if !ok || backBefore(m.ID, best.ID, cursor) {
			best, ok = m, true
		}
	}
	return best, ok
}

// backBefore reports whether member a comes before member b walking
// backward from cursor: the IDs below cursor first, from the highest,
// then the rest, from the highest.
func backBefore(a, b, cursor string) bool {
	if (a < cursor) != (b < cursor) {
		return a < cursor
	}
	return a > b
}

// portRefuses reports whether a connection to the member's port is
// refused, trying a few times within the probe timeout: a process being
// killed can have its connections closed a moment before its listener,
// and a dial in that moment still connects (on real processes the watcher
// that saw the connection break first missed the refusal, one run in two).
func (n *Node) portRefuses(ctx context.Context, m membership.Member) bool {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Detection.ProbeTimeout)
	defer cancel()
	for _, wait := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return false
			}
		}
		if n.dialRefused(ctx, m) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
	}
	return false
}

// dialRefused reports whether one connection to the member's port is
// refused (a connection made is closed at once).
func (n *Node) dialRefused(ctx context.Context, m membership.Member) bool {
	c, err := n.tr.Dial(ctx, m.Addr, transport.KindGossip)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

package cloister

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloister-go/cloister/internal/membership"
)

// maxConcurrentJoins bounds the joins in flight in one discovery round, and
// joinStagger is how long a pending join delays the next: together they
// keep dead addresses in an answer from costing one TCP timeout each.
const (
	maxConcurrentJoins = 8
	joinStagger        = 100 * time.Millisecond
)

// rejoinGossips is how many paces (Detection.Pace) a node that is not Ready
// waits before rejoining discovered addresses that are still not members.
// With a view smaller than that, it waits one interval per member of its
// view, counted from when its last join started (rejoinWait): gossip in
// a view that small brings the rest that soon or not at all. The flat ten
// intervals (200 ms with LAN, from the end of the join) were the whole
// difference between the fast and the slow 10-process starts: the last
// member to start joined one that knew two others, and waited the 200 ms
// while the other nine had long agreed. Applied to every view size, the
// shorter wait made 100-process starts about a tenth slower (more state
// exchanges while the views grow), so larger views keep the ten.
const rejoinGossips = 10

// rejoinWait is how long from now a node with a view of members members,
// whose last join started at lastJoin, waits before rejoining the
// discovered addresses it misses (the join pacer may ask for longer).
func rejoinWait(now, lastJoin time.Time, members int, gossip time.Duration) time.Duration {
	if members >= rejoinGossips {
		return rejoinGossips * gossip
	}
	return max(0, lastJoin.Add(time.Duration(max(1, members))*gossip).Sub(now))
}

// discoverLoop polls the sentry until the node stops. Each round joins
// through the first discovered address that is not a live member and
// answers; discovery never removes anybody. Failures back off
// exponentially, capped, and are reported.
//
// While the node is not Ready and addresses of the last answer are still
// not members, it also rejoins those (see rejoinWait),
// without asking the sentry again. A member's alive message is regossiped
// only a few times, mostly while the cluster is still small, so a node
// that joined through a member with a partial view could miss early
// members until the next poll, a second later: a state exchange with one
// of them brings their whole view.
//
// Joins are paced by the size of the view (joinpace.go): the cluster as a
// whole makes a bounded number of state exchanges a second.
func (n *Node) discoverLoop() {
	defer n.wg.Done()
	ctx := n.loopCtx
	failures := 0
	var peers []netip.AddrPort // the last answer
	var gate rejoinGate
	join := func() {
		absent := n.absent(peers)
		known := n.knownSize()
		heard := n.heardAbsent(absent, known)
		if gate.allow(time.Now(), known, len(n.ml.LiveAddrs()), len(absent), len(heard) > 0, n.cfg.Detection.GossipInterval) {
			if len(heard) > 0 {
				// Those surely answer, even at an address that refused
				// the connection before its process started.
				absent = heard
				for _, a := range heard {
					n.deadAddrs.forget(a)
				}
			}
			n.join(ctx, absent)
		}
	}
	pollAt := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	// A member heard of wakes the loop at once, once per turn of its
	// timer: adverts from members not known yet come in bursts, and a
	// turn walks the discovered addresses.
	heardOf := n.ml.HeardSignal()
	for {
		select {
		case <-timer.C:
			heardOf = n.ml.HeardSignal()
		case <-heardOf:
			heardOf = nil
		case <-ctx.Done():
			return
		}
		n.discoverRounds.Add(1)
		if time.Now().Before(pollAt) {
			join()
		} else {
			p, err := n.discover(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				failures++
			default:
				failures = 0
				peers = p
				join()
			}
			pollAt = time.Now().Add(nextPoll(n.cfg.DiscoveryInterval, n.cfg.DiscoveryMaxBackoff, failures))
		}
		wait := time.Until(pollAt)
		if s := n.State(); s == Assembling || s == Rehashing || s == NoQuorum {
			if absent := n.absent(peers); len(absent) > 0 {
				now, members := time.Now(), n.knownSize()
				rejoin := rejoinWait(now, gate.pacer.last, members, n.cfg.Detection.pace())
				heard := len(n.heardAbsent(absent, members)) > 0
				wait = min(wait, max(rejoin, gate.pacer.wait(now, members, len(absent), heard), n.alonePaused(members, absent, now)))
			}
		}
		timer.Reset(wait)
	}
}

// gossipGrace is how many gossip intervals after memberlist last heard of
// a new live member a node that already joined waits before it joins again
// to fetch the discovered addresses it still misses. While members keep
// arriving, gossip is bringing them (an alive message reaches every
// member within a few gossip rounds), and a join, a state exchange of
// every member both sides hold, races it: a 100-process start made 677
// joins, most of them while the others were still starting; with the
// grace (and absent's filter) 398.
const gossipGrace = 5

// stragglerGrace replaces gossipGrace when a node misses only a few of the
// discovered addresses (at most a tenth of the members it knows): the
// stragglers of a start, whose alive messages it missed. Every member it
// did get kept postponing the join that brings them: one node of a
// 50-process start held 49 members for 1.1 s, everybody else waiting
// for it, while gossip trickled in the others' changes.
const stragglerGrace = 2

// rejoinGate decides when a discovery loop joins again: the join pacer
// (joinpace.go), then the grace after memberlist last heard of a new
// member (gossipGrace, stragglerGrace), unless the node heard of a
// missing one (heardAbsent). Only the discovery loop uses it.
type rejoinGate struct {
	pacer  joinPacer
	growth liveGrowth
}

// allow reports whether a join toward absent discovered addresses starts
// now, and records it if so, for a node that knows known members (itself
// included), live of them held alive by memberlist, with gossip its gossip
// interval; heard says that some of the absent ones are members whose
// adverts came before their alive messages (heardAbsent): the grace waits
// for gossip to bring members, and gossip is behind on those.
func (g *rejoinGate) allow(now time.Time, known, live, absent int, heard bool, gossip time.Duration) bool {
	if absent == 0 || g.pacer.wait(now, known, absent, heard) > 0 {
		return false
	}
	grace := gossipGrace
	if absent <= max(1, known/10) {
		grace = stragglerGrace
	}
	if g.growth.growing(now, live, time.Duration(grace)*gossip) && g.pacer.joins >= unpacedJoins && !heard {
		return false
	}
	g.pacer.started(now, known)
	return true
}

// liveGrowth remembers when the number of members memberlist holds alive
// last grew; only the discovery loop uses it.
type liveGrowth struct {
	live int
	at   time.Time
}

// growing records live, the number of live members at now, and reports
// whether that number grew within grace.
func (g *liveGrowth) growing(now time.Time, live int, grace time.Duration) bool {
	if live > g.live {
		g.at = now
	}
	g.live = live
	return now.Sub(g.at) < grace
}

// nextPoll is the interval with ±20% jitter, doubled per consecutive
// failure up to maxBackoff.
func nextPoll(interval, maxBackoff time.Duration, failures int) time.Duration {
	d := interval
	for range min(failures, 30) {
		d *= 2
		if d >= maxBackoff {
			d = maxBackoff
			break
		}
	}
	return jittered(d)
}

// jittered is d ±20%, at random.
func jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// discover asks the sentry once. A failure is reported (event, log line
// per distinct error, LastDiscoveryError) and returned.
func (n *Node) discover(ctx context.Context) ([]netip.AddrPort, error) {
	pollCtx, cancel := context.WithTimeout(ctx, max(n.cfg.DiscoveryInterval, n.cfg.Detection.TCPTimeout))
	peers, err := n.cfg.Sentry.Discover(pollCtx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		de := &DiscoveryError{Err: err}
		prev := n.lastDiscErr.Swap(de)
		if prev == nil || prev.Err.Error() != err.Error() {
			n.logger.Warn("discovery failed; members unchanged", "err", err)
		}
		n.emit(&DiscoveryFailed{Err: de})
		return nil, de
	}
	if prev := n.lastDiscErr.Swap(nil); prev != nil {
		n.logger.Info("discovery recovered", "peers", len(peers))
	}
	return peers, nil
}

// viewSize is how many members the current view holds.
func (n *Node) viewSize() int { return len(n.snap.Load().View.Members) }

// knownSize is how many members this node knows of, itself included: its
// view's, or memberlist's live ones when it knows more. Joins are paced by
// it: the view takes joins in batches once they settle, and a node whose
// view still held itself alone counted as alone, so its rejoins went
// unpaced while memberlist already knew dozens of members: of the 470
// state exchanges of one 100-process start, 332 were a node's second to
// sixth. Paced by what it knows (and with joinFirst's growing stagger),
// three starts made 242-244 instead of 390-408.
func (n *Node) knownSize() int { return knownMembers(n.viewSize(), 1+len(n.ml.LiveAddrs())) }

// knownMembers is knownSize for a view of view members and known members
// memberlist holds alive (itself included): the view's size while
// memberlist knows fewer than twice rejoinGossips, since below that a
// state exchange is small and quick rejoins are what a small start needs
// (paced by what memberlist knew, 10-process starts took 398-639 ms in
// eight runs, against 235-433 ms before and 352-609 ms with this bound,
// the 50-process ones unchanged).
func knownMembers(view, known int) int {
	if known < 2*rejoinGossips {
		return view
	}
	return max(view, known)
}

// absent returns the discovered addresses that no live member holds:
// neither a member of this node's view nor one memberlist holds alive
// ahead of it. The view takes joins in batches once they settle, up to a
// second apart at 50 members while a start goes on, and a join with a
// member already held is a state exchange that brings nothing new: 215 of
// the 677 joins of a 100-process start were such.
func (n *Node) absent(peers []netip.AddrPort) []netip.AddrPort {
	alive, known := n.index().live, n.ml.LiveAddrs()
	var out []netip.AddrPort
	for _, p := range peers {
		if !held(alive, p) && !held(known, p) {
			out = append(out, p)
		}
	}
	return out
}

// alonePaused is how long a node that knows members members waits for
// the first of the absent addresses to be dialled again: until every one
// of them stays paused (pausedFor) while the node is alone, 0 otherwise.
// A rejoin before then would skip them all: a node waiting alone for its
// cluster, every sentry address refusing, woke its discovery loop about
// 50 times a second to find that out. With company the loop keeps its
// pace: each of its turns while every address is paused counts as a join
// for the join pacer, and that holds the first real join after a pause
// back by a join gap. Sleeping out the pauses there too made 100-process
// starts slower (fewer turns, so more joins: 5.9-10.1 s against 5.8-9.4 s
// in ten alternating rounds, slower in eight), docs/benchmarks.md.
func (n *Node) alonePaused(members int, absent []netip.AddrPort, now time.Time) time.Duration {
	if members > 1 {
		return 0
	}
	return n.pausedFor(absent, now)
}

// heardAbsent returns the absent discovered addresses of members this node
// heard of (membership.HeardOf: their adverts came before memberlist held
// them alive), for a node that is not Ready, knows known members, in a
// view below membership.RelayFrom, and either misses only a few of the
// discovered addresses (a tenth of those it knows, or one) or holds
// fewer than Consensus members alive; none otherwise. They surely answer:
// joining them at once, rather than after the grace for gossip, ends the
// wait for them. In 50-process starts the last node to hold the whole
// view waited 0.4-0.6 s for its last member that way. A node below
// Consensus waits for just what a member heard of has: a member that is
// Assembling advertises no view smaller than Consensus, so one state
// exchange with it brings the rest. With the tenth alone, the first nodes
// of 10-process starts (missing two to eight, a tenth being none) held
// the whole view 135-225 ms after the others, waiting for gossip. Without
// either limit, a 100-process start with a Consensus of 3 made about 600
// joins instead of about 290, 450 of them toward members heard of, and
// was no faster: its members advertise small views early.
// Only discovered addresses are joined: an advert names any address its
// sender likes. Not Ready and below relays, because in a Ready cluster
// every member hears a newcomer's advert at once, and all of them
// joining it together would be a burst of state exchanges on the
// newcomer, at 1,000 members a thousand of a thousand members each.
//
// An address that refused a dial stays paused (addrBackoff); a member
// there heard of since the refusal is joined all the same (its process
// started since), and the join ends the pause. One heard of before the
// refusal is not: it ended since, or it never was where its ID says.
func (n *Node) heardAbsent(absent []netip.AddrPort, known int) []netip.AddrPort {
	if !joinsHeard(len(absent), known, 1+len(n.ml.LiveAddrs()), n.cfg.Consensus, n.State()) {
		return nil
	}
	now := time.Now()
	refusedAt := func(a netip.AddrPort) (time.Time, bool) {
		if n.authRefused.skip(a, now) {
			return time.Time{}, false // another secret or app: never joined
		}
		since, _ := n.deadAddrs.pause(a, now)
		return since, true
	}
	return heardAmong(absent, n.ml.HeardOf(), n.hints.isEnded, refusedAt)
}

// joinsHeard reports whether a node in state, knowing known members, live
// of them held alive by memberlist (itself included), and missing absent
// discovered addresses, joins the members it heard of at once (see
// heardAbsent).
func joinsHeard(absent, known, live, consensus int, state State) bool {
	if absent == 0 || known >= membership.RelayFrom || state == Ready {
		return false
	}
	return live < consensus || absent <= max(1, known/10)
}

// heardAmong returns the addresses of absent that the members heard of
// name, leaving out members found ended and addresses that may not be
// joined (refusedAt's false) or that refused a dial after the member's
// last advert came (refusedAt's time, zero when not paused).
func heardAmong(absent []netip.AddrPort, heard []membership.Heard, ended func(string) bool, refusedAt func(netip.AddrPort) (time.Time, bool)) []netip.AddrPort {
	var out []netip.AddrPort
	for _, h := range heard {
		if ended(h.ID) {
			continue
		}
		a, ok := addrOfID(h.ID)
		if !ok || !slices.Contains(absent, a) || slices.Contains(out, a) {
			continue
		}
		if at, ok := refusedAt(a); !ok || at.After(h.At) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// addrOfID is the address a member ID names (app@host:port#incarnation).
func addrOfID(id string) (netip.AddrPort, bool) {
	name, _, ok := parseMemberID(id)
	if !ok {
		return netip.AddrPort{}, false
	}
	at := strings.LastIndexByte(name, '@')
	if at < 0 {
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddrPort(name[at+1:])
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), true
}

// pausedFor is how long from now every address of addrs stays paused
// (refused, or answered with another secret or app: addrBackoff), or 0
// when one of them is not.
func (n *Node) pausedFor(addrs []netip.AddrPort, now time.Time) time.Duration {
	var first time.Time
	for _, a := range addrs {
		until := later(n.authRefused.resumes(a, now), n.deadAddrs.resumes(a, now))
		if until.IsZero() {
			return 0
		}
		if first.IsZero() || until.Before(first) {
			first = until
		}
	}
	return first.Sub(now)
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// liveAddrs is the set of addresses the members of s hold, with this
// node's own addresses: its advertised one, and its port on every address
// it is bound to (every local address when bound to all of them). It reads
// the snapshot, not memberlist's Members(): memberlist mutates the nodes
// that one returns while gossip runs.
func (n *Node) liveAddrs(s *Snapshot) map[netip.AddrPort]bool {
	alive := map[netip.AddrPort]bool{n.self.Addr: true}
	for _, m := range s.View.Members {
		alive[m.Addr] = true
	}
	port := n.self.Addr.Port()
	if bound := n.tr.Addr().Addr(); bound.IsValid() && !bound.IsUnspecified() {
		alive[netip.AddrPortFrom(bound.Unmap(), port)] = true
	} else {
		for _, a := range localAddrs() {
			alive[netip.AddrPortFrom(a, port)] = true
		}
	}
	return alive
}

// held reports whether p is in the set alive (see liveAddrs).
func held(alive map[netip.AddrPort]bool, p netip.AddrPort) bool {
	return alive[netip.AddrPortFrom(p.Addr().Unmap(), p.Port())]
}

// join contacts the addresses in random order until one of them answers.
// One successful join is enough: memberlist exchanges the whole state of
// both sides, and gossip does the rest. A node starting into a running
// cluster of 50 therefore makes one state exchange, not 49 (that storm of
// exchanges, each decoding every member, used to starve 50 processes
// sharing two cores). The next attempt starts as soon as the previous ones
// have failed (a refused connection fails at once), or joinStagger after
// the last one started while those are still pending (a dead host costs a
// TCP timeout), doubled for each further one pending (see joinFirst), with
// at most maxConcurrentJoins in flight. Addresses that
// became live members meanwhile are skipped. Several islands of one
// cluster merge one per discovery round.
func (n *Node) join(ctx context.Context, addrs []netip.AddrPort) {
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	member := func(a netip.AddrPort) bool {
		now := time.Now()
		return held(n.index().live, a) || held(n.ml.LiveAddrs(), a) || n.authRefused.skip(a, now) || n.deadAddrs.skip(a, now)
	}
	errs := joinFirst(ctx, addrs, joinStagger, member, n.joinOne)
	if len(errs) > 0 {
		n.logger.Debug("some discovered peers did not answer", "failed", len(errs), "err", errors.Join(errs...))
	}
}

// joinOne joins through one address. An address that answers with another
// secret or app is paused with backoff (membership has counted it and
// named it in its log summary), and so is one that refuses the connection.
func (n *Node) joinOne(ctx context.Context, a netip.AddrPort) error {
	_, err := n.ml.Join(ctx, []netip.AddrPort{a})
	switch {
	case errors.Is(err, membership.ErrAuth):
		n.authRefused.refused(a, time.Now())
	case errors.Is(err, membership.ErrRefused):
		n.deadAddrs.refused(a, time.Now())
	}
	return err
}

// joinFirst tries addrs in order until one try succeeds, and returns the
// errors of the tries that failed. A try starts when every earlier one has
// failed, or, while earlier ones are pending, stagger after the last start
// doubled for every pending try but one (stagger with one pending, twice
// that with two), with at most maxConcurrentJoins pending; addresses for which member
// reports true are skipped. It returns once a try succeeded, or every
// address was tried, or ctx ended, after the pending tries have returned.
func joinFirst(ctx context.Context, addrs []netip.AddrPort, stagger time.Duration,
	member func(netip.AddrPort) bool, try func(context.Context, netip.AddrPort) error) []error {
	results := make(chan error, len(addrs)) // tries never block on it
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var errs []error
	pending, next, due := 0, 0, true
	for ctx.Err() == nil {
		if due && pending < maxConcurrentJoins {
			for next < len(addrs) && member(addrs[next]) {
				next++
			}
			if next < len(addrs) {
				a := addrs[next]
				next++
				pending++
				wg.Add(1)
				go func() {
					defer wg.Done()
					results <- try(ctx, a)
				}()
				due = false
				// Twice as long for every try still pending: under
				// load a live peer's state exchange often takes longer
				// than stagger, and every try that then succeeds too
				// is a whole state exchange for nothing (38 extra of
				// a 100-process start's first 138).
				timer.Reset(stagger << (pending - 1))
			}
		}
		if pending == 0 {
			break // every address was tried
		}
		select {
		case err := <-results:
			pending--
			if err == nil {
				return errs
			}
			errs = append(errs, err)
			due = true
		case <-timer.C:
			due = true
		case <-ctx.Done():
		}
	}
	return errs
}

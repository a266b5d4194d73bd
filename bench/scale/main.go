// Command scale starts many cloister nodes at once in one process, on the
// in-memory network (cloistertest/memnet), and reports: the time until
// every node is Ready on one agreed view of all of them; how many
// distinct views the nodes reported to the application on the way (the
// views of their Ready and Rehashing states, across all nodes: the Rapid
// paper's Table 1 counts the distinct cluster sizes reported the same
// way); heap and goroutines per member once Ready; then, with -kill k, the
// time until the survivors agree on a view without k members killed at
// once, and how many view changes that took (distinct views reported
// after the kill, other than the one agreed before it: a survivor that
// goes from Ready to Rehashing on it reports it again).
//
// The kill comes -kill-after (2 s) after every node is Ready, once the
// members' watches are open. The default profile, "shared", is what the
// test harness runs for N nodes in one process
// (cloistertest.DetectionFor): LAN up to 100 nodes, memberlist's timings
// beyond, with probes stretched by N/200 from 200 nodes on and by
// N²/100,000 beyond 500 (10 times at 1,000); -views prints
// every distinct view when first reported, and its size.
//
//	go run ./bench/scale -n 100,500,1000
//	go run ./bench/scale -n 200 -kill 10 -views
//	go run ./bench/scale -n 100 -kill 10 -profile local
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/cloistertest/memnet"
	"github.com/cloister-go/cloister/discovery"
)

func main() {
	sizes := flag.String("n", "100,500,1000", "cluster sizes")
	kill := flag.Int("kill", 10, "members killed at once after the start (0: none)")
	flag.BoolVar(&showViews, "views", false, "print each distinct view reported (when first, and its size) to stderr")
	flag.DurationVar(&killAfter, "kill-after", 2*time.Second, "how long the cluster runs Ready and quiet (one view, no failure being confirmed or reported) before the kill (its members' watches open once Ready)")
	flag.DurationVar(&quietBound, "quiet-bound", 3*time.Minute, "how long to wait after the start for the cluster to be quiet for -kill-after; the kill goes ahead after it all the same, and the table says so")
	profile := flag.String("profile", "shared", "detection profile: shared (cloistertest.DetectionFor(N): LAN up to 100 nodes, memberlist's timings beyond, probes stretched by N/200 from 200, N²/100,000 beyond 500), lan, local, wan, or memberlist (memberlist's DefaultLANConfig timings)")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on each wait")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060)")
	flag.DurationVar(&progressEvery, "progress", 0, "print the nodes' states, failure reports and counters to stderr this often (0: never)")
	probeInterval := flag.Duration("probe-interval", 0, "override the profile's probe interval (0: keep)")
	probeTimeout := flag.Duration("probe-timeout", 0, "override the profile's probe timeout (0: keep)")
	gossipInterval := flag.Duration("gossip-interval", 0, "override the profile's gossip interval (0: keep)")
	suspicionMax := flag.Int("suspicion-max", 0, "override the profile's SuspicionMaxTimeoutMult (0: keep)")
	retransmitMult := flag.Int("retransmit-mult", 0, "override the profile's RetransmitMult (0: keep)")
	flag.IntVar(&consensus, "consensus", 0, "every node's Consensus (0: N, the whole cluster)")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "scale: pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	detection := func(n int) (cloister.Detection, bool) {
		d, ok := detectionByName(*profile, n)
		if *probeInterval > 0 {
			d.ProbeInterval = *probeInterval
		}
		if *probeTimeout > 0 {
			d.ProbeTimeout = *probeTimeout
		}
		if *gossipInterval > 0 {
			d.GossipInterval = *gossipInterval
		}
		if *suspicionMax > 0 {
			d.SuspicionMaxTimeoutMult = *suspicionMax
		}
		if *retransmitMult > 0 {
			d.RetransmitMult = *retransmitMult
		}
		return d, ok
	}
	if _, ok := detection(1); !ok {
		fmt.Fprintf(os.Stderr, "scale: no profile %q\n", *profile)
		os.Exit(2)
	}
	fmt.Println("| N | profile | all Ready on one view | distinct views reported during the start | heap per member | goroutines per member | quiet before the kill | kill | survivors agree after | view changes to remove them |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 {
			fmt.Fprintf(os.Stderr, "scale: bad size %q\n", s)
			os.Exit(2)
		}
		d, _ := detection(n)
		fmt.Fprintf(os.Stderr, "scale: N=%d, detection %+v\n", n, d)
		r, err := measure(n, *kill, d, *timeout)
		fmt.Println(r.row())
		if err != nil {
			fmt.Fprintln(os.Stderr, "scale:", err)
			os.Exit(1)
		}
	}
}

// consensus is the -consensus flag.
var consensus int

// progressEvery is the -progress flag.
var progressEvery time.Duration

// detectionByName is cloister.DetectionByName plus "shared"
// (cloistertest.DetectionFor(n)) and "memberlist": memberlist's own
// DefaultLANConfig timings, for comparison.
func detectionByName(name string, n int) (cloister.Detection, bool) {
	switch name {
	case "shared":
		return cloistertest.DetectionFor(n), true
	case "memberlist":
		return cloistertest.MemberlistDetection(), true
	}
	return cloister.DetectionByName(name)
}

type result struct {
	n, kill               int
	profile               string
	ready                 time.Duration
	startViews, killViews int
	heapPerMember         float64 // bytes
	goroutinesPerMember   float64
	killAgreed            time.Duration
	// quiet is how long after all were Ready the cluster was quiet
	// for killAfter (waitQuiet); quietMissed that it was not within
	// quietBound, and the kill came after the bound.
	quiet       time.Duration
	quietMissed bool
}

func (r result) row() string {
	dur := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return d.Round(time.Millisecond).String()
	}
	k := "-"
	if r.kill > 0 {
		k = strconv.Itoa(r.kill)
	}
	quiet := dur(r.quiet)
	if r.quietMissed {
		quiet = "not quiet within " + quiet
	}
	return fmt.Sprintf("| %d | %s | %s | %d | %.0f KiB | %.1f | %s | %s | %s | %d |", r.n, r.profile, dur(r.ready), r.startViews,
		r.heapPerMember/1024, r.goroutinesPerMember, quiet, k, dur(r.killAgreed), r.killViews)
}

// views collects the distinct view IDs nodes reported while Ready or
// Rehashing.
type views struct {
	mu    sync.Mutex
	ids   map[cloister.ViewID]struct{}
	log   []string  // with -views: each new view, when first reported, and its size
	since time.Time // the start of what is collected
	downs int       // MemberDown events heard by every node, for -progress
	// ignored is a view not collected: the one agreed before the kill.
	ignored cloister.ViewID
}

// ignore stops collecting the view id.
func (v *views) ignore(id cloister.ViewID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ignored = id
	delete(v.ids, id)
}

func (v *views) add(id cloister.ViewID, size int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if id == v.ignored {
		return
	}
	if _, ok := v.ids[id]; !ok && showViews {
		v.log = append(v.log, fmt.Sprintf("%v: %d members", time.Since(v.since).Round(time.Millisecond), size))
	}
	v.ids[id] = struct{}{}
}

// take returns how many were collected and starts afresh; with -views it
// prints them first.
func (v *views) take() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := len(v.ids)
	if showViews && len(v.log) > 0 {
		fmt.Fprintf(os.Stderr, "scale: %d distinct views: %s\n", n, strings.Join(v.log, ", "))
	}
	v.ids, v.log, v.since = map[cloister.ViewID]struct{}{}, nil, time.Now()
	return n
}

// reporter is the listener of one node: it adds the views the node
// reports while Ready or Rehashing. Its node calls it from one goroutine,
// in order.
type reporter struct {
	v      *views
	state  cloister.State
	killed atomic.Bool // its node was killed: what it reports after is not the survivors' view
}

func (r *reporter) OnStateChange(_, to cloister.State, s cloister.Snapshot) {
	r.state = to
	if r.killed.Load() {
		return
	}
	if to == cloister.Ready || to == cloister.Rehashing {
		r.v.add(s.View.ID, len(s.View.Members))
	}
}

func (r *reporter) OnEvent(e cloister.Event) {
	if r.killed.Load() {
		return
	}
	if _, ok := e.(*cloister.MemberDown); ok {
		r.v.mu.Lock()
		r.v.downs++
		r.v.mu.Unlock()
	}
	if c, ok := e.(*cloister.ViewChanged); ok && (r.state == cloister.Ready || r.state == cloister.Rehashing) {
		r.v.add(c.New.ID, len(c.New.Members))
	}
}

// showViews prints every distinct view reported.
var showViews bool

// liveHeap is the heap the last garbage collection found live, and how
// many collections had run. It is read at Ready without forcing a
// collection: a forced one of the 10 GB heap of 1,000 nodes took about
// 30 s, with the nodes' goroutines assisting it, right before the kill.
func liveHeap() (live, cycles uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0, 0
	}
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// heapSince is the live heap now, as liveHeap reads it, forcing a
// collection only when none ran since the reading of cycles (a small
// cluster may reach Ready before the first).
func heapSince(cycles uint64) uint64 {
	live, now := liveHeap()
	if now == cycles {
		runtime.GC()
		live, _ = liveHeap()
	}
	return live
}

// killAfter is how long a cluster runs Ready before the kill.
var killAfter time.Duration

func measure(n, kill int, d cloister.Detection, timeout time.Duration) (result, error) {
	r := result{n: n, kill: kill, profile: d.Name}
	net := memnet.New(uint64(n))
	defer net.Close()
	addrs := make([]netip.AddrPort, n)
	for i := range addrs {
		addrs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte((i + 1) >> 8), byte(i + 1)}), 4747)
	}
	sentry := discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return addrs, nil })
	v := &views{ids: map[cloister.ViewID]struct{}{}, since: time.Now()}
	runtime.GC() // nothing runs yet: the live heap before the nodes, exactly
	before, cycles := liveHeap()
	goroutines := runtime.NumGoroutine()

	nodes := make([]*cloister.Node, n)
	reporters := make([]*reporter, n)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		tr, err := net.Listen(addrs[i])
		if err != nil {
			return r, err
		}
		cfg := cloister.DefaultConfig()
		cfg.App = "scale"
		cfg.Secret = cloister.Secret("scale-bench-secret")
		cfg.Consensus = n
		if consensus > 0 {
			cfg.Consensus = min(consensus, n)
		}
		cfg.Sentry = sentry
		cfg.Transport = tr
		cfg.Detection = d
		reporters[i] = &reporter{v: v}
		cfg.Listeners = []cloister.Listener{reporters[i]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			nodes[i], errs[i] = cloister.Launch(ctx, cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	defer stopAll(nodes)
	if progressEvery > 0 {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			progress(nodes, v, net, start, stop)
		}()
		defer func() { close(stop); <-done }()
	}
	if _, err := waitAgreed(nodes, n, timeout); err != nil {
		return r, fmt.Errorf("start of %d: %w", n, err)
	}
	r.ready = time.Since(start) // from the first launch
	r.startViews = v.take()
	after := heapSince(cycles)
	r.heapPerMember = float64(after-min(after, before)) / float64(n)
	r.goroutinesPerMember = float64(runtime.NumGoroutine()-goroutines) / float64(n)
	if showViews || progressEvery > 0 {
		// The table's row comes at the end, which a kill that does not
		// agree may never reach.
		fmt.Fprintf(os.Stderr, "scale: all %d Ready on one view at term %d after %v; heap %.1f MB and %.1f goroutines per member\n",
			n, nodes[0].Snapshot().Term, r.ready.Round(100*time.Millisecond), r.heapPerMember/1e6, r.goroutinesPerMember)
	}
	if kill <= 0 || kill >= n {
		return r, nil
	}
	// A steady cluster, not one that just became Ready, nor one still
	// confirming the false failures of an overloaded start: those
	// would land after the kill and count as its view changes.
	r.quiet, r.quietMissed = waitQuiet(nodes, v, killAfter, quietBound)
	if showViews || progressEvery > 0 {
		fmt.Fprintf(os.Stderr, "scale: quiet for %v after %v (missed the bound: %v)\n", killAfter, r.quiet.Round(100*time.Millisecond), r.quietMissed)
	}
	if q := v.take(); q > 0 {
		fmt.Fprintf(os.Stderr, "scale: %d views reported between Ready and the kill\n", q)
	}
	// A survivor that leaves Ready for Rehashing on the view agreed before
	// the kill (others advertise a newer one) reports that view again: it
	// is no change, so it is not counted.
	v.ignore(nodes[0].ViewID())
	for _, r := range reporters[n-kill:] {
		r.killed.Store(true)
	}
	toClosed := net.Stats().DroppedNoListener
	killStart := time.Now()
	// All at one instant, as kill -9 of ten processes: closed one after
	// the other, the transports took over a second to close in a busy
	// process of 500 nodes, and the survivors saw a row of failures.
	net.Crash(addrs[n-kill:]...)
	if showViews {
		fmt.Fprintf(os.Stderr, "scale: the %d victims' transports closed in %v\n", kill, time.Since(killStart))
	}
	for i := n - kill; i < n; i++ {
		go func(nd *cloister.Node) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = nd.Stop(ctx)
		}(nodes[i])
	}
	survivors := nodes[:n-kill]
	if _, err := waitAgreed(survivors, n-kill, timeout); err != nil {
		return r, fmt.Errorf("%d nodes after %d kills: %w", n, kill, err)
	}
	r.killAgreed = time.Since(killStart)
	r.killViews = v.take()
	if showViews || progressEvery > 0 {
		// One term above the start's when the round that agreed the
		// view committed it; more when some acceptance was superseded.
		fmt.Fprintf(os.Stderr, "scale: all %d survivors Ready on one view at term %d after %v\n",
			n-kill, survivors[0].Snapshot().Term, r.killAgreed.Round(100*time.Millisecond))
	}
	if showViews {
		// memberlist's probes and gossip, and whatever cloister sent
		// the victims before it knew: members found ended get nothing
		// more (membership.Ended).
		fmt.Fprintf(os.Stderr, "scale: %d datagrams sent to the victims' closed ports from the kill until the survivors agreed\n",
			net.Stats().DroppedNoListener-toClosed)
	}
	return r, nil
}

// quietBound is the -quiet-bound flag.
var quietBound time.Duration

// quietPoll is how often waitQuiet looks: each look may read every node's
// Stats.
const quietPoll = time.Second

// waitQuiet waits until the cluster has been quiet for hold: every node
// Ready on one view all along, no node confirming a failure, and no
// member reported down. It returns how long that took, or bound and true
// when the cluster was not quiet for hold within bound.
func waitQuiet(nodes []*cloister.Node, v *views, hold, bound time.Duration) (time.Duration, bool) {
	start := time.Now()
	tick := time.NewTicker(quietPoll)
	defer tick.Stop()
	var since time.Time // zero while not quiet
	var view cloister.ViewID
	downs := -1
	for {
		v.mu.Lock()
		d := v.downs
		v.mu.Unlock()
		quiet := d == downs && agreed(nodes, len(nodes)) && nodes[0].ViewID() == view && confirming(nodes) == 0
		now := time.Now()
		switch {
		case !quiet:
			since, downs, view = time.Time{}, d, nodes[0].ViewID()
		case since.IsZero():
			since = now
		case now.Sub(since) >= hold:
			return now.Sub(start), false
		}
		if now.Sub(start) >= bound {
			return bound, true
		}
		<-tick.C
	}
}

// confirming is how many failures the nodes are confirming.
func confirming(nodes []*cloister.Node) int {
	c := 0
	for _, nd := range nodes {
		c += nd.Stats().FailuresConfirming
	}
	return c
}

// waitAgreed polls until every node is Ready on one view of want members.
func waitAgreed(nodes []*cloister.Node, want int, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		if agreed(nodes, want) {
			return time.Since(start), nil
		}
		select {
		case <-tick.C:
		case <-deadline:
			return time.Since(start), fmt.Errorf("not agreed after %v: %s", timeout, summary(nodes))
		}
	}
}

// agreed reports whether every node is Ready on one view of want
// members. It copies one view only (see Node.ViewID).
func agreed(nodes []*cloister.Node, want int) bool {
	first := nodes[0].ViewID()
	for _, nd := range nodes {
		if nd.State() != cloister.Ready || nd.ViewID() != first {
			return false
		}
	}
	v := nodes[0].View()
	return v.ID == first && len(v.Members) == want
}

// summary counts the nodes by state and the size of their view. Only one
// snapshot per distinct view is copied for its size: a snapshot copies the
// whole view, and one per node at 1,000 nodes is a million member copies
// per progress line, load that the run being measured pays for.
func summary(nodes []*cloister.Node) string {
	sizes := map[cloister.ViewID]int{}
	states := map[string]int{}
	for _, nd := range nodes {
		state, id := nd.State(), nd.ViewID()
		size, ok := sizes[id]
		if !ok {
			s := nd.Snapshot()
			state, id, size = s.State, s.View.ID, len(s.View.Members)
			if _, seen := sizes[id]; !seen {
				sizes[id] = size
			}
		}
		states[fmt.Sprintf("%s/%d", state, size)]++
	}
	return fmt.Sprint(states)
}

// progress prints, every progressEvery until stop is closed, the nodes'
// states and the sums of their failure-detection counters.
func progress(nodes []*cloister.Node, v *views, net *memnet.Network, start time.Time, stop <-chan struct{}) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-stop:
			return
		}
		var notConfirmed, hinted, overLimit, queueFull, pulls, endedPulls, endedAnswers, onCommit uint64
		var pings cloister.PingStats
		var late cloister.AckLateness
		health, confirming := 0, 0
		stats := make([]cloister.Stats, len(nodes))
		for i, nd := range nodes {
			st := nd.Stats()
			stats[i] = st
			confirming += st.FailuresConfirming
			notConfirmed += st.FailuresNotConfirmed
			hinted += st.FailuresHinted
			overLimit += st.Gossip.StreamsOverLimit
			queueFull += st.Gossip.HandlerQueueFull
			pulls += st.PullsSent
			endedPulls += st.EndedPullsSent
			endedAnswers += st.EndedPullsAnswered
			onCommit += st.CommitsOnCommit
			pings.Sent += st.Pings.Sent
			pings.Acked += st.Pings.Acked
			pings.Unmatched += st.Pings.Unmatched
			pings.TooLate += st.Pings.TooLate
			late = addLateness(late, st.Pings.Late)
			health = max(health, st.HealthScore)
		}
		v.mu.Lock()
		downs := v.downs
		v.mu.Unlock()
		// Agreement as node 0 sees it: how many distinct views the nodes
		// hold, and how many members node 0 sees advertising its own.
		held := map[cloister.ViewID]int{}
		for _, nd := range nodes {
			held[nd.ViewID()]++
		}
		s0 := nodes[0].Snapshot()
		same := 0
		var behind []cloister.Member
		for _, m := range s0.View.Members {
			if m.ViewID == s0.View.ID {
				same++
			} else if len(behind) < 3 {
				behind = append(behind, m)
			}
		}
		fmt.Fprintf(os.Stderr, "scale: %5.1fs %s views held=%d node0 sees %d of %d advertising its view downs=%d notConfirmed=%d confirming=%d hinted=%d streamsOverLimit=%d handlerQueueFull=%d pulls=%d endedPulls=%d/%d answered commitsOnCommit=%d pings=%d/%d acked, %d acks too late, %d unmatched, late acks %s maxHealth=%d goroutines=%d memnet=%+v%s%s%s\n",
			time.Since(start).Seconds(), summary(nodes), len(held), same, len(s0.View.Members), downs, notConfirmed, confirming, hinted, overLimit, queueFull, pulls, endedAnswers, endedPulls, onCommit, pings.Acked, pings.Sent, pings.TooLate, pings.Unmatched, lateness(late), health, runtime.NumGoroutine(), net.Stats(), stragglers(nodes, stats, held), holdouts(nodes), behindNode0(nodes, s0, same, behind))
	}
}

// behindNode0 describes up to three members that node 0's records show
// advertising another view than node 0's, once most do: what node 0's
// record says and what the member itself holds. A member that holds node
// 0's view while node 0's record of it does not has an advert that has
// not reached node 0; one that does not hold it is behind itself.
func behindNode0(nodes []*cloister.Node, s0 cloister.Snapshot, same int, behind []cloister.Member) string {
	if len(behind) == 0 || same < len(nodes)/2 {
		return ""
	}
	out := " behind at node0:"
	for _, m := range behind {
		out += fmt.Sprintf(" [%s record %s term=%d", m.ID, m.StateName, m.Term)
		for i, nd := range nodes {
			if nd.Self().ID != m.ID {
				continue
			}
			self := nd.Self()
			out += fmt.Sprintf("; node %d holds node0's view: %v, %s term=%d; %d of %d sampled nodes see it advertise that view", i, nd.ViewID() == s0.View.ID, self.StateName, self.Term, sampleSeeing(nodes, m.ID, s0.View.ID), behindSample)
			break
		}
		out += "]"
	}
	return out
}

// behindSample is how many nodes, spread over the cluster, behindNode0 asks
// about a member that node 0 sees behind.
const behindSample = 20

// sampleSeeing counts, among behindSample nodes spread over the cluster,
// those whose record of member id advertises view: whether its advert
// reached most members (node 0 missed it) or few (it was not sent, or
// lost everywhere).
func sampleSeeing(nodes []*cloister.Node, id string, view cloister.ViewID) int {
	seeing := 0
	for k := range behindSample {
		s := nodes[(k*len(nodes))/behindSample].Snapshot()
		for _, m := range s.View.Members {
			if m.ID == id && m.ViewID == view {
				seeing++
				break
			}
		}
	}
	return seeing
}

// holdouts describes up to three nodes that are not Ready on the view
// most Ready nodes hold, once at least half the nodes are Ready on it:
// their state and term, and what their records of the view's members say
// (how many advertise the view, how many advertise Ready, how many the
// highest term among them). One holdout keeps the run from its result.
func holdouts(nodes []*cloister.Node) string {
	// Only the holdouts' snapshots are taken: a snapshot copies the whole
	// view, and taking all of them at 1,000 nodes (a million member
	// copies per line) slowed the progress lines from about 50 s apart
	// to 90-140 s.
	ready := map[cloister.ViewID]int{}
	var modal cloister.ViewID
	for _, nd := range nodes {
		if nd.State() == cloister.Ready {
			id := nd.ViewID()
			ready[id]++
			if ready[id] > ready[modal] {
				modal = id
			}
		}
	}
	if ready[modal] < len(nodes)/2 || ready[modal] == len(nodes) {
		return ""
	}
	out, shown := " holdouts:", 0
	for i, nd := range nodes {
		if shown == 3 {
			break
		}
		if nd.ViewID() != modal || nd.State() == cloister.Ready {
			continue
		}
		s := nd.Snapshot()
		onView, readyRecs, top, atTop := 0, 0, uint64(0), 0
		for _, m := range s.View.Members {
			if m.ViewID == s.View.ID {
				onView++
			}
			if m.State == cloister.Ready {
				readyRecs++
			}
			switch {
			case m.Term > top:
				top, atTop = m.Term, 1
			case m.Term == top:
				atTop++
			}
		}
		out += fmt.Sprintf(" [node %d %s term=%d: of %d records %d on the view, %d Ready, %d at term %d]",
			i, s.State, s.Self.Term, len(s.View.Members), onView, readyRecs, atTop, top)
		shown++
	}
	return out
}

// stragglers describes up to three nodes off the view most nodes hold:
// its size, and the failures they are confirming and their health. A
// single straggler holds up a view's acceptance everywhere.
func stragglers(nodes []*cloister.Node, stats []cloister.Stats, held map[cloister.ViewID]int) string {
	var modal cloister.ViewID
	for id, k := range held {
		if k > held[modal] {
			modal = id
		}
	}
	if len(held) < 2 || held[modal] < len(nodes)/2 {
		return ""
	}
	out, shown := " stragglers:", 0
	for i, nd := range nodes {
		if shown == 3 {
			break
		}
		if st := nd.State(); nd.ViewID() == modal || st == cloister.Stopped || st == cloister.Stopping {
			continue
		}
		if s := nd.Snapshot(); s.View.ID != modal { // only the stragglers' views are copied
			out += fmt.Sprintf(" [node %d %s/%d confirming=%d notConfirmed=%d health=%d]", i, s.State, len(s.View.Members), stats[i].FailuresConfirming, stats[i].FailuresNotConfirmed, stats[i].HealthScore)
			shown++
		}
	}
	return out
}

func stopAll(nodes []*cloister.Node) {
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = nd.Stop(ctx)
		}()
	}
	wg.Wait()
}

// addLateness adds one node's histogram of late acks to a sum.
func addLateness(sum, l cloister.AckLateness) cloister.AckLateness {
	if sum.Counts == nil {
		sum.Bounds, sum.Counts = l.Bounds, make([]uint64, len(l.Counts))
	}
	for i := range min(len(sum.Counts), len(l.Counts)) {
		sum.Counts[i] += l.Counts[i]
	}
	sum.Sum += l.Sum
	return sum
}

// lateness prints a histogram of late acks: their count and mean, then
// the count of each bucket that has any ("<=1s:3 >16s:1").
func lateness(l cloister.AckLateness) string {
	n := l.Total()
	if n == 0 {
		return "0"
	}
	parts := []string{fmt.Sprintf("%d (mean %v)", n, (l.Sum / time.Duration(n)).Round(time.Millisecond))}
	for i, c := range l.Counts {
		if c == 0 {
			continue
		}
		if i < len(l.Bounds) {
			parts = append(parts, fmt.Sprintf("<=%v:%d", l.Bounds[i], c))
		} else {
			parts = append(parts, fmt.Sprintf(">%v:%d", l.Bounds[len(l.Bounds)-1], c))
		}
	}
	return strings.Join(parts, " ")
}

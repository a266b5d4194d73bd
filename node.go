package cloister

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
	"github.com/cloister-go/cloister/internal/telemetry"
	"github.com/cloister-go/cloister/rpc"
	"github.com/cloister-go/cloister/transport"
)

// Node is a running cluster member. Its methods are safe for concurrent use.
type Node struct {
	cfg         Config
	logger      *slog.Logger
	self        core.Member
	tr          transport.Transport
	ml          *membership.Membership
	calls       *rpc.Endpoint    // node-to-node calls on the same port
	core        *core.Core       // owned by loop; by stop once loop has ended
	rings       ringSet          // rings of the current view; owned like core
	readyRings  map[string]*Ring // rings at the last Ready, for RingChanged; owned like core
	views       viewCache        // the core's view converted for snapshots; owned like core
	ringCfgs    []RingConfig     // the default ring and cfg.Rings, listed once
	ringsDigest uint64           // digest of ringCfgs, advertised
	format      advertFormat     // how adverts are encoded (a later format only in tests)
	mismatched  map[string]bool  // members reported for another ring configuration; owned like core

	snap           atomic.Pointer[Snapshot]
	dispatchMu     sync.Mutex
	dispatch       []*dispatcher
	dropped        atomic.Uint64
	served         atomic.Uint64                     // calls and casts served by handlers (callrate.go)
	conflict       atomic.Pointer[NameConflictError] // set when a live namesake made this node stop
	nameChecked    map[string]bool                   // namesakes checked (nameconflict.go); owned like core
	lastDiscErr    atomic.Pointer[DiscoveryError]
	mon            *monitorService
	gossip         gossipHub      // the services' gossip channel
	counters       counters       // the services' counters
	reconnect      reconnectSet   // addresses of failed members, rejoined by reconnectLoop
	viewIdx        viewIndexCache // live addresses and the hash circle of the current view (fanout.go)
	authRefused    addrBackoff    // addresses that answered with another secret or app
	deadAddrs      addrBackoff    // addresses that refused the connection
	discoverRounds atomic.Int64   // turns of the discovery loop (tests)

	confirmSlots    chan struct{}            // failures being confirmed (confirm.go)
	confirmWait     confirmBacklog           // failures waiting for a slot
	confirmOne      func(membership.Event)   // tests: confirms one failure in place of confirm
	hintSlots       chan struct{}            // hints being checked (watch.go)
	checkDials      chan struct{}            // their dials under way (refusing)
	confirmed       chan confirmedFailure    // failures that stand, for the loop
	hints           hintState                // members checked on a hint, and those found ended (watch.go)
	sweepMu         sync.Mutex               // one broken watch's check and sweep at a time (checkEndings)
	watchPoke       chan struct{}            // capacity 1: a member was found ended; re-aim the watches now
	notices         chan []membership.Member // down notices received (the members each names), for noticeLoop to check
	checking        atomic.Int64             // endings being checked (notices queued, hints under way): settling waits for them
	checksDone      chan struct{}            // capacity 1: checking fell to zero
	failuresRefuted atomic.Uint64            // failures not confirmed: the member answered
	failuresHinted  atomic.Uint64            // failures reported on a closed connection, confirmed
	failuresSwept   atomic.Uint64            // of those, found by checking the member after one found ended
	commitsOnCommit atomic.Uint64            // the core's CommitsOnCommit, copied by the loop

	publish chan struct{} // capacity 1: the advert changed
	// advertised is the advert the publisher was last woken for; owned by
	// the goroutine that owns the core.
	advertised  core.Advert
	firstAdvert published     // the advert membership starts with
	advertSeq   atomic.Uint64 // adverts encoded so far
	stopReq     chan chan struct{}
	ready       chan struct{}
	readyOne    sync.Once
	changed     chan struct{} // closed and replaced on every snapshot change
	changeMu    sync.Mutex
	done        chan struct{}

	loopCtx    context.Context
	loopCancel context.CancelFunc
	pubCancel  context.CancelFunc // stops publishLoop before the leave
	pubDone    chan struct{}
	wg         sync.WaitGroup
	stopOnce   sync.Once

	tel     *telemetry.Metrics // metrics and dashboard (metrics.go); nil when both are off
	stopErr error              // written before done is closed

	// metricsHandler serves GET /metrics, nil without Config.Metrics;
	// stopMetrics ends the export (metrics.go).
	metricsHandler http.Handler
	stopMetrics    func()

	// dispatchClosed (under dispatchMu): the node stopped delivering; a
	// later Subscribe gets a closed channel.
	dispatchClosed bool
	// stoppedDispatchers are the dispatchers at the stop, which Stop
	// lets drain; written before done is closed.
	stoppedDispatchers []*dispatcher
}

// Start launches a node and waits until it is Ready. If ctx ends first,
// the node leaves and Start returns an *AssemblyError saying how far
// assembly got; it matches ErrNotReady and ctx's error.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	n, err := Launch(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := n.WaitReady(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.Detection.TCPTimeout)
		defer cancel()
		_ = n.Stop(stopCtx)
		return nil, err
	}
	return n, nil
}

// Launch starts a node and returns without waiting for Ready: assembly
// goes on in the background. Use it to serve Handler (liveness and
// readiness probes) while the cluster assembles; WaitReady waits. ctx bounds
// only the first discovery poll used to find this node's own address.
func Launch(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	secret := cfg.Secret
	switch {
	case len(secret) == 0 && cfg.Sentry == nil:
		secret = make(Secret, 32)
		_, _ = rand.Read(secret)
		logger.Info("no sentry and no secret: running as a single-node cluster with a random secret nobody else knows")
	case len(secret) == 0:
		logger.Warn("INSECURE: no cluster secret; gossip is unencrypted and anyone who reaches the port can join",
			"bind", cfg.Bind)
	}

	tr := cfg.Transport
	if tr == nil {
		var err error
		if tr, err = transport.Listen(transport.NetConfig{Bind: cfg.Bind}); err != nil {
			field := "Bind"
			if cfg.envBind != "" && cfg.Bind == cfg.envBind {
				field = EnvBind // what the user typed, or its default
			}
			return nil, &ConfigError{Field: field, Reason: "cannot listen on " + cfg.Bind, Err: err}
		}
	}
	tel, err := newTelemetry(&cfg) // metrics and dashboard (metrics.go)
	if err != nil {
		tr.Close()
		return nil, err
	}
	n, err := newNode(ctx, cfg, logger, secret, tr)
	if err != nil {
		tr.Close()
		tel.stop()
		return nil, err
	}
	n.attachTelemetry(tel)
	return n, nil
}

func newNode(ctx context.Context, cfg Config, logger *slog.Logger, secret Secret, tr transport.Transport) (*Node, error) {
	explicit, _ := parseAdvertise(cfg.Advertise)
	var discovered, local []netip.Addr
	// The interfaces and the sentry are consulted only when neither the
	// advertise address nor the bind address names the IP: listing the
	// interfaces is a netlink dump per interface.
	findIP := !explicit.Addr().IsValid() && (!tr.Addr().Addr().IsValid() || tr.Addr().Addr().IsUnspecified())
	if findIP {
		local = localAddrs()
	}
	if cfg.Sentry != nil && findIP {
		pollCtx, cancel := context.WithTimeout(ctx, cfg.Detection.TCPTimeout)
		peers, err := cfg.Sentry.Discover(pollCtx)
		cancel()
		if err != nil {
			logger.Warn("first discovery failed; choosing an address from the interfaces", "err", err)
		}
		for _, p := range peers {
			discovered = append(discovered, p.Addr())
		}
	}
	ip := chooseAdvertise(explicit, tr.Addr(), discovered, local)
	port := explicit.Port()
	if port == 0 {
		port = tr.Addr().Port()
	}
	advertise := netip.AddrPortFrom(ip, port)
	inc := newIncarnation()
	name := memberName(cfg.App, advertise)
	self := core.Member{
		ID: memberID(name, inc), Name: name, Addr: advertise, Incarnation: inc,
		Roles: append([]string(nil), cfg.Roles...), Weight: cfg.Weight, Hidden: cfg.Hidden,
	}
	n := &Node{
		cfg:      cfg,
		ringCfgs: cfg.ringConfigs(),
		format:   cfg.format(),
		logger:   logger.With("node", name),
		self:     self,
		tr:       tr,
		publish:  make(chan struct{}, 1),

		confirmSlots: make(chan struct{}, maxConfirming),
		hintSlots:    make(chan struct{}, maxConfirming),
		checkDials:   make(chan struct{}, maxConfirming),
		confirmed:    make(chan confirmedFailure),
		watchPoke:    make(chan struct{}, 1),
		notices:      make(chan []membership.Member, maxConfirming),
		checksDone:   make(chan struct{}, 1),
		stopReq:      make(chan chan struct{}),
		ready:        make(chan struct{}),
		changed:      make(chan struct{}),
		done:         make(chan struct{}),
	}
	n.ringsDigest = digestRings(n.ringCfgs)
	for _, l := range cfg.Listeners {
		n.dispatch = append(n.dispatch, newDispatcher(listenerDeliver(l), cfg.ListenerQueue, &n.dropped))
	}
	started := false
	defer func() {
		if !started {
			n.closeDispatchers() // every error return below
		}
	}()
	c := core.New(self, cfg.Consensus)
	c.SetQuorum(cfg.Quorum.core())
	if cfg.Hidden {
		c.SetHidden()
	}
	c.Tick(time.Now())
	first := c.Advert()
	// Start moves the core to Assembling before anybody can hear this
	// advert, so that is what the first one says.
	first.State = Assembling
	n.firstAdvert = published{advert: first, members: 1}
	gossipKey, err := secret.deriveKey("gossip")
	if err != nil {
		return nil, fmt.Errorf("cloister: deriving gossip key: %w", err)
	}
	acceptGossip, err := acceptedKeys(cfg.AcceptSecrets, "gossip")
	if err != nil {
		return nil, fmt.Errorf("cloister: deriving gossip keys: %w", err)
	}
	callCfg := rpc.Config{ID: self.ID, Transport: tr, TLS: cfg.CallTLS, MaxMessageSize: cfg.MaxMessageSize}
	if cfg.CallTLS == nil {
		if len(secret) > 0 {
			if callCfg.Secret, err = secret.deriveKey("call"); err != nil {
				return nil, fmt.Errorf("cloister: deriving call key: %w", err)
			}
			if callCfg.AcceptSecrets, err = acceptedKeys(cfg.AcceptSecrets, "call"); err != nil {
				return nil, fmt.Errorf("cloister: deriving call keys: %w", err)
			}
		} else {
			callCfg.Insecure = true
		}
	}
	calls, err := rpc.New(callCfg)
	if err != nil {
		n.closeDispatchers()
		return nil, &ConfigError{Field: "CallTLS", Reason: "unusable call layer settings", Err: err}
	}
	n.calls = calls
	n.registerCallsServed()
	calls.Handle(watchCall, n.handleWatch)
	n.loopCtx, n.loopCancel = context.WithCancel(context.Background())
	n.gossip = gossipHub{ctx: n.loopCtx, wg: &n.wg}
	n.core = c
	// Services start before the node can be reached: their handlers
	// exist before any peer can call them. They see a first snapshot
	// (state Down) and every change from then on.
	n.snap.Store(n.initialSnapshot(c))
	if err := n.startServices(); err != nil {
		n.abortStart()
		return nil, err
	}
	var services membership.ServiceGossip
	if n.gossip.any() {
		services = &n.gossip
	}
	ml, err := membership.Start(membership.Config{
		ID:        self.ID,
		Advertise: advertise,
		Transport: tr,
		Key:       gossipKey,
		Accept:    acceptGossip,
		Label:     "cloister/" + cfg.App,
		Profile:   membershipProfile(cfg.Detection),
		Meta:      n.encodeAdvert(first),
		Logger:    n.logger,
		Services:  services,
		OnDown:    n.noticeDown,
		Settled:   n.settled,
	})
	if err != nil {
		n.abortStart()
		return nil, err
	}
	n.ml = ml
	n.gossip.ml.Store(ml)
	n.logger.Info("node started", "advertise", advertise, "consensus", cfg.Consensus,
		"detection", cfg.Detection.Name, "encrypted", len(cfg.Secret) > 0 || cfg.Sentry == nil)

	n.apply(c.Start())
	pubCtx, pubCancel := context.WithCancel(n.loopCtx)
	n.pubCancel, n.pubDone = pubCancel, make(chan struct{})
	n.wg.Add(2)
	go n.loop()
	go n.progressLoop() // says why while not Ready
	go n.publishLoop(pubCtx)
	if cfg.Sentry != nil {
		n.wg.Add(1)
		go n.discoverLoop()
	}
	if cfg.ReconnectTimeout > 0 {
		n.wg.Add(1)
		go n.reconnectLoop()
	}
	n.wg.Add(4)
	go n.watchLoop()
	go n.noticeLoop()
	go n.pullLoop()
	go n.endedPullLoop()
	started = true
	return n, nil
}

func membershipProfile(d Detection) membership.Profile { return membership.Profile(d) }

// encodeAdvert encodes this node's metadata with the next advert number;
// the first call, for the metadata membership starts with, numbers it 0.
func (n *Node) encodeAdvert(a core.Advert) []byte {
	seq := n.advertSeq.Add(1) - 1
	return encodeMetaAs(meta{View: a.View, State: a.State, Roles: n.self.Roles, Weight: n.self.Weight, Seq: seq,
		Quorum: a.Quorum, HasQuorum: true, RingsDigest: n.ringsDigest, Hidden: n.cfg.Hidden}, n.format)
}

// Self returns this node as a member.
func (n *Node) Self() Member { return n.snap.Load().Self.clone() }

// Snapshot returns the node's current state, view and members, as a copy
// of the caller's own.
func (n *Node) Snapshot() Snapshot { return n.snap.Load().clone() }

// State returns the node's current state.
func (n *Node) State() State { return n.snap.Load().State }

// ViewID returns the ID of the node's current view without copying the
// view: what a readiness poll over many nodes compares (View copies every
// member; polling a thousand nodes' views every few milliseconds copied a
// million members each time).
func (n *Node) ViewID() ViewID { return n.snap.Load().View.ID }

// View returns the node's current view, as a copy of the caller's own.
func (n *Node) View() View { return n.snap.Load().View.clone() }

// Members returns the members of the current view, this node included,
// as a copy of the caller's own.
func (n *Node) Members() []Member { return cloneMembers(n.snap.Load().View.Members) }

// Ready is closed the first time the node reaches Ready.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Done is closed when the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// DroppedEvents counts events dropped because a listener's queue was full.
func (n *Node) DroppedEvents() uint64 { return n.dropped.Load() }

// LastDiscoveryError returns the error of the latest sentry poll, or nil if
// it succeeded (or there is no sentry).
func (n *Node) LastDiscoveryError() error {
	if e := n.lastDiscErr.Load(); e != nil {
		return e
	}
	return nil
}

// WaitReady blocks until the node is Ready now, or ctx ends (an
// *AssemblyError), or the node stops (ErrStopped).
func (n *Node) WaitReady(ctx context.Context) error {
	return n.WaitFor(ctx, func(s Snapshot) bool { return s.State == Ready })
}

// nextChange returns the channel closed at the snapshot's next change:
// taken before reading the snapshot, it misses no change made after the
// read.
func (n *Node) nextChange() <-chan struct{} {
	n.changeMu.Lock()
	defer n.changeMu.Unlock()
	return n.changed
}

// WaitFor blocks until cond holds for the node's snapshot. It returns an
// *AssemblyError when ctx ends first and ErrStopped when the node stops.
func (n *Node) WaitFor(ctx context.Context, cond func(Snapshot) bool) error {
	for {
		ch := n.nextChange()
		s := n.Snapshot()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-n.done:
			if cond(n.Snapshot()) {
				return nil
			}
			return n.stoppedErr()
		case <-ctx.Done():
			return n.assemblyError(ctx.Err())
		}
	}
}

func (n *Node) assemblyError(cause error) *AssemblyError {
	s := n.snap.Load()
	agreed := 0
	for _, m := range s.View.Members {
		if m.ViewID == s.View.ID || m.ID == s.Self.ID {
			agreed++
		}
	}
	return &AssemblyError{State: s.State, Alive: len(s.View.Members), Consensus: n.cfg.Consensus, Agreed: agreed, Cause: cause}
}

// Stop leaves the cluster gracefully: peers see this node as left at once,
// without a suspicion period. It returns when the node has stopped (Done
// is closed: the leave is gossiped, the node's goroutines have ended,
// handlers' contexts are cancelled) and every listener has received its
// queued events, or when ctx ends first, with ctx's error; the stop then
// goes on in the background. It may be called from a listener or a
// handler: it does not wait for the one it runs on. Handlers that ignore
// their cancelled context are not waited for. Stop is idempotent.
func (n *Node) Stop(ctx context.Context) error {
	n.stopOnce.Do(func() {
		leaveBy, _ := ctx.Deadline()
		go n.stop(leaveBy) // ends once every handler has returned
	})
	select {
	case <-n.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Listeners drain their queues, within ctx; the listener this Stop
	// may run on is not waited for.
	me := goroutineID()
	for _, d := range n.stoppedDispatchers {
		if d.gid.Load() == me {
			continue
		}
		select {
		case <-d.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return n.stopErr
}

// stop is the stop itself, on a goroutine of its own. leaveBy, if set,
// bounds the leave (the first Stop's deadline).
func (n *Node) stop(leaveBy time.Time) {
	n.beforeStop(leaveBy) // services' last calls, while peers still answer
	ack := make(chan struct{})
	select {
	case n.stopReq <- ack:
		<-ack
	case <-n.done:
	}
	// Announce the intent first, synchronously: peers that hear "stopping"
	// before the member disappears report it as left, not failed. No
	// metadata update may follow the leave (memberlist would gossip it as a
	// newer alive message), so the publisher stops before either.
	n.pubCancel()
	<-n.pubDone
	s := n.Snapshot()
	// Wait for the advert to go out (the leave's own broadcast would
	// replace it in memberlist's queue), but not long: memberlist can lose
	// the signal that it went out.
	intentWait := min(n.cfg.Detection.TCPTimeout, 10*n.cfg.Detection.GossipInterval)
	stopping := s.advert
	stopping.State = Stopping
	if err := n.ml.SetMetaAndWait(n.encodeAdvert(stopping), intentWait); err != nil {
		n.logger.Debug("leave intent not fully gossiped", "err", err)
	}
	leaveTimeout := n.cfg.Detection.TCPTimeout
	if !leaveBy.IsZero() {
		leaveTimeout = min(leaveTimeout, time.Until(leaveBy))
	}
	var leaveErr error
	if leaveTimeout > 0 {
		leaveErr = n.ml.Leave(leaveTimeout)
	}
	if leaveErr != nil && !n.othersStaying() {
		// Nobody is left to hear it (every other member left or is
		// leaving too, as when a whole cluster shuts down): memberlist
		// times out because it has nobody to gossip to, not because a
		// member missed the leave.
		leaveErr = nil
	}
	n.loopCancel()
	n.wg.Wait()
	// Closing the call endpoint cancels the handlers' contexts and waits
	// for them to return; a handler may be the caller of Stop, waiting
	// for done, so done does not wait for that.
	callsClosed := make(chan struct{})
	go func() {
		_ = n.calls.Close()
		close(callsClosed)
	}()
	_ = n.ml.Shutdown()
	_ = n.tr.Close()
	n.apply(n.core.Stopped())
	n.dispatchMu.Lock()
	n.stoppedDispatchers = n.dispatch
	n.dispatchMu.Unlock()
	n.closeDispatchers()
	if n.stopMetrics != nil {
		n.stopMetrics()
	}
	if leaveErr != nil {
		n.stopErr = fmt.Errorf("cloister: leave not fully gossiped: %w", leaveErr)
	}
	close(n.done)
	<-callsClosed
}

// othersStaying reports whether the view holds a member other than this
// node that has not announced that it is stopping.
func (n *Node) othersStaying() bool {
	s := n.snap.Load()
	for _, m := range s.View.Members {
		if m.ID != s.Self.ID && m.State != Stopping {
			return true
		}
	}
	return false
}

// closeDispatchers closes every dispatcher, and any a later Subscribe
// makes.
func (n *Node) closeDispatchers() {
	n.dispatchMu.Lock()
	defer n.dispatchMu.Unlock()
	for _, d := range n.dispatch {
		d.close()
	}
	n.dispatch = nil
	n.dispatchClosed = true
}

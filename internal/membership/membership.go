package membership

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cloister-go/cloister/transport"
)

// MaxMetaSize is the largest metadata memberlist carries for a member.
const MaxMetaSize = memberlist.MetaMaxSize

// ErrJoin is returned when no discovered peer could be joined.
var ErrJoin = errors.New("membership: join failed")

// ErrAuth is returned by Join, along with ErrJoin, when a peer answered
// but failed authentication: it holds another secret, runs another app (a
// different label) or another security mode. Retrying soon will not help.
var ErrAuth = errors.New("membership: peer failed authentication (another secret or app label)")

// ErrRefused is returned by Join, along with ErrJoin, when a peer's
// address refused the connection: nobody listens there (a process that
// ended, or has not started yet).
var ErrRefused = errors.New("membership: connection refused (nobody listens at the address)")

// Config configures a Membership.
type Config struct {
	ID        string              // unique member id for this incarnation
	Advertise netip.AddrPort      // address peers reach this member at
	Transport transport.Transport // the shared port; not closed by Membership
	Key       []byte              // 16, 24 or 32-byte gossip key; nil disables encryption
	// Accept holds further keys accepted from peers (Key is the one
	// used to send): a cluster changes its key without downtime by adding
	// the new one everywhere, then making it primary, then dropping the old.
	Accept [][]byte
	// LogInterval is the shortest time between two summaries of refused
	// traffic; default DefaultLogInterval.
	LogInterval time.Duration
	Label       string // cluster label; packets with another label are dropped
	Profile     Profile
	Meta        []byte // initial metadata
	Logger      *slog.Logger
	// Services receives the service gossip channel's broadcasts and state
	// exchanges; nil turns the channel off.
	Services ServiceGossip
	// OnDown receives the down notices (see SendDown) about live members,
	// on the goroutine that reads them (the transport adapter's reader,
	// ahead of the side queue, or memberlist's handler for a sender from
	// before side datagrams), as they
	// arrive: the members of one message together (a batch names
	// several), never none. It must not block, and it may keep the slice.
	// nil drops them.
	OnDown func([]Member)

	// Settled reports whether the caller's cluster has settled (all
	// Ready on one view): until it has, a relayed advert keeps being
	// repaired past maxRepairs (see repair). nil: settled.
	Settled func() bool

	olderWire bool // tests: a node from before relays (advertises no relayWire, refuses kinds 4 and 5)
	// beforePulls: tests: a node from before pulls (advertises relayWire,
	// counts kinds 6 and 7 as unreadable).
	beforePulls bool
	// beforeDowns: tests: a node from before batches of down notices
	// (advertises pullWire, counts kind 7 as unreadable).
	beforeDowns bool
	// beforeSide: tests: a node from before side datagrams (advertises
	// downsWire, hands side datagrams to memberlist).
	beforeSide bool
	// beforePings: tests: a node from before side pings (advertises
	// sideWire, counts kinds 8 and 9 as unreadable).
	beforePings bool
	// beforeEndedPulls: tests: a node from before pulls of endings
	// (advertises pingWire, counts kind 10 as unreadable).
	beforeEndedPulls bool
}

// Membership is a running memberlist instance plus its event queue.
type Membership struct {
	ml      *memberlist.Memberlist
	d       *delegate
	q       *queue
	meta    atomic.Pointer[[]byte]
	logger  *slog.Logger
	tcpTO   time.Duration
	probeTO time.Duration
	tr      *mlTransport
	rep     *reporter
	pings   *pinger // sends and answers side pings (sideping.go); nil: memberlist's pings only
	// downsAtOnce: the delegate is set up, and the transport's reader
	// hands it down notices as it reads them (takeAtOnce); until then
	// they wait in the side queue.
	downsAtOnce atomic.Bool

	gossipMu    sync.Mutex
	gossipTimer *time.Timer   // the deferred broadcast of SetMeta
	left        bool          // Leave or Shutdown was called: gossip nothing more
	updateMu    sync.Mutex    // held around memberlist's UpdateNode, which must not run twice at once
	direct      directRound   // the direct copies of the current metadata still to send (direct.go)
	directBatch int           // copies sent at once: MaxDirectAdverts
	pace        time.Duration // between two batches: Profile.PaceInterval
	relay       *relayer      // passes members' adverts on in batches (relay.go)
	relayFrom   int           // live members from which adverts go through relays: RelayFrom
	settled     func() bool   // Config.Settled, or nil
	repairGen   uint64        // counts relayed SetMetas: a repair of an older one does nothing
}

// handoffQueueDepth bounds each of memberlist's two handler queues (its
// default is 1,024). Suspicions wait in the low-priority queue behind the
// adverts sent straight and the relays' batches, and one dropped from a
// full queue is never refuted: its member is declared dead. A round of
// adverts through relays reaches each member as bursts of batches, and at
// 500 members in one process the queues overflowed in every round (about
// 1,400 messages dropped by the first agreement) just as the first false
// deaths came. Only authenticated datagrams reach the queues, and members
// send at most 1,400 bytes (memberlist's packet size; batches are
// smaller): about 6 MB a full queue (a member holding the secret could
// send datagrams up to 64 KiB). memberlist takes the newest message
// first, so a deeper queue does not delay a fresh suspicion.
const handoffQueueDepth = 4096

// Start creates the memberlist instance on cfg.Transport.
func Start(cfg Config) (*Membership, error) {
	if err := cfg.Profile.Validate(); err != nil {
		return nil, fmt.Errorf("membership: profile %q: %w", cfg.Profile.Name, err)
	}
	if len(cfg.Meta) > MaxMetaSize {
		return nil, fmt.Errorf("membership: metadata is %d bytes, limit %d", len(cfg.Meta), MaxMetaSize)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rep := newReporter(logger, cfg.LogInterval)
	m := &Membership{q: newQueue(), logger: logger, tcpTO: cfg.Profile.TCPTimeout, probeTO: cfg.Profile.ProbeTimeout,
		rep: rep, pace: cfg.Profile.PaceInterval(), directBatch: MaxDirectAdverts, relayFrom: RelayFrom,
		settled: cfg.Settled}
	meta := append([]byte(nil), cfg.Meta...)
	m.meta.Store(&meta)

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.ID
	var keys [][]byte
	if len(cfg.Key) > 0 {
		keys = [][]byte{bytes.Clone(cfg.Key)}
		for _, k := range cfg.Accept {
			keys = append(keys, bytes.Clone(k))
		}
		kr, err := memberlist.NewKeyring(keys, keys[0])
		if err != nil {
			return nil, fmt.Errorf("membership: keys: %w", err)
		}
		mc.Keyring = kr
		mc.GossipVerifyIncoming = true
		mc.GossipVerifyOutgoing = true
	} else if len(cfg.Accept) > 0 {
		return nil, errors.New("membership: accepted keys without a primary key")
	}
	var side *sideChannel
	if !cfg.olderWire && !cfg.beforePulls && !cfg.beforeDowns && !cfg.beforeSide {
		codec, err := newSideCodec(cfg.Label, keys)
		if err != nil {
			return nil, err
		}
		side = newSideChannel(codec, rep)
		if !cfg.beforePings {
			m.pings = newPinger(cfg.ID)
		}
		side.direct = m.takeAtOnce
	}
	guard := newStreamGuard(cfg.Label, len(cfg.Key) > 0)
	m.tr = newMLTransport(cfg.Transport, cfg.Advertise, guard, rep, side)
	mc.Transport = m.tr
	mc.AdvertiseAddr = cfg.Advertise.Addr().String()
	mc.AdvertisePort = int(cfg.Advertise.Port())
	mc.Label = cfg.Label
	applyProfile(mc, cfg.Profile)
	switch {
	case cfg.olderWire:
	case cfg.beforePulls:
		mc.DelegateProtocolMax = relayWire
	case cfg.beforeDowns:
		mc.DelegateProtocolMax = pullWire
	case cfg.beforeSide:
		mc.DelegateProtocolMax = downsWire
	case cfg.beforePings:
		mc.DelegateProtocolMax = sideWire
	case cfg.beforeEndedPulls:
		mc.DelegateProtocolMax = pingWire
	default:
		mc.DelegateProtocolMax = endedPullWire
	}
	mc.HandoffQueueDepth = handoffQueueDepth
	// LZW on every compound message and state exchange cost a tenth of
	// the CPU of a 50-member assembly; gossip packets are small and
	// encrypted anyway.
	mc.EnableCompression = false
	d := newDelegate(m.q, cfg.ID)
	d.meta, d.services, d.onDown, d.olderWire = m.currentMeta, cfg.Services, cfg.OnDown, cfg.olderWire
	d.beforePulls = cfg.beforePulls || cfg.olderWire
	d.beforeDowns = cfg.beforeDowns || d.beforePulls
	d.beforeEndedPulls = cfg.beforeEndedPulls || cfg.beforePings || cfg.beforeSide || d.beforeDowns
	d.answer = m.sendTo
	m.relay = newRelayer(m.sendTo, d.peers, cfg.Profile.PaceInterval())
	d.relay = m.relay
	m.d = d
	mc.Delegate = d
	mc.Events = d
	mc.Logger = log.New(&logWriter{logger: logger, rep: rep}, "", 0)

	d.downs = newDownQueue(mc.RetransmitMult, d.numAlive)
	if cfg.Services != nil {
		d.broadcasts = &memberlist.TransmitLimitedQueue{RetransmitMult: mc.RetransmitMult, NumNodes: d.numAlive}
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		mc.Transport.Shutdown() // the side channel was never started: nothing reads it
		return nil, fmt.Errorf("membership: %w", err)
	}
	m.ml = ml
	if side != nil {
		m.downsAtOnce.Store(true) // the delegate is set up
		side.start(d.NotifyMsg)
	}
	return m, nil
}

func applyProfile(mc *memberlist.Config, p Profile) {
	mc.ProbeInterval = p.ProbeInterval
	mc.ProbeTimeout = p.ProbeTimeout
	mc.IndirectChecks = p.IndirectChecks
	mc.SuspicionMult = p.SuspicionMult
	mc.SuspicionMaxTimeoutMult = p.SuspicionMaxTimeoutMult
	mc.GossipInterval = p.GossipInterval
	mc.GossipNodes = p.GossipNodes
	mc.RetransmitMult = p.RetransmitMult
	mc.PushPullInterval = p.PushPullInterval
	mc.TCPTimeout = p.TCPTimeout
	mc.AwarenessMaxMultiplier = p.AwarenessMaxMultiplier
}

func (m *Membership) currentMeta() []byte { return *m.meta.Load() }

// Signal is readable whenever events may be waiting in Drain.
func (m *Membership) Signal() <-chan struct{} { return m.q.signal }

// Drain returns the events queued since the last call, in order.
func (m *Membership) Drain() []Event { return m.q.drain() }

// Join contacts the given peers and merges their state. It returns how many
// answered; an error only when none did. Each peer is bounded by the
// profile's TCP timeout, and no new peer is tried once ctx is done.
func (m *Membership) Join(ctx context.Context, peers []netip.AddrPort) (int, error) {
	joined := 0
	var errs []error
	for _, p := range peers {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		n, err := m.ml.Join([]string{p.String()})
		if err != nil {
			switch {
			case authFailure(err):
				m.rep.note(rejectJoinAuth, p.String())
				err = fmt.Errorf("%w: %s: %w", ErrAuth, p, err)
			case m.tr.wasRefused(p):
				err = fmt.Errorf("%w: %s: %w", ErrRefused, p, err)
			}
			errs = append(errs, err)
			continue
		}
		joined += n
	}
	if joined == 0 && len(errs) > 0 {
		return 0, fmt.Errorf("%w: %w", ErrJoin, errors.Join(errs...))
	}
	return joined, nil
}

// SetMeta replaces this member's metadata and sends it straight to every
// live member, MaxDirectAdverts at once and the next as many every gossip
// interval (direct.go); gossiping it (a memberlist alive message that
// every member decodes and passes on several times) is deferred until
// gossipAfter to three times that after the last direct copy, and a newer
// SetMeta replaces both. Neither waits.
//
// The direct copy is the fast path: one UDP packet per member. Gossip
// alone reaches a given member only with high probability (each member
// passes an update on RetransmitMult × log10 N times, to random others): in
// about every other 50-member assembly one member missed one advert and
// waited hundreds of milliseconds for the next. Gossip stays as the repair
// path for a lost packet and as the copy that state exchanges carry to
// members that join later; deferring it keeps it out of the moment when
// every member advertises at once (it was a sixth of a 50-member
// assembly's time). Both copies arrive as Updated events, in either order,
// so the metadata must carry its own sequence number for the caller to
// keep the newest. From RelayFrom live members on, the advert goes through
// relays (relay.go), and instead of gossip it goes through them again, up
// to maxRepairs times (see repair): a member that joins later changes the
// view, and every member advertises again then.
//
// It does not wait because memberlist's completion signal can be lost (it
// is a non-blocking send on an unbuffered channel): a waiting publisher
// then stalled for the whole timeout while its newer metadata stayed
// unpublished, which delayed cluster agreement by seconds.
func (m *Membership) SetMeta(meta []byte, gossipAfter time.Duration) error {
	if err := m.storeMeta(meta); err != nil {
		return err
	}
	m.gossipMu.Lock()
	defer m.gossipMu.Unlock()
	m.cancelDeferredLocked()
	if !m.left {
		rest, relayed := m.startDirectLocked(meta)
		// Spread over gossipAfter to three times that: every member
		// re-advertises after a view change, and their gossip at the same
		// moment (each member decoding every member's alive message
		// RetransmitMult × log10 N times) was a load spike that made
		// 500 members in one process miss their probes.
		jitter := time.Duration(rand.Int64N(int64(2*gossipAfter) + 1))
		if relayed {
			// A relayed copy costs little, and a lost one holds up the
			// round until its repair: the first repair goes after the
			// round plus up to one gossipAfter (at 500 members, ten
			// kills took 37-44 s to agree on in four runs of five with
			// the gossip's deferral, 14 s in the fifth).
			m.repairGen++
			gen, wait := m.repairGen, rest+jitter/2
			m.gossipTimer = time.AfterFunc(wait, func() { m.repair(gen, 1, wait) })
		} else {
			m.gossipTimer = time.AfterFunc(rest+gossipAfter+jitter, m.gossipMeta)
		}
	}
	return nil
}

// maxRepairs is how many times an advert that went through relays is sent
// through them again, in place of its gossiped copy, once the cluster has
// settled; until it has (Config.Settled), the repairs go on, each twice as
// late as the one before, at most maxRepairWait apart.
const (
	maxRepairs    = 2
	maxRepairWait = time.Minute
)

// repair sends the current metadata through the relays again, the
// attempt-th time, unless a newer SetMeta came since (gen), and schedules
// the next attempt twice as late (see maxRepairs): a member that missed an
// advert and both of its repairs waited for it until some member's next
// change (in a 1,000-member start the cluster stayed Rehashing on one
// agreed view for about 150 s, in the acceptance round, where every member
// waits for every other's acceptance). In a view with relays, the gossiped copy
// is this instead: gossiping every member's advert after every view change
// costs each member about N × RetransmitMult × log10 N alive messages to
// decode (at 1,000 members in one process they overflowed memberlist's
// handler queues and starved the acceptance round for minutes), while a
// relayed copy costs about N / relayGroup datagrams.
func (m *Membership) repair(gen uint64, attempt int, wait time.Duration) {
	m.gossipMu.Lock()
	defer m.gossipMu.Unlock()
	if m.left || m.repairGen != gen {
		return
	}
	m.gossipTimer = nil
	peers := m.d.peers()
	if len(peers) < m.relayFrom {
		m.gossipLocked() // the view shrank: gossip as below RelayFrom
		return
	}
	m.sendToRelays(m.currentMeta(), peers)
	if attempt < maxRepairs || m.settled != nil && !m.settled() {
		next := min(2*wait, maxRepairWait)
		m.gossipTimer = time.AfterFunc(next, func() { m.repair(gen, attempt+1, next) })
	}
}

// GossipMeta replaces this member's metadata and queues its broadcast at
// once, without direct copies and without waiting: for changes nobody
// needs promptly. A deferred broadcast of SetMeta is replaced.
func (m *Membership) GossipMeta(meta []byte) error {
	if err := m.storeMeta(meta); err != nil {
		return err
	}
	m.gossipMu.Lock()
	defer m.gossipMu.Unlock()
	m.cancelDeferredLocked()
	m.gossipLocked()
	return nil
}

// gossipMeta queues the broadcast of the current metadata (the deferred
// broadcast of SetMeta).
func (m *Membership) gossipMeta() {
	m.gossipMu.Lock()
	defer m.gossipMu.Unlock()
	m.gossipLocked()
}

// gossipLocked queues the broadcast of the current metadata, unless this
// member has left: an alive message after the leave would revive it.
// gossipMu must be held.
func (m *Membership) gossipLocked() {
	if m.left {
		return
	}
	// memberlist's UpdateNode is not safe to run twice at once (the race
	// detector caught a deferred broadcast beside Stop's). When one is
	// under way it is SetMetaAndWait's, which gossips the newest metadata
	// again once it returns if it changed meanwhile: skip this one.
	if !m.updateMu.TryLock() {
		return
	}
	defer m.updateMu.Unlock()
	// The shortest timeout memberlist accepts (0 means forever): the
	// update is queued before the wait, and the wait's outcome is moot.
	_ = m.ml.UpdateNode(time.Nanosecond)
}

// cancelDeferredLocked stops a pending deferred broadcast; gossipMu must
// be held.
func (m *Membership) cancelDeferredLocked() {
	if m.gossipTimer != nil {
		m.gossipTimer.Stop()
		m.gossipTimer = nil
	}
}

// stopGossip cancels a deferred broadcast for good.
func (m *Membership) stopGossip() {
	m.gossipMu.Lock()
	defer m.gossipMu.Unlock()
	m.left = true
	m.cancelDeferredLocked()
	m.direct.stopLocked()
	m.relay.stop()
}

// SetMetaAndWait replaces this member's metadata, sends it straight to
// every live member and gossips it at once, then waits until the broadcast
// has been sent to enough members or timeout passes, whichever is first. It
// returns an error when the timeout passed first.
func (m *Membership) SetMetaAndWait(meta []byte, timeout time.Duration) error {
	if err := m.storeMeta(meta); err != nil {
		return err
	}
	stored := m.meta.Load()
	m.gossipMu.Lock()
	if m.left {
		m.gossipMu.Unlock()
		return nil
	}
	m.startDirectLocked(meta)
	m.cancelDeferredLocked() // this broadcast carries the newest metadata
	m.repairGen++
	m.gossipMu.Unlock()
	// The wait runs without gossipMu, so SetMeta, GossipMeta and the
	// deferred broadcast never wait for it. memberlist itself drops an
	// alive message of ours that comes after a Leave (it checks under its
	// node lock), so the leave stays the last word without our lock.
	m.updateMu.Lock()
	err := m.ml.UpdateNode(max(timeout, time.Nanosecond))
	m.updateMu.Unlock()
	m.gossipMu.Lock()
	defer m.gossipMu.Unlock()
	if m.meta.Load() != stored {
		// A newer update may have been queued before ours, which then
		// went out with the higher incarnation: gossip the newest again.
		m.gossipLocked()
	}
	return err
}

func (m *Membership) storeMeta(meta []byte) error {
	if len(meta) > MaxMetaSize {
		return fmt.Errorf("membership: metadata is %d bytes, limit %d", len(meta), MaxMetaSize)
	}
	cp := append([]byte(nil), meta...)
	m.meta.Store(&cp)
	return nil
}

// HealthScore is memberlist's Lifeguard awareness: 0 is healthy, higher
// means this member has been missing its own deadlines.
func (m *Membership) HealthScore() int { return m.ml.GetHealthScore() }

// authFailure reports whether a join error from memberlist (v0.7.0's
// wording; TestJoinWrongSecret pins it) says that the peer answered but
// could not be authenticated, or could not authenticate us: its answer
// does not decrypt with our keys (another key; a peer that could not
// decrypt us answers that way too), is in clear text (a cloister node's
// guard refusing our label or a peer without a key), or is a remote error
// saying so.
func authFailure(err error) bool {
	s := err.Error()
	for _, sign := range []string{
		"no installed keys could decrypt",
		"remote state is not encrypted",
		"encryption is not configured",
		"cloister: refused",
	} {
		if strings.Contains(s, sign) {
			return true
		}
	}
	return false
}

// Stats counts what membership refused, and its health.
type Stats struct {
	HealthScore int    // memberlist's Lifeguard awareness: 0 is healthy
	BadAdverts  uint64 // direct adverts dropped as unreadable
	// AdvertsRelayed counts other members' adverts (and its own) this
	// member passed on as a relay, in RelayBatches datagrams;
	// RelayOverflow the requests it dropped, its next batch full.
	AdvertsRelayed, RelayBatches, RelayOverflow uint64
	// RepeatedAdverts counts metadata updates not passed on because they
	// repeat the member's last one (its gossiped copy after its direct
	// one).
	RepeatedAdverts uint64
	// PullsSent counts the members this member asked for their adverts
	// (pull.go); PullsAnswered and PullsDropped the pulls it answered,
	// and those it did not (an asker it does not hold alive, or beyond
	// maxPullAnswers a second).
	PullsSent, PullsAnswered, PullsDropped uint64
	// EndedPullsSent counts the members this member asked which members
	// they found ended (endedpull.go); EndedPullsAnswered the asks it
	// answered, EndedPullsDropped those it did not (an asker it does not
	// hold alive, or beyond maxPullAnswers a second), and EndedPullsEmpty
	// those it left unanswered, having found nobody ended.
	EndedPullsSent, EndedPullsAnswered, EndedPullsDropped, EndedPullsEmpty uint64
	// PingsSent counts the side pings this member sent (Ping, for a
	// member that reads them), PingsAcked the pings acknowledged in time
	// (one per Ping), PingsAnswered the side pings for this member it
	// acknowledged, AcksTooLate the acks to pings of a Ping that had
	// ended unanswered (the member was alive), and AcksUnmatched the
	// other acks nobody waited for: a second ack to a Ping already
	// answered, replayed or unreadable ones (sideping.go).
	PingsSent, PingsAcked, PingsAnswered, AcksTooLate, AcksUnmatched uint64
	// AckLateness is how late the acks came that came after their
	// confirmation's base deadline, too late or not (lateness.go).
	AckLateness Lateness

	// Gossip streams: accepted (handed to memberlist after their prefix
	// passed), and refused before memberlist read them.
	StreamsAccepted   uint64
	StreamsWrongLabel uint64 // another app label, or none
	StreamsWrongMode  uint64 // not encrypted with a key configured, or encrypted without
	StreamsTooLarge   uint64 // claimed a body above MaxGossipStreamBody
	StreamsOverLimit  uint64 // beyond MaxGossipStreams or MaxGossipStreamBudget
	StreamsSlow       uint64 // prefix not sent within the guard's timeout
	StreamsMalformed  uint64 // unknown message type, truncated, or unreadable
	StreamsAuthFailed uint64 // passed the prefix but did not decrypt

	PacketsAuthFailed uint64 // datagrams with our label that did not decrypt
	PacketsWrongLabel uint64 // datagrams with another app label
	PacketsMalformed  uint64 // datagrams without a label, truncated or garbage

	JoinsAuthFailed    uint64 // joins refused by a peer with another secret or label
	SuppressedLogLines uint64 // memberlist log lines dropped by the rate limit

	PrunedBroadcasts uint64 // service broadcasts dropped from a full queue
	PrunedDowns      uint64 // down notices dropped from a full gossip queue
	HandlerQueueFull uint64 // messages dropped from a full queue: memberlist's handler queue (suspicions), or the side datagrams' (adverts, notices)
	OversizedStates  uint64 // state exchanges sent without the services' state (over MaxServiceState)
	// Gossip traffic: datagrams (and their bytes, as sent: encrypted and
	// labelled) handed to memberlist and sent by it, and streams it opened.
	PacketsReceived, BytesReceived uint64
	PacketsSent, BytesSent         uint64
	StreamsDialled                 uint64
}

// Stats returns the current counters.
func (m *Membership) Stats() Stats {
	r := m.rep
	s := Stats{
		HealthScore:        m.ml.GetHealthScore(),
		BadAdverts:         m.d.badAdverts.Load(),
		AdvertsRelayed:     m.relay.relayed.Load(),
		RelayBatches:       m.relay.batches.Load(),
		RelayOverflow:      m.relay.overflow.Load(),
		RepeatedAdverts:    m.d.dupAdverts.Load(),
		PullsSent:          m.d.pullsSent.Load(),
		PullsAnswered:      m.d.pullsAnswered.Load(),
		PullsDropped:       m.d.pullsDropped.Load(),
		EndedPullsSent:     m.d.endedPullsSent.Load(),
		EndedPullsAnswered: m.d.endedPullsAnswered.Load(),
		EndedPullsDropped:  m.d.endedPullsDropped.Load(),
		EndedPullsEmpty:    m.d.endedPullsEmpty.Load(),
		StreamsAccepted:    m.tr.accepted.Load(),
		StreamsWrongLabel:  r.total(rejectStreamLabel),
		StreamsWrongMode:   r.total(rejectStreamMode),
		StreamsTooLarge:    r.total(rejectStreamLarge),
		StreamsOverLimit:   r.total(rejectStreamBusy),
		StreamsSlow:        r.total(rejectStreamSlow),
		StreamsMalformed:   r.total(rejectStreamBad) + r.total(rejectStreamType),
		StreamsAuthFailed:  r.total(rejectStreamAuth),
		PacketsAuthFailed:  r.total(rejectPacketAuth),
		PacketsWrongLabel:  r.total(rejectPacketLabel),
		PacketsMalformed:   r.total(rejectPacketBad),
		JoinsAuthFailed:    r.total(rejectJoinAuth),
		SuppressedLogLines: r.total(suppressedLogLines),
		PrunedBroadcasts:   m.d.prunedBroadcasts.Load(),
		PrunedDowns:        m.d.prunedDowns.Load(),
		HandlerQueueFull:   r.total(dropHandlerFull),
		OversizedStates:    m.d.oversizedStates.Load(),
		PacketsReceived:    m.tr.packetsIn.Load(),
		BytesReceived:      m.tr.bytesIn.Load(),
		PacketsSent:        m.tr.packetsOut.Load(),
		BytesSent:          m.tr.bytesOut.Load(),
		StreamsDialled:     m.tr.dialled.Load(),
	}
	if p := m.pings; p != nil {
		s.PingsSent, s.PingsAcked = p.sent.Load(), p.acked.Load()
		s.PingsAnswered, s.AcksTooLate, s.AcksUnmatched = p.answered.Load(), p.tooLate.Load(), p.unmatched.Load()
		s.AckLateness = p.lateness()
	}
	return s
}

// Leave announces a graceful departure and waits up to timeout for it to be
// gossiped. Shutdown must still be called.
// No metadata is gossiped after it.
func (m *Membership) Leave(timeout time.Duration) error {
	m.stopGossip()
	return m.ml.Leave(timeout)
}

// Shutdown stops gossip without announcing anything (a crash, as far as the
// other members can tell, unless Leave was called first).
func (m *Membership) Shutdown() error {
	m.stopGossip()
	err := m.ml.Shutdown()
	if m.tr.side != nil {
		m.tr.side.close()
	}
	m.rep.stop()
	return err
}

// Ping sends up to tries direct pings to the member incarnation
// target.ID at target.Addr, one after the other, each waiting the
// profile's probe timeout for its ack, and reports whether one was
// acknowledged. Only that very incarnation acknowledges: a ping names the
// member it is for, and a process restarted at the address has another
// ID. It stops early when ctx ends. The pings are side pings
// (sideping.go) when the target answers them, by its Member (from an
// event) or by memberlist's record of it alive; memberlist's own
// otherwise.
//
// Between two pings it waits HealthScore probe timeouts more: Lifeguard's
// rule that a member missing its own deadlines gives others more time. A
// starved prober reads acks late and times out pings that were answered;
// when every member of a crowded host confirms a failure at once, the
// member accused is as starved as they are, and three back-to-back pings
// from a starved node declared it failed.
func (m *Membership) Ping(ctx context.Context, target Member, tries int) bool {
	if m.pings != nil && m.answersPings(target) {
		// An ack to any of the pings counts until the last one's wait
		// ends (sideping.go).
		return m.pings.ping(ctx, target.ID, target.Addr, tries, m.probeTO, lateAckGrace*m.probeTO, m.healthPause, m.tr.writeSide)
	}
	to := net.UDPAddrFromAddrPort(target.Addr)
	for i := range tries {
		if ctx.Err() != nil {
			return false
		}
		if _, err := m.ml.Ping(target.ID, to); err == nil {
			return true
		}
		if pause := m.healthPause(); pause > 0 && i < tries-1 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
		}
	}
	return false
}

// lateAckGrace is how many probe timeouts a confirmation by side pings
// waits beyond its last ping's own timeout, for an ack that comes late.
// Without it, at 500 members in one process on two CPUs a start with
// false failures counted 1,645 acks that came after their confirmation
// had ended unanswered (Stats.Pings.TooLate): live members declared
// failed, most of them revived before the failure was applied. It
// delays the report of a silent host by as much; a killed process is
// seen by its closed connections (watch.go), not by pings.
const lateAckGrace = 3

// healthPause is how long a confirmation waits between two pings beyond
// the probe timeout: HealthScore probe timeouts (see Ping).
func (m *Membership) healthPause() time.Duration {
	return time.Duration(m.HealthScore()) * m.probeTO
}

// answersPings reports whether the target answers side pings: its Member
// says so, or memberlist holds it alive at that address with a version
// that does.
func (m *Membership) answersPings(target Member) bool {
	if target.pings {
		return true
	}
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	p, ok := m.d.alive[target.ID]
	return ok && p.pings && p.addr == target.Addr
}

// WaitAlive reports whether memberlist holds the member incarnation id
// alive (or suspect), waiting up to d for it to be revived (its refutation
// of a death heard, or a join). It ends early, with false, when ctx ends.
// Waiting costs nothing while nothing happens: many members may wait at
// once on a busy host, and polling them was a load of its own.
func (m *Membership) WaitAlive(ctx context.Context, id string, d time.Duration) bool {
	m.d.mu.Lock()
	if _, ok := m.d.alive[id]; ok {
		m.d.mu.Unlock()
		return true
	}
	w := make(chan struct{})
	m.d.revived[id] = append(m.d.revived[id], w)
	m.d.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	ws := m.d.revived[id]
	if i := slices.Index(ws, w); i >= 0 {
		ws = slices.Delete(ws, i, i+1)
		if len(ws) == 0 {
			delete(m.d.revived, id)
		} else {
			m.d.revived[id] = ws
		}
		return false
	}
	return ctx.Err() == nil // revived as the wait ended
}

// LiveAddrs returns the addresses of the members memberlist holds alive
// now, this member left out: ahead of any view built from its events. The
// map is shared until the live members change: do not change it.
func (m *Membership) LiveAddrs() map[netip.AddrPort]bool { return m.d.liveAddrs() }

// Alive reports whether memberlist holds the member incarnation id alive
// (or suspect): the last event queued about it was Joined or Updated.
func (m *Membership) Alive(id string) bool {
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	_, ok := m.d.alive[id]
	return ok
}

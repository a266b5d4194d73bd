package leader

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-go/cloister"
)

// Handler names the service registers on every node.
const (
	renewName   = "cloister.leader.renew"
	releaseName = "cloister.leader.release"
)

// DefaultSlack is Config.Slack's default: how late this process's timers
// may fire, and at least the time a stale minority can stay Ready on its
// old view after the majority commits a new one.
const DefaultSlack = 300 * time.Millisecond

// ErrSingletonExists is returned by Singleton for a name already taken.
var ErrSingletonExists = errors.New("leader: singleton already registered")

// Config configures the leader service. The zero value is usable.
type Config struct {
	// Role, when set, restricts leadership to the members that declare
	// this role (cloister.Config.Roles); a view without one has no leader.
	Role string
	// Lease is how long a majority's acknowledgement keeps this node
	// leading (and its singletons running) without a fresh one. Default:
	// the node's Detection.Budget(10) (5.5 s with SteadyDetection, the
	// default; 950 ms with LANDetection, 450 ms with LocalDetection), or
	// SteadyDetection's on a host that does not tell its detection. Every
	// node of a cluster must use the same.
	Lease time.Duration
	// Slack is added to the takeover margin: the bound assumed on how
	// late a timer of this process fires, and on how long a stale
	// minority stays Ready on its old view. Default DefaultSlack.
	Slack time.Duration
}

// LeaderChanged is what subscribers hear when this node names another
// leader. A zero Member (ID "") is no leader: this node's side has no
// quorum, or it is stopping.
type LeaderChanged struct {
	Old, New cloister.Member
	// Term is the term New leads at (0 with no leader).
	Term Term
}

func (e LeaderChanged) String() string {
	name := func(m cloister.Member) string {
		if m.ID == "" {
			return "none"
		}
		return m.Name
	}
	return fmt.Sprintf("leader: %s -> %s (term %d)", name(e.Old), name(e.New), e.Term)
}

// Service names the leader of this node's view and runs singletons on
// it. Attach it with cloister.Config.Services; its methods are safe for
// concurrent use.
type Service struct {
	cfg    Config
	margin time.Duration // takeover margin: Lease + Lease/10 + Slack
	renew  time.Duration // renewal period: Lease/4

	host     cloister.Host
	lease    leaseCell
	fence    Fence
	nodeTerm atomic.Uint64 // the node's term, as the listener last heard
	kick     chan struct{}
	wg       sync.WaitGroup

	mu         sync.Mutex
	started    bool
	resigned   bool // Resign was called: no singleton starts here again
	leader     cloister.Member
	term       Term
	singletons []*singleton
	subs       map[*subscription]struct{}
	released   map[string]Term // members that left leadership for good: ID -> their term then
	releasedAt []string        // the IDs in released, oldest first
	renewals   atomic.Uint64   // successful renewals, for tests and stats
}

// New returns a leader service; attach it with cloister.Config.Services.
func New(cfg Config) *Service {
	s := &Service{cfg: cfg, kick: make(chan struct{}, 1), subs: map[*subscription]struct{}{}, released: map[string]Term{}}
	s.fence.floor = func() Term { return Term(s.nodeTerm.Load()) }
	return s
}

// Name is "leader".
func (s *Service) Name() string { return "leader" }

// Start registers the service's handlers and starts its loop.
func (s *Service) Start(h cloister.Host) error {
	if s.cfg.Lease < 0 {
		return &cloister.ConfigError{Field: "leader.Config.Lease", Reason: fmt.Sprintf("must not be negative, got %v", s.cfg.Lease)}
	}
	if s.cfg.Slack < 0 {
		return &cloister.ConfigError{Field: "leader.Config.Slack", Reason: fmt.Sprintf("must not be negative, got %v", s.cfg.Slack)}
	}
	lease := s.cfg.Lease
	if lease == 0 {
		d := cloister.SteadyDetection() // cloister's default
		if dh, ok := h.(interface{ Detection() cloister.Detection }); ok {
			d = dh.Detection()
		}
		lease = d.Budget(10)
	}
	slack := s.cfg.Slack
	if slack == 0 {
		slack = DefaultSlack
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("leader: service started twice")
	}
	s.started = true
	s.cfg.Lease, s.cfg.Slack = lease, slack
	s.margin = lease + lease/10 + slack
	s.renew = max(lease/4, time.Millisecond)
	s.host = h
	s.mu.Unlock()
	if err := h.Handle(renewName, s.handleRenew); err != nil {
		return err
	}
	if err := h.Handle(releaseName, s.handleRelease); err != nil {
		return err
	}
	h.Listen(listener{s})
	s.wg.Add(1)
	go s.run()
	return nil
}

// Lease returns the lease and the takeover margin in use (after Start).
func (s *Service) Lease() (lease, margin time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Lease, s.margin
}

// Leader returns the leader this node names and its term; ok is false
// when it names none (no quorum, not started yet, stopping).
func (s *Service) Leader() (m cloister.Member, term Term, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leader.ID == "" {
		return cloister.Member{}, 0, false
	}
	m = s.leader
	if len(m.Roles) > 0 {
		m.Roles = slices.Clone(m.Roles)
	}
	return m, s.term, true
}

// IsLeader reports whether this node leads and holds a valid lease: what
// its singletons need to run.
func (s *Service) IsLeader() bool {
	s.mu.Lock()
	self := s.leader.ID != "" && s.host != nil && s.leader.ID == s.host.Self().ID
	s.mu.Unlock()
	return self && s.lease.valid(time.Now())
}

// Fenced wraps h to serve fenced calls (see FencedCall): a call whose
// term is older than the highest this node has seen (in fenced calls,
// lease renewals, or as its own cluster term) fails with ErrStaleTerm.
func (s *Service) Fenced(h cloister.Handler) cloister.Handler { return s.fence.Handler(h) }

// Fence returns the node's fence: the highest term it has seen.
func (s *Service) Fence() *Fence { return &s.fence }

// Call is FencedCall through this node with the term in ctx: call it
// from a singleton with the context it was given.
func (s *Service) Call(ctx context.Context, to cloister.Member, name string, req []byte) ([]byte, error) {
	s.mu.Lock()
	h := s.host
	s.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("%w: the service has not started", ErrNotLeader)
	}
	return FencedCall(ctx, h, to, name, 0, req)
}

// Subscribe returns a channel of every leader change this node sees from
// now on, and a function that ends the subscription (and closes the
// channel). A subscriber that falls more than buffer changes behind
// misses the newest ones; Leader always tells the current leader.
func (s *Service) Subscribe(buffer int) (<-chan LeaderChanged, func()) {
	sub := &subscription{ch: make(chan LeaderChanged, max(buffer, 1))}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := s.subs[sub]; ok {
				delete(s.subs, sub)
				close(sub.ch)
			}
		})
	}
}

type subscription struct {
	ch      chan LeaderChanged
	dropped uint64
}

// listener feeds the node's changes to the service's loop.
type listener struct{ s *Service }

func (l listener) OnStateChange(_, _ cloister.State, snap cloister.Snapshot) {
	l.s.nodeTerm.Store(snap.Term)
	l.s.wake()
}

func (l listener) OnEvent(e cloister.Event) {
	switch e := e.(type) {
	case *cloister.StateChanged:
		l.s.nodeTerm.Store(e.Snapshot.Term)
	case *cloister.ViewChanged, *cloister.MemberDown, *cloister.EventsDropped:
	default:
		return
	}
	l.s.wake()
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// elect applies the leader rule to a view: of the members eligible (all,
// or those with role), the oldest: the smallest incarnation (drawn from
// the clock when a node starts), then the smallest ID. Every node of a
// view computes the same from the same members.
func elect(v cloister.View, role string) cloister.Member {
	var best cloister.Member
	for _, m := range v.Members {
		if role != "" && !slices.Contains(m.Roles, role) {
			continue
		}
		if best.ID == "" || m.Incarnation < best.Incarnation || m.Incarnation == best.Incarnation && m.ID < best.ID {
			best = m
		}
	}
	return best
}

// Elect returns the leader a Ready node of view v names, with role ""
// for any member; ok is false when no member is eligible. It is the rule
// the service applies.
func Elect(v cloister.View, role string) (cloister.Member, bool) {
	m := elect(v, role)
	return m, m.ID != ""
}

// decide is the leader this node names for its snapshot: the rule's
// choice when Ready; the previous leader while rehashing a change that
// keeps quorum and keeps that leader in the view; none otherwise.
func (s *Service) decide(snap cloister.Snapshot, prev cloister.Member, prevTerm Term) (cloister.Member, Term) {
	switch {
	case snap.State == cloister.Ready:
		if m := elect(snap.View, s.cfg.Role); m.ID != "" {
			return m, Term(snap.Term)
		}
	case snap.State == cloister.Rehashing && snap.Quorate && prev.ID != "" &&
		slices.ContainsFunc(snap.View.Members, func(m cloister.Member) bool { return m.ID == prev.ID }):
		return prev, prevTerm
	}
	return cloister.Member{}, 0
}

// handleRenew acknowledges a lease renewal from the member this node
// names leader at the same term, Ready. The reply is one byte (1: ack)
// and this node's term.
func (s *Service) handleRenew(_ context.Context, from cloister.Member, body []byte) ([]byte, error) {
	t, k := binary.Uvarint(body)
	if k <= 0 {
		return nil, ErrBadEnvelope
	}
	s.fence.Observe(Term(t))
	snap := s.host.Snapshot()
	ack := snap.State == cloister.Ready && snap.Term == t && elect(snap.View, s.cfg.Role).ID == from.ID
	out := []byte{0}
	if ack {
		out[0] = 1
	}
	return binary.AppendUvarint(out, snap.Term), nil
}

// handleRelease records that a member of the view stopped leading for
// good (it is leaving and its singletons have returned): its successor
// need not wait out the margin.
func (s *Service) handleRelease(_ context.Context, from cloister.Member, body []byte) ([]byte, error) {
	t, k := binary.Uvarint(body)
	if k <= 0 {
		return nil, ErrBadEnvelope
	}
	if from.ID == "" {
		return nil, nil
	}
	s.mu.Lock()
	if _, ok := s.released[from.ID]; !ok {
		s.releasedAt = append(s.releasedAt, from.ID)
	}
	s.released[from.ID] = Term(t)
	if len(s.releasedAt) > maxReleased {
		delete(s.released, s.releasedAt[0])
		s.releasedAt = slices.Delete(s.releasedAt, 0, 1)
	}
	s.mu.Unlock()
	s.wake()
	return nil, nil
}

// maxReleased bounds the releases remembered (members of the view only).
const maxReleased = 64

// publish records the leader this node names and tells subscribers when
// it changed.
func (s *Service) publish(m cloister.Member, term Term) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.leader
	s.term = term
	if old.ID == m.ID {
		return
	}
	s.leader = m
	e := LeaderChanged{Old: old, New: m, Term: term}
	for sub := range s.subs {
		ev := e
		ev.Old.Roles, ev.New.Roles = slices.Clone(e.Old.Roles), slices.Clone(e.New.Roles)
		select {
		case sub.ch <- ev:
		default:
			sub.dropped++
		}
	}
	s.host.Logger().Info("leader changed", "old", old.Name, "new", m.Name, "term", term)
}

// closeSubs ends every subscription (the node stopped).
func (s *Service) closeSubs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		close(sub.ch)
		delete(s.subs, sub)
	}
}

package leader

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/cloister-go/cloister"
)

// singleton is one registered singleton. Its fields are guarded by the
// service's mu; run is set while an instance runs on this node.
type singleton struct {
	name      string
	fn        func(ctx context.Context, term Term) error
	run       *runCtx
	done      chan struct{} // closed when the running instance returned
	notBefore time.Time     // restart backoff after an instance returned
}

// Singleton registers fn to run on exactly one node of the quorate side:
// the leader, once it has led for the takeover margin (or at once when
// its predecessor handed over by leaving gracefully), while it holds a
// lease. fn's context is cancelled when this node stops leading, loses
// quorum, stops, or cannot renew its lease; it must return then. term is
// the term the node led at when the instance started; TermFrom(ctx) is
// the term it leads at now; Service.Call and FencedCall send it. If fn
// returns while this node still leads, it is started again after a
// pause of a quarter of the lease. Register every singleton on every
// node, before or after Start.
func (s *Service) Singleton(name string, fn func(ctx context.Context, term Term) error) error {
	if name == "" || fn == nil {
		return fmt.Errorf("leader: a singleton needs a name and a function, got %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.singletons {
		if g.name == name {
			return fmt.Errorf("%w: %q", ErrSingletonExists, name)
		}
	}
	s.singletons = append(s.singletons, &singleton{name: name, fn: fn})
	if s.started {
		s.wake()
	}
	return nil
}

// Running reports whether an instance of the named singleton runs on
// this node.
func (s *Service) Running(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.singletons {
		if g.name == name {
			return g.run != nil
		}
	}
	return false
}

// loopState is what the service's loop owns.
type loopState struct {
	leading   bool
	startAt   time.Time       // singletons may start from then on
	lastNamed cloister.Member // the leader named when last Ready, for handovers
	lastTerm  Term            // the term then
	renewing  bool
	lastRound time.Time // when the last renewal round was sent
	leadTerm  Term      // the term this node leads at
}

// handover reports whether this node, just named leader m at the term
// after lastTerm, takes over from a predecessor that handed over by
// leaving: the leader it named when last Ready, at lastTerm, released at
// that very term. The caller checks that the new term is the next one: a
// term in between would mean a view this node did not see, perhaps with
// another leader whose lease may still run, and then the margin applies.
// (Terms advance by one when no view was accepted in between; a view
// committed in between raised the floors of its members, and a majority
// of them, at least one in the new view, pushed the new term higher.)
func (st *loopState) handover(m cloister.Member, released map[string]Term) bool {
	p := st.lastNamed
	return p.ID != "" && p.ID != m.ID && released[p.ID] == st.lastTerm
}

// renewResult is one renewal round's outcome.
type renewResult struct {
	ok    bool
	sent  time.Time
	term  Term
	acks  int
	votes int
}

func (s *Service) run() {
	defer s.wg.Done()
	h := s.host
	var st loopState
	ticker := time.NewTicker(s.renew)
	defer ticker.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	renewed := make(chan renewResult, 1)
	for {
		select {
		case <-h.Done():
			s.cancelAll(fmt.Errorf("%w: the node stopped", errLeadershipLost))
			s.publishNone()
			s.closeSubs()
			return
		case <-s.kick:
		case <-ticker.C:
		case <-wake.C:
		case r := <-renewed:
			st.renewing = false
			if r.ok && st.leading && r.term >= st.leadTerm {
				s.lease.extend(r.sent.Add(s.cfg.Lease), r.term)
				s.renewals.Add(1)
			}
		}
		if next := s.step(&st, renewed); !next.IsZero() {
			wake.Reset(time.Until(next))
		}
	}
}

// publishNone names no leader (the node stopped).
func (s *Service) publishNone() {
	s.mu.Lock()
	h := s.host
	s.mu.Unlock()
	if h != nil {
		s.publish(cloister.Member{}, 0)
	}
}

// step brings the service in line with the node's snapshot and the
// clock, and returns when it next needs to run (or zero).
func (s *Service) step(st *loopState, renewed chan renewResult) time.Time {
	h := s.host
	snap := h.Snapshot()
	s.mu.Lock()
	prev, prevTerm := s.leader, s.term
	s.mu.Unlock()
	m, term := s.decide(snap, prev, prevTerm)
	if snap.State == cloister.Stopping || snap.State == cloister.Stopped {
		m, term = cloister.Member{}, 0
	}
	s.publish(m, term)
	now := time.Now()
	leading := m.ID != "" && m.ID == snap.Self.ID

	ready := snap.State == cloister.Ready
	switch {
	case leading && ready && term != st.leadTerm:
		// Leading at a new term. Only the next term after one this node
		// saw, Ready, with itself or a predecessor that released as
		// leader, rules out a leader in between; otherwise whatever runs
		// stops and the margin is waited out again.
		s.mu.Lock()
		next := st.lastTerm > 0 && term == st.lastTerm+1
		continued := st.leading && next && st.lastNamed.ID == m.ID
		handover := next && st.handover(m, s.released)
		s.mu.Unlock()
		switch {
		case continued:
		case handover:
			st.startAt = now
		default:
			if st.leading {
				s.lease.drop()
				s.cancelAll(errLeadershipLost)
			}
			st.startAt = now.Add(s.margin)
		}
		st.leading, st.leadTerm = true, term
		h.Logger().Info("leading", "term", term, "singletons_from", st.startAt, "continued", continued, "handover", handover)
	case !leading && st.leading:
		st.leading, st.leadTerm = false, 0
		s.lease.drop()
		s.cancelAll(errLeadershipLost)
	}
	if ready && m.ID != "" {
		st.lastNamed, st.lastTerm = m, term
	}
	if !st.leading {
		return time.Time{}
	}
	if snap.State == cloister.Ready && !st.renewing && (now.Sub(st.lastRound) >= s.renew || Term(snap.Term) != s.lease.load().term) {
		st.renewing, st.lastRound = true, now
		s.wg.Add(1)
		go s.renewRound(snap, renewed)
	}
	if !s.lease.valid(now) {
		s.cancelAll(errLeaseEnded)
		return time.Time{} // the next renewal wakes the loop
	}
	next := s.lease.load().until
	if now.Before(st.startAt) {
		return st.startAt
	}
	if at := s.startSingletons(now); !at.IsZero() && at.Before(next) {
		next = at
	}
	return next
}

// renewRound asks every other member of the view to acknowledge this
// node as leader at the view's term and reports whether a majority of
// the view (this node included) did. The lease runs from when the round
// was sent.
func (s *Service) renewRound(snap cloister.Snapshot, out chan<- renewResult) {
	defer s.wg.Done()
	r := renewResult{sent: time.Now(), term: Term(snap.Term), acks: 1, votes: len(snap.View.Members)}
	// A round may take up to half the lease (a loaded machine answers
	// slowly); the lease it grants still runs from the send time.
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Lease/2)
	defer cancel()
	go func() {
		select {
		case <-s.host.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	body := binary.AppendUvarint(nil, snap.Term)
	answers := make(chan bool, len(snap.View.Members))
	asked := 0
	for _, m := range snap.View.Members {
		if m.ID == snap.Self.ID {
			continue
		}
		asked++
		go func() {
			reply, err := s.host.Call(ctx, m, renewName, body)
			ok := err == nil && len(reply) > 0 && reply[0] == 1
			if err == nil && len(reply) > 1 {
				if t, k := binary.Uvarint(reply[1:]); k > 0 {
					s.fence.Observe(Term(t))
				}
			}
			answers <- ok
		}()
	}
	for i := 0; i < asked && 2*r.acks <= r.votes; i++ {
		if <-answers {
			r.acks++
		}
	}
	r.ok = 2*r.acks > r.votes
	// The calls still out end at ctx's deadline; their answers go to the
	// buffered channel, which nobody needs to read.
	out <- r
}

// startSingletons starts every singleton not running whose backoff has
// passed, and returns the earliest backoff still to pass (or zero).
func (s *Service) startSingletons(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	if s.resigned {
		return next
	}
	for _, g := range s.singletons {
		if g.run != nil {
			continue
		}
		if g.done != nil {
			select {
			case <-g.done:
			default:
				continue // the cancelled instance has not returned yet: never two here either
			}
		}
		if now.Before(g.notBefore) {
			if next.IsZero() || g.notBefore.Before(next) {
				next = g.notBefore
			}
			continue
		}
		rc := newRunCtx(&s.lease)
		term := rc.currentTerm()
		g.run, g.done = rc, make(chan struct{})
		s.wg.Add(1)
		go s.runSingleton(g, rc, g.done, term)
	}
	return next
}

func (s *Service) runSingleton(g *singleton, rc *runCtx, done chan struct{}, term Term) {
	defer s.wg.Done()
	defer close(done)
	s.host.Logger().Info("singleton started", "singleton", g.name, "term", term)
	err := g.fn(rc, term)
	rc.cancel(errLeadershipLost) // whatever fn left running with rc ends now
	s.host.Logger().Info("singleton returned", "singleton", g.name, "term", term, "err", err)
	s.mu.Lock()
	if g.run == rc {
		g.run = nil
		g.notBefore = time.Now().Add(s.renew)
	}
	s.mu.Unlock()
	s.wake()
}

// cancelAll cancels every running singleton with cause.
func (s *Service) cancelAll(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.singletons {
		if g.run != nil {
			g.run.cancel(cause)
			g.run = nil
		}
	}
}

// BeforeStop is called by Node.Stop before the node announces its leave:
// it resigns (see Resign), so a graceful stop hands over without the
// margin.
func (s *Service) BeforeStop(ctx context.Context) {
	if err := s.Resign(ctx); err != nil {
		s.host.Logger().Warn("handover before the stop incomplete", "err", err)
	}
}

// Resign hands leadership over ahead of a graceful stop: it cancels this
// node's singletons and keeps them from starting here again, waits (within
// ctx) for them to return, and then tells the other members. When this
// node leads, its successor, named once this node has left, then starts
// the singletons at once instead of waiting out the takeover margin: the
// gap is the leave's propagation and one view change. Node.Stop calls it
// (BeforeStop); call it yourself only to hand over earlier. The node keeps
// leading, without singletons, until it leaves.
func (s *Service) Resign(ctx context.Context) error {
	s.mu.Lock()
	if s.host == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: the service has not started", ErrNotLeader)
	}
	s.resigned = true
	var dones []chan struct{}
	for _, g := range s.singletons {
		if g.run != nil {
			g.run.cancel(fmt.Errorf("%w: the node resigned", errLeadershipLost))
			g.run = nil
		}
		if g.done != nil {
			dones = append(dones, g.done)
		}
	}
	s.mu.Unlock()
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	snap := s.host.Snapshot()
	body := binary.AppendUvarint(nil, snap.Term)
	var wg sync.WaitGroup
	for _, m := range snap.View.Members {
		if m.ID == snap.Self.ID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.host.Call(ctx, m, releaseName, body)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

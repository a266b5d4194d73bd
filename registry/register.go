package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/replica"
)

// grantHeld is a grant an authority made and has not yet seen the holder
// replicate.
type grantHeld struct {
	holder    string
	term, seq uint64
	expires   time.Time
}

// grantTTL is how long an authority keeps a grant it has not seen
// replicated (the holder got it and failed to record it, or never got
// the answer).
const grantTTL = 10 * time.Second

// errStale: the grant's term is not this node's any more.
var errStale = errors.New("registry: grant of another term")

// Register makes this node the holder of name, served by h, unique across
// the cluster. It returns a *NameTakenError (ErrNameTaken) when another
// member holds the name, an error matching cloister.ErrNoQuorum (and
// cloister.ErrNotReady) on a side without quorum, and waits, within ctx,
// while the node is not Ready.
func (r *Registry) Register(ctx context.Context, name string, h cloister.Handler) (Registration, error) {
	if err := checkName(name); err != nil {
		return Registration{}, err
	}
	if err := r.check(); err != nil {
		return Registration{}, err
	}
	if h == nil {
		return Registration{}, fmt.Errorf("registry: register %q: nil handler", name)
	}
	for {
		snap := r.host.Snapshot()
		switch snap.State {
		case cloister.NoQuorum:
			return Registration{}, noQuorum(name)
		case cloister.Stopping, cloister.Stopped:
			return Registration{}, cloister.ErrStopped
		case cloister.Ready:
		default:
			if err := r.waitState(ctx, 0); err != nil {
				return Registration{}, fmt.Errorf("registry: register %q: %w (%w)", name, cloister.ErrNotReady, err)
			}
			continue
		}
		g, err := r.ask(ctx, snap, name)
		if err != nil {
			return Registration{}, err
		}
		switch g.status {
		case grantTaken:
			return Registration{}, &NameTakenError{Name: name, Holder: g.holder}
		case grantNoQuorum:
			return Registration{}, noQuorum(name)
		case grantRetry:
			r.retries.Add(1)
			if err := r.waitState(ctx, 10*time.Millisecond); err != nil {
				return Registration{}, fmt.Errorf("registry: register %q: %w (%w)", name, cloister.ErrNotReady, err)
			}
			continue
		}
		err = r.store.Update(func(tx *replica.Tx) error { return r.accept(tx, name, h, g) })
		switch {
		case errors.Is(err, errStale):
			r.retries.Add(1)
			continue
		case err != nil:
			return Registration{}, err
		}
		return Registration{Name: name, Holder: r.self, Term: g.term, Seq: g.seq}, nil
	}
}

// accept records a grant, if this node is still in the grant's term.
func (r *Registry) accept(tx *replica.Tx, name string, h cloister.Handler, g grantReply) error {
	if tx.Term() != g.term {
		return errStale
	}
	if r.noQuorum.Load() {
		return noQuorum(name)
	}
	if _, ok := tx.Get(name); ok {
		return &NameTakenError{Name: name, Holder: r.self}
	}
	if tx.Len() >= r.opts.MaxNames {
		return fmt.Errorf("%w: %d", ErrTooManyNames, r.opts.MaxNames)
	}
	r.hmu.Lock()
	r.handlers[name] = h
	r.hmu.Unlock()
	return tx.Set(name, record{term: g.term, seq: g.seq}.encode())
}

// ask asks the name's authority for a grant.
func (r *Registry) ask(ctx context.Context, snap cloister.Snapshot, name string) (grantReply, error) {
	auth, err := snap.Ring(cloister.DefaultRing).Whois(name)
	if err != nil {
		return grantReply{status: grantRetry}, nil
	}
	if auth.ID == r.self.ID {
		return r.grant(ctx, r.self, snap.Term, name), nil
	}
	body, err := r.host.Call(ctx, auth, "registry.grant", encodeGrant(snap.Term, name))
	if err != nil {
		if ctx.Err() != nil {
			return grantReply{}, fmt.Errorf("registry: register %q: %w", name, err)
		}
		return grantReply{status: grantRetry}, nil // the view is changing: look again
	}
	g, err := decodeGrantReply(body)
	if err != nil {
		return grantReply{}, fmt.Errorf("registry: register %q: answer of %s: %w", name, auth.Name, err)
	}
	return g, nil
}

func noQuorum(name string) error {
	return fmt.Errorf("registry: register %q: %w (%w)", name, cloister.ErrNoQuorum, cloister.ErrNotReady)
}

// waitState waits for the node's next state change, at most d when d > 0.
func (r *Registry) waitState(ctx context.Context, d time.Duration) error {
	ch := r.state.wait()
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
		return nil
	case <-timeout:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.ctx.Done():
		return cloister.ErrStopped
	}
}

func (r *Registry) handleGrant(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
	term, name, err := decodeGrant(body)
	if err != nil {
		return nil, err
	}
	return r.grant(ctx, from, term, name).encode(), nil
}

// grant is the authority's decision on a name for a member of its view:
// only while Ready and quorate, in the requester's term, as the name's
// owner on the ring, and once every member of the view has marked the
// term (so every grant of an earlier term that a holder accepted is
// visible here).
func (r *Registry) grant(ctx context.Context, from cloister.Member, term uint64, name string) grantReply {
	for {
		snap := r.host.Snapshot()
		switch {
		case snap.State == cloister.NoQuorum || !snap.Quorate:
			return grantReply{status: grantNoQuorum}
		case snap.State != cloister.Ready || snap.Term != term || !snap.Ring(cloister.DefaultRing).Mine(name):
			return grantReply{status: grantRetry, term: snap.Term}
		}
		view := make(map[string]cloister.Member, len(snap.View.Members))
		for _, m := range snap.View.Members {
			view[m.ID] = cloister.Member{ID: m.ID, Name: m.Name, Addr: m.Addr}
		}
		if _, ok := view[from.ID]; !ok {
			return grantReply{status: grantRetry, term: snap.Term}
		}
		marked := r.store.Marked()
		var reply grantReply
		waiting := false
		_ = r.store.Update(func(tx *replica.Tx) error {
			if tx.Term() != term {
				reply = grantReply{status: grantRetry, term: tx.Term()}
				return nil
			}
			for id := range view {
				if tx.TermOf(id) < term {
					waiting = true
					return nil
				}
			}
			reply = r.decide(from, term, name, view)
			return nil
		})
		if !waiting {
			return reply
		}
		select {
		case <-marked:
		case <-ctx.Done():
			return grantReply{status: grantRetry, term: term}
		case <-r.ctx.Done():
			return grantReply{status: grantRetry, term: term}
		}
	}
}

// decide grants name to from unless a live member holds it or was granted
// it in this term. Called with the store locked.
func (r *Registry) decide(from cloister.Member, term uint64, name string, view map[string]cloister.Member) grantReply {
	if w, ok := r.index.Load().Get(name); ok {
		if _, live := view[w.holder.ID]; live {
			r.refusals.Add(1)
			return grantReply{status: grantTaken, holder: *w.holder}
		}
	}
	now := time.Now()
	if p, ok := r.pending[name]; ok && p.holder != from.ID && p.term == term && now.Before(p.expires) {
		if m, live := view[p.holder]; live {
			return grantReply{status: grantTaken, holder: m}
		}
	}
	r.seq++
	if r.seq%4096 == 0 {
		for n, p := range r.pending {
			if p.term != term || now.After(p.expires) {
				delete(r.pending, n)
			}
		}
	}
	r.grants.Add(1)
	r.pending[name] = grantHeld{holder: from.ID, term: term, seq: r.seq, expires: now.Add(grantTTL)}
	return grantReply{status: grantOK, term: term, seq: r.seq}
}

// Unregister gives up a name this node holds: ErrNoSuchName if it holds
// none of that name.
func (r *Registry) Unregister(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	return r.store.Update(func(tx *replica.Tx) error {
		if _, ok := tx.Get(name); !ok {
			return fmt.Errorf("%w: %q is not held here", ErrNoSuchName, name)
		}
		tx.Delete(name)
		r.hmu.Lock()
		delete(r.handlers, name)
		r.hmu.Unlock()
		return nil
	})
}

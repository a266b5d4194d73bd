package registry

import (
	"context"
	"fmt"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/replica"
)

// Handoff hands the names given (all this node holds when none are) to
// the member to, in one step: to takes them over with a later generation,
// which supersedes this node's registrations on every node, then this
// node lets them go, once to answers that every member of its view has
// its claims: no lookup finds nobody in between. to must have
// Options.Adopt. Use it before Node.Stop for a rolling restart. When it
// fails after to took the names over (to's members did not all answer
// within ctx), to's claims still win everywhere, and this node keeps
// serving calls for them until it stops; Lookup says who holds each.
func (r *Registry) Handoff(ctx context.Context, to cloister.Member, names ...string) error {
	if err := r.check(); err != nil {
		return err
	}
	if to.ID == r.self.ID {
		return fmt.Errorf("%w: to this node itself", ErrHandoff)
	}
	if len(names) == 0 {
		names = r.Held()
	}
	var hs []handed
	_ = r.store.Update(func(tx *replica.Tx) error {
		for _, n := range names {
			v, ok := tx.Get(n)
			if !ok {
				continue
			}
			rec, err := decodeRecord(v)
			if err != nil {
				continue
			}
			rec.gen++
			hs = append(hs, handed{name: n, rec: rec})
		}
		return nil
	})
	if len(hs) == 0 {
		return nil
	}
	if _, err := r.host.Call(ctx, to, "registry.takeover", encodeTakeover(hs)); err != nil {
		return fmt.Errorf("registry: handoff to %s: %w", to.Name, err)
	}
	return r.store.Update(func(tx *replica.Tx) error {
		for _, h := range hs {
			tx.Delete(h.name)
			r.hmu.Lock()
			delete(r.handlers, h.name)
			r.hmu.Unlock()
		}
		return nil
	})
}

// handleTakeover adopts names handed by their holder.
func (r *Registry) handleTakeover(ctx context.Context, from cloister.Member, body []byte) ([]byte, error) {
	hs, err := decodeTakeover(body)
	if err != nil {
		return nil, err
	}
	if r.opts.Adopt == nil {
		return nil, fmt.Errorf("%w: %s adopts no names", ErrHandoff, r.self.Name)
	}
	handlers := make([]cloister.Handler, len(hs))
	idx := r.index.Load()
	for i, h := range hs {
		cur, ok := idx.Get(h.name)
		if !ok || cur.holder.ID != from.ID || cur.gen+1 != h.rec.gen {
			return nil, fmt.Errorf("%w: %s does not hold %q here", ErrHandoff, from.Name, h.name)
		}
		if handlers[i] = r.opts.Adopt(h.name); handlers[i] == nil {
			return nil, fmt.Errorf("%w: %q declined by %s", ErrHandoff, h.name, r.self.Name)
		}
	}
	err = r.store.Update(func(tx *replica.Tx) error {
		if tx.Len()+len(hs) > r.opts.MaxNames {
			return fmt.Errorf("%w: %d", ErrTooManyNames, r.opts.MaxNames)
		}
		for i, h := range hs {
			r.hmu.Lock()
			r.handlers[h.name] = handlers[i]
			r.hmu.Unlock()
			if err := tx.Set(h.name, h.rec.encode()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Answer once every member has this node's claims: the old holder lets
	// go after the answer, so no member sees its release first.
	return nil, r.store.WaitDelivered(ctx, r.store.Version())
}

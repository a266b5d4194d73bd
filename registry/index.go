package registry

import (
	"slices"
	"strings"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/replica"
)

// sink is the registry as the replica store sees it: it keeps every
// member's claims and, from them, the index Lookup reads. Its methods run
// with the store locked.
type sink Registry

func (s *sink) Apply(tx *replica.Tx, origin cloister.Member, ops []replica.Op) {
	r := (*Registry)(s)
	r.begin()
	defer r.publish()
	for _, op := range ops {
		if op.Del {
			r.unclaim(origin.ID, op.Key)
		} else if rec, err := decodeRecord(op.Val); err == nil && checkName(op.Key) == nil {
			r.claim(origin, op.Key, rec)
		}
		r.settle(tx, op.Key)
	}
}

func (s *sink) Replace(tx *replica.Tx, origin cloister.Member, entries []replica.Op) {
	r := (*Registry)(s)
	r.begin()
	defer r.publish()
	names := r.unclaimAll(origin.ID)
	for _, e := range entries {
		if rec, err := decodeRecord(e.Val); err == nil && checkName(e.Key) == nil {
			r.claim(origin, e.Key, rec)
			names = append(names, e.Key)
		}
	}
	for _, name := range names {
		r.settle(tx, name)
	}
}

func (s *sink) Drop(tx *replica.Tx, origin cloister.Member) {
	r := (*Registry)(s)
	r.begin()
	defer r.publish()
	for name, p := range r.pending {
		if p.holder == origin.ID {
			delete(r.pending, name)
		}
	}
	for _, name := range r.unclaimAll(origin.ID) {
		r.settle(tx, name)
	}
	delete(r.holders, origin.ID) // the index holds it no more
}

func (r *Registry) begin() { r.txn = r.index.Load().Txn() }

func (r *Registry) publish() {
	r.index.Store(r.txn.Map())
	r.txn = nil
	r.watch.Flush() // what changed is visible: now its watchers hear it
}

func (r *Registry) claim(origin cloister.Member, name string, rec record) {
	reg := &Registration{
		Name:   name,
		Holder: cloister.Member{ID: origin.ID, Name: origin.Name, Addr: origin.Addr},
		Term:   rec.term, Seq: rec.seq, Gen: rec.gen,
	}
	byName := r.held[origin.ID]
	if byName == nil {
		byName = map[string]*Registration{}
		r.held[origin.ID] = byName
	}
	if old := byName[name]; old != nil {
		r.removeClaim(name, old)
	} else if len(byName) >= r.opts.MaxNames {
		return // a member claiming more than a node may hold: not kept
	}
	byName[name] = reg
	r.claims[name] = append(r.claims[name], reg)
}

func (r *Registry) unclaim(holder, name string) {
	byName := r.held[holder]
	if old := byName[name]; old != nil {
		delete(byName, name)
		r.removeClaim(name, old)
	}
}

// unclaimAll removes every claim of a holder and returns their names.
func (r *Registry) unclaimAll(holder string) []string {
	byName := r.held[holder]
	delete(r.held, holder)
	names := make([]string, 0, len(byName))
	for name, reg := range byName {
		r.removeClaim(name, reg)
		names = append(names, name)
	}
	return names
}

func (r *Registry) removeClaim(name string, reg *Registration) {
	cs := r.claims[name]
	if i := slices.Index(cs, reg); i >= 0 {
		cs = slices.Delete(cs, i, i+1)
	}
	if len(cs) == 0 {
		delete(r.claims, name)
	} else {
		r.claims[name] = cs
	}
}

// winner resolves the claims on a name: between claims of one grant, the
// higher generation (a handoff); else the Resolver, folded in holder ID
// order so that every node folds alike.
func (r *Registry) winner(name string, cs []*Registration) *Registration {
	if len(cs) == 0 {
		return nil
	}
	if len(cs) > 1 {
		slices.SortFunc(cs, func(a, b *Registration) int { return strings.Compare(a.Holder.ID, b.Holder.ID) })
	}
	win := cs[0]
	for _, c := range cs[1:] {
		switch {
		case handedOn(c, win):
			if c.Gen > win.Gen {
				win = c
			}
		case r.opts.Resolve(name, *win, *c).Holder.ID == c.Holder.ID:
			win = c
		}
	}
	return win
}

// settle recomputes a name's entry in the index. A claim of this node's
// that lost a conflict is withdrawn, and OnNameLost and the watchers hear
// it before the winner enters the index.
func (r *Registry) settle(tx *replica.Tx, name string) {
	cs := r.claims[name]
	win := r.winner(name, cs)
	self := r.self.ID
	for _, c := range cs {
		if c == win || c.Holder.ID != self || handedOn(c, win) {
			// A claim handed on is let go by Handoff itself, once every
			// member has the new one: letting go here, as soon as this
			// node hears of it, could reach a member first.
			continue
		}
		r.unclaim(self, name)
		tx.Delete(name)
		r.hmu.Lock()
		delete(r.handlers, name)
		r.hmu.Unlock()
		lost := NameLost{Name: name, Lost: *c, Winner: *win}
		if r.opts.OnNameLost != nil {
			r.opts.OnNameLost(lost)
		}
		r.watch.Notify(name, Event{Name: name, Kind: Lost, Registration: *c})
		break
	}
	old, had := r.txn.Get(name)
	switch {
	case win == nil && had:
		r.txn.Delete(name)
		r.watch.Defer(name, Event{Name: name, Kind: Unregistered, Registration: old.registration(name, false)})
	case win != nil && (!had || !sameGrant(old, win)):
		r.txn.Set(name, slot{holder: r.holderOf(win.Holder), term: win.Term, seq: win.Seq, gen: win.Gen})
		r.watch.Defer(name, Event{Name: name, Kind: Registered, Registration: *win})
	}
	if win != nil {
		// Only the grant itself clears it: an older record of the same
		// holder, still in flight, does not.
		if p, ok := r.pending[name]; ok && p.holder == win.Holder.ID && p.term == win.Term && p.seq == win.Seq {
			delete(r.pending, name)
		}
	}
}

func sameGrant(a slot, b *Registration) bool {
	return a.holder.ID == b.Holder.ID && a.term == b.Term && a.seq == b.Seq && a.gen == b.Gen
}

// holderOf is the index's one copy of a holder. Called with the store
// locked.
func (r *Registry) holderOf(m cloister.Member) *cloister.Member {
	if h := r.holders[m.ID]; h != nil {
		return h
	}
	h := &cloister.Member{ID: m.ID, Name: m.Name, Addr: m.Addr}
	r.holders[m.ID] = h
	return h
}

// handedOn reports whether one claim was handed on from the other: one
// grant, two generations.
func handedOn(a, b *Registration) bool {
	return a.Term == b.Term && a.Seq == b.Seq && a.Gen != b.Gen
}

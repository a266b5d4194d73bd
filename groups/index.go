package groups

import (
	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/internal/hamt"
	"github.com/cloister-go/cloister/internal/replica"
	"github.com/cloister-go/cloister/internal/wire"
)

// sink is Groups as the replica store sees it: every node's memberships,
// indexed by group. Its methods run with the store locked.
type sink Groups

func (s *sink) Apply(_ *replica.Tx, origin cloister.Member, ops []replica.Op) {
	g := (*Groups)(s)
	g.begin()
	g.apply(origin, ops)
	g.publish()
}

func (s *sink) Replace(_ *replica.Tx, origin cloister.Member, entries []replica.Op) {
	g := (*Groups)(s)
	g.begin()
	keep := make(map[string]bool, len(entries))
	for _, e := range entries {
		keep[e.Key] = true
	}
	g.dropNode(origin, keep)
	g.apply(origin, entries)
	g.publish()
}

func (s *sink) Drop(_ *replica.Tx, origin cloister.Member) {
	g := (*Groups)(s)
	g.begin()
	g.dropNode(origin, nil)
	g.publish()
}

func (g *Groups) apply(origin cloister.Member, ops []replica.Op) {
	for _, op := range ops {
		group, key, ok := splitEntry(op.Key)
		if !ok {
			continue
		}
		if op.Del {
			g.set(origin, group, key, 0)
			continue
		}
		r := wire.NewReader(op.Val)
		if n := r.Uint(); r.Done() == nil && n > 0 && n <= 1<<31 {
			g.set(origin, group, key, int(n))
		}
	}
}

// dropNode removes every membership of a node but those to keep.
func (g *Groups) dropNode(origin cloister.Member, keep map[string]bool) {
	prefix := origin.ID + "\x00"
	for name, gr := range g.index.Load().All() {
		for id, m := range gr.members.All() {
			if len(id) > len(prefix) && id[:len(prefix)] == prefix && !keep[entryKey(name, m.Key)] {
				g.set(m.Node, name, m.Key, 0)
			}
		}
	}
}

func (g *Groups) begin() {
	g.txn = g.index.Load().Txn()
	g.dirty = map[string]*hamt.Txn[Member]{}
}

// set sets a member's count in a group; 0 removes it.
func (g *Groups) set(node cloister.Member, group, key string, count int) {
	t := g.dirty[group]
	if t == nil {
		if gr, ok := g.txn.Get(group); ok {
			t = gr.members.Txn()
		} else {
			t = (&hamt.Map[Member]{}).Txn()
		}
		g.dirty[group] = t
	}
	id := node.ID + "\x00" + key
	old, had := t.Get(id)
	m := Member{Node: cloister.Member{ID: node.ID, Name: node.Name, Addr: node.Addr}, Key: key, Count: count}
	switch {
	case count == 0 && had:
		t.Delete(id)
		if g.perNode[node.ID]--; g.perNode[node.ID] <= 0 {
			delete(g.perNode, node.ID)
		}
		g.watch.Defer(group, Event{Group: group, Kind: Left, Member: old})
	case count > 0 && had:
		t.Set(id, m)
	case count > 0:
		if g.perNode[node.ID] >= g.opts.MaxMemberships {
			return // a node with more memberships than one may have: not kept
		}
		g.perNode[node.ID]++
		t.Set(id, m)
		g.watch.Defer(group, Event{Group: group, Kind: Joined, Member: m})
	}
}

// publish makes the changes visible, group by group.
func (g *Groups) publish() {
	for name, t := range g.dirty {
		if t.Len() == 0 {
			g.txn.Delete(name)
		} else {
			g.txn.Set(name, &group{members: *t.Map()})
		}
	}
	g.index.Store(g.txn.Map())
	g.txn, g.dirty = nil, nil
	g.watch.Flush() // what changed is visible: now its watchers hear it
}

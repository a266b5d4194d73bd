package replica

import (
	"context"

	"github.com/cloister-go/cloister"
)

// viewListener keeps the store's view the node's.
type viewListener struct{ s *Store }

func (l viewListener) OnStateChange(_, to cloister.State, snap cloister.Snapshot) {
	l.s.setView(snap.View.Members, to == cloister.Ready)
}

func (l viewListener) OnEvent(e cloister.Event) {
	switch e := e.(type) {
	case *cloister.ViewChanged:
		l.s.setView(e.New.Members, false)
	case *cloister.EventsDropped:
		snap := l.s.host.Snapshot()
		l.s.setView(snap.View.Members, snap.State == cloister.Ready)
	}
}

// setView starts a stream to each new member and stops the streams to the
// members that left. With prune (the node is Ready: the view is agreed,
// with quorum), it also drops the entries of the origins not in it; a node
// that is not Ready keeps what it knew, which a side without quorum still
// answers from.
func (s *Store) setView(members []cloister.Member, prune bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	view := make(map[string]cloister.Member, len(members))
	for _, m := range members {
		view[m.ID] = m
	}
	s.view = view
	tx := &Tx{s: s}
	for id, o := range s.origins {
		if _, ok := view[id]; !ok && prune {
			delete(s.origins, id)
			s.sink.Drop(tx, o.member)
		}
	}
	for id, p := range s.peers {
		if _, ok := view[id]; !ok {
			p.cancel()
			delete(s.peers, id)
		}
	}
	for id, m := range view {
		if id == s.self.ID || s.peers[id] != nil {
			continue
		}
		ctx, cancel := context.WithCancel(s.ctx)
		p := &peer{m: m, ctx: ctx, cancel: cancel, signal: make(chan struct{}, 1)}
		s.peers[id] = p
		go s.stream(p)
	}
	s.settle(tx)
}

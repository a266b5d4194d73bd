package replica

import (
	"context"

	"github.com/cloister-go/cloister"
)

// viewListener keeps the store's view the node's.
type viewListener struct{ s *Store }

func (l viewListener) OnStateChange(_, _ cloister.State, snap cloister.Snapshot) {
	l.s.setView(snap.View.Members)
}

func (l viewListener) OnEvent(e cloister.Event) {
	switch e := e.(type) {
	case *cloister.ViewChanged:
		l.s.setView(e.New.Members)
	case *cloister.EventsDropped:
		l.s.setView(l.s.host.Snapshot().View.Members)
	}
}

// setView starts a stream to each new member and forgets the members that
// left: their streams stop and their entries are dropped.
func (s *Store) setView(members []cloister.Member) {
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
		if _, ok := view[id]; !ok {
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

package cloister

import "sync"

// monitorService is Node.Monitor, built as a service on the seam: it sees
// the node only through its Host, and hears member departures as a
// listener. A listener's queue is bounded, so when events were dropped it
// checks every monitored member against the current view instead: a
// monitor is never missed.
type monitorService struct {
	host Host

	mu   sync.Mutex
	byID map[string][]chan MemberDown
}

func (ms *monitorService) Name() string { return "monitor" }

func (ms *monitorService) Start(h Host) error {
	ms.host = h
	h.Listen(monitorListener{ms})
	return nil
}

// monitorListener feeds the service the node's events.
type monitorListener struct{ ms *monitorService }

func (monitorListener) OnStateChange(State, State, Snapshot) {}

func (l monitorListener) OnEvent(e Event) {
	switch e := e.(type) {
	case *MemberDown:
		l.ms.fire(*e)
	case *EventsDropped:
		l.ms.resync()
	}
}

// Monitor returns a channel that receives exactly one MemberDown when the
// member incarnation m leaves the view: it failed, left, or was replaced by
// a restart (Erlang's monitor_node). If m is not in the view now, the
// notification is delivered at once with reason Failed, as Erlang does for
// a node that is not connected. cancel stops monitoring; the channel is
// then never written. When the node itself stops, pending monitors receive
// nothing and stay open: select on Node.Done as well.
func (n *Node) Monitor(m Member) (down <-chan MemberDown, cancel func()) { return n.mon.monitor(m) }

func (ms *monitorService) monitor(m Member) (<-chan MemberDown, func()) {
	ch := make(chan MemberDown, 1)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if !ms.host.Snapshot().View.has(m.ID) {
		ch <- MemberDown{Member: m, Reason: Failed}
		return ch, func() {}
	}
	if ms.byID == nil {
		ms.byID = map[string][]chan MemberDown{}
	}
	ms.byID[m.ID] = append(ms.byID[m.ID], ch)
	return ch, func() {
		ms.mu.Lock()
		defer ms.mu.Unlock()
		list := ms.byID[m.ID]
		for i, c := range list {
			if c == ch {
				ms.byID[m.ID] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(ms.byID[m.ID]) == 0 {
			delete(ms.byID, m.ID)
		}
	}
}

// fire notifies every monitor of the member that went down.
func (ms *monitorService) fire(e MemberDown) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, ch := range ms.byID[e.Member.ID] {
		ch <- MemberDown{Member: e.Member.clone(), Reason: e.Reason} // capacity 1, written once
	}
	delete(ms.byID, e.Member.ID)
}

// resync fires, with reason Failed, the monitors of members that are no
// longer in the view: their MemberDown events were among those dropped.
func (ms *monitorService) resync() {
	view := ms.host.Snapshot().View
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for id, list := range ms.byID {
		if view.has(id) {
			continue
		}
		for _, ch := range list {
			ch <- MemberDown{Member: Member{ID: id}, Reason: Failed}
		}
		delete(ms.byID, id)
	}
}

func (v View) has(id string) bool {
	for _, m := range v.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

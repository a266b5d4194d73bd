package cloister

import "sync"

// monitors holds the channels waiting for members to go down.
type monitors struct {
	mu   sync.Mutex
	byID map[string][]chan MemberDown
}

// Monitor returns a channel that receives exactly one MemberDown when the
// member incarnation m leaves the view: it failed, left, or was replaced by
// a restart (Erlang's monitor_node). If m is not in the view now, the
// notification is delivered at once with reason Failed, as Erlang does for
// a node that is not connected. cancel stops monitoring; the channel is
// then never written. When the node itself stops, pending monitors receive
// nothing and stay open: select on Node.Done as well.
func (n *Node) Monitor(m Member) (down <-chan MemberDown, cancel func()) {
	ch := make(chan MemberDown, 1)
	n.mon.mu.Lock()
	defer n.mon.mu.Unlock()
	if !n.View().has(m.ID) {
		ch <- MemberDown{Member: m, Reason: Failed}
		return ch, func() {}
	}
	if n.mon.byID == nil {
		n.mon.byID = map[string][]chan MemberDown{}
	}
	n.mon.byID[m.ID] = append(n.mon.byID[m.ID], ch)
	return ch, func() {
		n.mon.mu.Lock()
		defer n.mon.mu.Unlock()
		list := n.mon.byID[m.ID]
		for i, c := range list {
			if c == ch {
				n.mon.byID[m.ID] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(n.mon.byID[m.ID]) == 0 {
			delete(n.mon.byID, m.ID)
		}
	}
}

// fire notifies every monitor of the member that went down.
func (ms *monitors) fire(e MemberDown) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, ch := range ms.byID[e.Member.ID] {
		ch <- MemberDown{Member: e.Member.clone(), Reason: e.Reason} // capacity 1, written once
	}
	delete(ms.byID, e.Member.ID)
}

func (v View) has(id string) bool {
	for _, m := range v.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

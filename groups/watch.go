package groups

import "fmt"

// EventKind says what happened in a watched group.
type EventKind uint8

// The kinds of Event.
const (
	// Joined: a member joined (its first Join).
	Joined EventKind = iota + 1
	// Left: a member left (its last Leave), or its node left the view.
	Left
)

func (k EventKind) String() string {
	switch k {
	case Joined:
		return "joined"
	case Left:
		return "left"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a change of a watched group's membership, as this node saw it.
type Event struct {
	Group  string
	Kind   EventKind
	Member Member
}

// watchQueue bounds a watcher's pending events; past it the oldest are
// dropped (Members gives the current state).
const watchQueue = 256

type watcher struct{ ch chan Event }

// Watch returns a channel of the joins and leaves of group, starting with
// a Joined event for each current member. A watcher that falls behind
// loses its oldest events. cancel stops the watch; the channel is not
// closed.
func (g *Groups) Watch(group string) (events <-chan Event, cancel func()) {
	w := &watcher{ch: make(chan Event, watchQueue)}
	g.wmu.Lock()
	g.watchers[group] = append(g.watchers[group], w)
	g.wmu.Unlock()
	for _, m := range g.Members(group) {
		w.send(Event{Group: group, Kind: Joined, Member: m})
	}
	return w.ch, func() {
		g.wmu.Lock()
		defer g.wmu.Unlock()
		ws := g.watchers[group]
		for i, x := range ws {
			if x == w {
				ws = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(g.watchers, group)
		} else {
			g.watchers[group] = ws
		}
	}
}

func (w *watcher) send(e Event) {
	for {
		select {
		case w.ch <- e:
			return
		default:
		}
		select {
		case <-w.ch:
		default:
		}
	}
}

func (g *Groups) notify(e Event) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	for _, w := range g.watchers[e.Group] {
		w.send(e)
	}
}

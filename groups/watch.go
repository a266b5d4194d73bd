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

// Watch returns a channel of the joins and leaves of group, starting with
// a Joined event for each current member; its events follow what Members
// returns, never precede it (package internal/watch). A watcher that falls
// behind loses its oldest events. cancel stops the watch; the channel is
// not closed.
func (g *Groups) Watch(group string) (events <-chan Event, cancel func()) {
	return g.watch.Watch(group, func() []Event {
		ms := g.Members(group)
		evs := make([]Event, len(ms))
		for i, m := range ms {
			evs[i] = Event{Group: group, Kind: Joined, Member: m}
		}
		return evs
	})
}

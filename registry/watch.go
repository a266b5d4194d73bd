package registry

import "fmt"

// EventKind says what happened to a watched name.
type EventKind uint8

// The kinds of Event.
const (
	// Registered: the name is held, by a new holder or with a new grant.
	Registered EventKind = iota + 1
	// Unregistered: nobody holds the name any more (unregistered, or its
	// holder left the view).
	Unregistered
	// Lost: this node held the name and lost it to a conflict.
	Lost
)

func (k EventKind) String() string {
	switch k {
	case Registered:
		return "registered"
	case Unregistered:
		return "unregistered"
	case Lost:
		return "lost"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a change of a watched name, as this node saw it.
type Event struct {
	Name         string
	Kind         EventKind
	Registration Registration // the new one (Registered), the last one (Unregistered, Lost)
}

// watchQueue is how many events a watcher may have pending; past it the
// oldest is dropped, so the latest state is always delivered.
const watchQueue = 16

// Watch returns a channel of the changes of name, starting with its
// current state (Registered, or Unregistered when nobody holds it). A
// watcher that falls behind loses its oldest events, never the latest,
// and its last event is never older than what Lookup returns (package
// internal/watch). cancel stops the watch; the channel is not closed.
func (r *Registry) Watch(name string) (events <-chan Event, cancel func()) {
	return r.watch.Watch(name, func() []Event {
		if reg, ok := r.Lookup(name); ok {
			return []Event{{Name: name, Kind: Registered, Registration: reg}}
		}
		return []Event{{Name: name, Kind: Unregistered, Registration: Registration{Name: name}}}
	})
}

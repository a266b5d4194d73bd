package cloister

import (
	"fmt"

	"github.com/cloister-go/cloister/ring"
)

// Event is one thing that happened to the cluster, as this node saw it:
// *MemberUp, *MemberDown, *ViewChanged, *StateChanged, *RingChanged,
// *RingConfigDiffers, *DiscoveryFailed or *EventsDropped. Events reach each listener in the order they happened.
type Event interface {
	fmt.Stringer
	event()
}

// MemberUp: a member entered this node's view.
type MemberUp struct{ Member Member }

// MemberDown: a member left this node's view, and why.
type MemberDown struct {
	Member Member
	Reason Reason
}

// ViewChanged: the member set changed.
type ViewChanged struct{ Old, New View }

// StateChanged: this node's state changed. Snapshot is the state after it.
type StateChanged struct {
	From, To State
	Snapshot Snapshot
}

// DiscoveryFailed: a poll of the sentry failed; members are unchanged.
// Err matches ErrDiscovery.
type DiscoveryFailed struct{ Err error }

// EventsDropped: this listener's queue was full and Count events were
// dropped before this one. The next StateChanged carries a full snapshot.
type EventsDropped struct{ Count uint64 }

func (*MemberUp) event()          {}
func (*MemberDown) event()        {}
func (*ViewChanged) event()       {}
func (*RingConfigDiffers) event() {}
func (*StateChanged) event()      {}
func (*DiscoveryFailed) event()   {}
func (*EventsDropped) event()     {}

func (e *MemberUp) String() string { return "member up: " + e.Member.Name }
func (e *MemberDown) String() string {
	return "member down: " + e.Member.Name + " (" + e.Reason.String() + ")"
}
func (e *ViewChanged) String() string {
	return fmt.Sprintf("view changed: %d members, id %016x, epoch %d", len(e.New.Members), e.New.ID, e.New.Epoch)
}
func (e *StateChanged) String() string {
	return fmt.Sprintf("state: %s -> %s (term %d)", e.From, e.To, e.Snapshot.Term)
}
func (e *DiscoveryFailed) String() string {
	if e.Err == nil {
		return "discovery failed"
	}
	return e.Err.Error()
}
func (e *EventsDropped) String() string { return fmt.Sprintf("%d events dropped", e.Count) }

// Listener hears every state change of a node, in order, on a goroutine of
// its own: a slow listener delays only itself, never gossip or other
// listeners.
type Listener interface {
	OnStateChange(from, to State, s Snapshot)
}

// EventListener is a Listener that also receives every Event (including
// the StateChanged events that OnStateChange reports).
type EventListener interface {
	Listener
	OnEvent(e Event)
}

// ListenerFunc adapts a function to Listener.
type ListenerFunc func(from, to State, s Snapshot)

// OnStateChange calls f.
func (f ListenerFunc) OnStateChange(from, to State, s Snapshot) { f(from, to, s) }

// RingChanged: the node reached Ready with a new view, so ring Name may
// have new owners. Old is the ring at the previous Ready (nil the first
// time); New is the ring now. Every Ready node sees the same New for the
// same view, so handing work off by Gained and Lost is deterministic.
// Reading a ring (Gained, Lost, Handoff, or the rings' own methods) builds
// it if no query has yet; String does not.
type RingChanged struct {
	Name     string
	Old, New *Ring
}

func (*RingChanged) event() {}

func (e *RingChanged) String() string {
	var view ViewID
	if e.New != nil {
		view = e.New.viewID
	}
	return fmt.Sprintf("ring %s changed: %d members, view %016x", e.Name, e.New.size(), view)
}

// Gained reports whether this node owns key now but did not before.
func (e *RingChanged) Gained(key string) bool {
	if e.New == nil {
		return false
	}
	return e.New.Mine(key) && e.Old.ownerID(key) != e.New.selfID
}

// Lost reports whether this node owned key before but does not now.
func (e *RingChanged) Lost(key string) bool {
	if e.New == nil {
		return false
	}
	return e.Old.ownerID(key) == e.New.selfID && e.Old.ownerID(key) != "" && !e.New.Mine(key)
}

// Handoff lists the slot ranges of the ring this node gained and lost,
// each with the member on the other side (see ring.Handoff): what an
// application hands over or fetches, range by range, instead of key by
// key. It is an error when either ring cannot answer.
func (e *RingChanged) Handoff() (*ring.Handoff, error) {
	cur, err := e.New.built()
	if err != nil {
		return nil, err
	}
	var old *ring.Ring // nil: nothing was owned before
	if e.Old != nil {
		old, _ = e.Old.built()
	}
	return ring.Diff(old, cur, e.New.selfID)
}

// cloneEvent is e with values of its own: every listener and subscriber
// is handed the same event, and one's writes must not reach another.
func cloneEvent(e Event) Event {
	switch e := e.(type) {
	case *MemberUp:
		c := *e
		c.Member = c.Member.clone()
		return &c
	case *MemberDown:
		c := *e
		c.Member = c.Member.clone()
		return &c
	case *ViewChanged:
		c := *e
		c.Old, c.New = c.Old.clone(), c.New.clone()
		return &c
	case *StateChanged:
		c := *e
		c.Snapshot = c.Snapshot.clone()
		return &c
	case *RingChanged:
		c := *e // the rings are immutable
		return &c
	case *DiscoveryFailed:
		c := *e
		return &c
	}
	return e
}

package cloister

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Service is a cluster capability that a node runs beside its own work:
// global names, groups, a leader, metrics, replicated data. It reaches the
// node only through a Host, so it can live in its own package. Attach
// services with Config.Services.
type Service interface {
	// Name names the service in logs, in Stats.Services and on the gossip
	// channel: letters, digits, '-', '_' and '.'; unique per node.
	Name() string
	// Start is called once while the node starts, before it joins anyone,
	// so that the handlers it registers exist before any peer can call
	// them. It must not block; work that lasts runs on goroutines that
	// end when Host.Done closes. An error stops Launch.
	Start(h Host) error
}

// Host is what a node offers the services attached to it. Its methods are
// safe for concurrent use, from Start on.
type Host interface {
	// Self is this node as a member.
	Self() Member
	// Snapshot is the node's current state, view, term and rings.
	Snapshot() Snapshot
	// Listen adds a listener: every state change (the agreed snapshots),
	// and every event if it implements EventListener, in order, on its own
	// goroutine, from the node's very first state on.
	Listen(l Listener)
	// Handle, Call and Cast are Node's: handlers registered in Start exist
	// before the node joins.
	Handle(name string, h Handler) error
	Call(ctx context.Context, to Member, name string, req []byte) ([]byte, error)
	Cast(ctx context.Context, to Member, name string, msg []byte) error
	// Gossip opens the service's gossip channel: broadcast sends a small
	// update (at most MaxBroadcast bytes) to every member by gossip, and
	// the state's Full is carried in every state exchange, which repairs
	// what a broadcast missed. The state's Merge receives both, in order,
	// on one goroutine of the service's. At most once per service.
	Gossip(state GossipState) (broadcast func([]byte) error, err error)
	// Counter returns the service's counter of that name, shown in
	// Stats.Services as "service.name".
	Counter(name string) *atomic.Uint64
	// Logger is the node's logger, tagged with the service's name.
	Logger() *slog.Logger
	// Done is closed once the node has stopped.
	Done() <-chan struct{}
}

// GossipState is a service's state replicated by gossip. Merge must be
// idempotent, commutative and associative (a CRDT: a newer version wins,
// a set only grows, ...): broadcasts arrive in any order, and again in
// state exchanges.
type GossipState interface {
	// Merge applies a broadcast, or a peer's Full. The slice is the
	// service's to keep.
	Merge(data []byte)
	// Full returns the whole local state for a state exchange. It is
	// called on memberlist's goroutines and must not block.
	Full() []byte
}

// serviceHost is the Host of one service.
type serviceHost struct {
	n    *Node
	name string
	log  *slog.Logger
}

func (h *serviceHost) Self() Member       { return h.n.Self() }
func (h *serviceHost) Snapshot() Snapshot { return h.n.Snapshot() }
func (h *serviceHost) Listen(l Listener) {
	h.n.dispatchMu.Lock()
	defer h.n.dispatchMu.Unlock()
	h.n.dispatch = append(h.n.dispatch, newDispatcher(listenerDeliver(l), h.n.cfg.ListenerQueue, &h.n.dropped))
}
func (h *serviceHost) Handle(name string, fn Handler) error { return h.n.Handle(name, fn) }
func (h *serviceHost) Call(ctx context.Context, to Member, name string, req []byte) ([]byte, error) {
	return h.n.Call(ctx, to, name, req)
}
func (h *serviceHost) Cast(ctx context.Context, to Member, name string, msg []byte) error {
	return h.n.Cast(ctx, to, name, msg)
}
func (h *serviceHost) Gossip(state GossipState) (func([]byte) error, error) {
	return h.n.gossip.open(h.name, state)
}
func (h *serviceHost) Counter(name string) *atomic.Uint64 {
	return h.n.counters.get(h.name + "." + name)
}
func (h *serviceHost) Logger() *slog.Logger  { return h.log }
func (h *serviceHost) Done() <-chan struct{} { return h.n.done }

package cloister

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cloister-go/cloister/internal/membership"
)

// MaxBroadcast is the largest update a service may broadcast on its gossip
// channel (Host.Gossip): broadcasts ride single gossip packets. Larger
// state travels in the state exchanges (GossipState.Full).
const MaxBroadcast = membership.MaxBroadcast - 64

// ErrGossip is returned for a gossip channel that cannot be opened or used:
// opened twice, after the node started, or a broadcast too large.
var ErrGossip = errors.New("cloister: gossip channel")

// gossipQueue and gossipQueueBytes bound the updates waiting for one
// service's Merge, in count and in bytes (a full state can be large);
// past them updates are dropped and counted (the next state exchange
// repairs them).
const (
	gossipQueue      = 1024
	gossipQueueBytes = 8 << 20
)

// gossipHub routes the service gossip channel between membership and the
// services: it is membership.ServiceGossip. Every service's updates are
// merged in order on a goroutine of its own, so that a slow Merge never
// stalls gossip.
type gossipHub struct {
	ctx     context.Context
	wg      *sync.WaitGroup
	started atomic.Bool                           // the services have started: no more channels
	ml      atomic.Pointer[membership.Membership] // set once membership runs

	mu       sync.Mutex
	channels map[string]*gossipChannel
	dropped  atomic.Uint64 // updates dropped: full queue, unknown service, unreadable
}

type gossipChannel struct {
	state  GossipState
	queue  chan []byte
	queued atomic.Int64 // bytes in queue
}

// open registers a service's state and starts its merger.
func (g *gossipHub) open(name string, state GossipState) (func([]byte) error, error) {
	if state == nil {
		return nil, fmt.Errorf("%w: %s: nil state", ErrGossip, name)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started.Load() {
		return nil, fmt.Errorf("%w: %s: open it in Service.Start, before the node joins", ErrGossip, name)
	}
	if _, ok := g.channels[name]; ok {
		return nil, fmt.Errorf("%w: %s: opened twice", ErrGossip, name)
	}
	if g.channels == nil {
		g.channels = map[string]*gossipChannel{}
	}
	ch := &gossipChannel{state: state, queue: make(chan []byte, gossipQueue)}
	g.channels[name] = ch
	g.wg.Add(1)
	go g.merge(ch)
	prefix := appendName(nil, name)
	return func(update []byte) error {
		if len(update) > MaxBroadcast {
			return fmt.Errorf("%w: %s: broadcast of %d bytes, limit %d", ErrGossip, name, len(update), MaxBroadcast)
		}
		ml := g.ml.Load()
		if ml == nil {
			return fmt.Errorf("%w: %s: the node has not started", ErrGossip, name)
		}
		return ml.Broadcast(append(append([]byte(nil), prefix...), update...))
	}, nil
}

// any reports whether a service opened its gossip channel.
func (g *gossipHub) any() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.channels) > 0
}

// merge applies one service's updates until the node stops.
func (g *gossipHub) merge(ch *gossipChannel) {
	defer g.wg.Done()
	for {
		select {
		case data := <-ch.queue:
			ch.queued.Add(-int64(len(data)))
			ch.state.Merge(data)
		case <-g.ctx.Done():
			return
		}
	}
}

// deliver queues an update for the named service without blocking.
func (g *gossipHub) deliver(name string, data []byte) {
	g.mu.Lock()
	ch := g.channels[name]
	g.mu.Unlock()
	if ch == nil {
		g.dropped.Add(1) // a service this node does not run
		return
	}
	if ch.queued.Add(int64(len(data))) > gossipQueueBytes {
		ch.queued.Add(-int64(len(data)))
		g.dropped.Add(1)
		return
	}
	select {
	case ch.queue <- data:
	default:
		ch.queued.Add(-int64(len(data)))
		g.dropped.Add(1)
	}
}

// Receive takes a broadcast: name, then the update.
func (g *gossipHub) Receive(payload []byte) {
	name, rest, ok := readName(payload)
	if !ok {
		g.dropped.Add(1)
		return
	}
	g.deliver(name, rest)
}

// LocalState is every service's Full, each as name, length, state.
func (g *gossipHub) LocalState() []byte {
	g.mu.Lock()
	names := make([]string, 0, len(g.channels))
	states := make([]GossipState, 0, len(g.channels))
	for name, ch := range g.channels {
		names, states = append(names, name), append(states, ch.state)
	}
	g.mu.Unlock()
	var out []byte
	for i, s := range states {
		full := s.Full()
		out = appendName(out, names[i])
		out = binary.AppendUvarint(out, uint64(len(full)))
		out = append(out, full...)
	}
	return out
}

// MergeState splits a peer's state among the services.
func (g *gossipHub) MergeState(state []byte) {
	for len(state) > 0 {
		name, rest, ok := readName(state)
		if !ok {
			g.dropped.Add(1)
			return
		}
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			g.dropped.Add(1)
			return
		}
		g.deliver(name, rest[k:k+int(n)])
		state = rest[k+int(n):]
	}
}

// appendName appends a length-prefixed service name.
func appendName(b []byte, name string) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	return append(b, name...)
}

// readName reads a length-prefixed service name of at most 64 bytes.
func readName(b []byte) (name string, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > 64 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// Package telemetry holds one node's instruments and what its dashboard
// shows. The root package feeds it: the node's events (through a
// listener), its calls and handlers (through nil-safe methods), and a
// Source read at scrape time for gauges and for the counters that other
// packages keep (membership, rpc, transport). An exporter reads it all
// with Snapshot: package metrics publishes it on a Prometheus registry
// (docs/metrics.md). This package does not import Prometheus, so that a
// program without metrics does not link it.
//
// Every method is safe on a nil *Metrics and then does nothing, so the
// node calls them unconditionally.
package telemetry

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
	"github.com/cloister-go/cloister/rpc"
	"github.com/cloister-go/cloister/transport"
)

// Status is what a scrape reads from the node.
type Status struct {
	State   core.State
	Quorate bool
	Term    uint64
	// MemberStates holds the state each member of the view advertises,
	// this node included.
	MemberStates  []core.State
	DroppedEvents uint64
	Membership    membership.Stats
	Calls         rpc.Stats
	Transport     transport.NetStats
}

// Source returns the node's status at the time of a scrape.
type Source func() Status

// Metrics is one node's instruments.
type Metrics struct {
	source atomic.Pointer[Source]
	names  handlerNames

	// Counters fed by the node's events (one listener goroutine).
	viewChanges     atomic.Uint64
	memberUps       atomic.Uint64
	discoveryErrors atomic.Uint64
	memberDowns     [4]atomic.Uint64 // by core.Reason (1 to 3)
	transitions     [NumStates][NumStates]atomic.Uint64

	agreement *Histogram

	mu     sync.Mutex
	viewAt time.Time // the last view change not yet followed by Ready

	timeline Timeline

	cacheMu  sync.Mutex
	cacheKey string
	cacheVal any
}

// NumStates is the number of core states, Down to NoQuorum: the states
// are 0 to NumStates-1.
const NumStates = int(core.NoQuorum) + 1

// CallBuckets are the bounds, in seconds, of the call and handler latency
// histograms: 100 µs to 10 s.
var CallBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// AgreementBuckets are the bounds, in seconds, of the view agreement
// histogram: 5 ms to 60 s.
var AgreementBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// New returns a node's instruments, registered nowhere yet.
func New() *Metrics {
	m := &Metrics{agreement: newHistogram(AgreementBuckets)}
	m.names.init()
	m.timeline.init(timelineLen)
	return m
}

// SetSource sets what scrapes read; before it is set, they report only
// the event and call metrics.
func (m *Metrics) SetSource(s Source) {
	if m != nil {
		m.source.Store(&s)
	}
}

// ErrRegistered is what an exporter's error wraps when its registry
// already holds cloister's metrics (of another node, not yet stopped).
var ErrRegistered = errors.New("cloister's metrics are already registered there (another node in this process?)")

// ViewChanged counts a view change and starts timing its agreement.
func (m *Metrics) ViewChanged(at time.Time, members int) {
	if m == nil {
		return
	}
	m.viewChanges.Add(1)
	m.mu.Lock()
	m.viewAt = at
	m.mu.Unlock()
	m.timeline.add(Entry{At: at, Kind: "view", Text: plural(members, "member")})
}

// StateChanged counts a transition; reaching Ready ends the timing of the
// last view change.
func (m *Metrics) StateChanged(at time.Time, from, to core.State, term uint64) {
	if m == nil {
		return
	}
	if int(from) < NumStates && int(to) < NumStates {
		m.transitions[from][to].Add(1)
	}
	if to == core.Ready {
		m.mu.Lock()
		since := m.viewAt
		m.viewAt = time.Time{}
		m.mu.Unlock()
		if !since.IsZero() {
			m.agreement.Observe(at.Sub(since).Seconds())
		}
	}
	m.timeline.add(Entry{At: at, Kind: "state", From: from.String(), To: to.String(), Term: term})
}

// MemberUp counts a member entering the view.
func (m *Metrics) MemberUp(at time.Time, name string) {
	if m == nil {
		return
	}
	m.memberUps.Add(1)
	m.timeline.add(Entry{At: at, Kind: "up", Member: name})
}

// MemberDown counts a member leaving the view, by reason.
func (m *Metrics) MemberDown(at time.Time, name string, reason core.Reason) {
	if m == nil {
		return
	}
	if int(reason) < len(m.memberDowns) {
		m.memberDowns[reason].Add(1)
	}
	m.timeline.add(Entry{At: at, Kind: "down", Member: name, Text: reason.String()})
}

// DiscoveryFailed counts a failed poll of the sentry.
func (m *Metrics) DiscoveryFailed(at time.Time, err string) {
	if m == nil {
		return
	}
	m.discoveryErrors.Add(1)
	m.timeline.add(Entry{At: at, Kind: "discovery", Text: err})
}

// Timeline returns the latest events, oldest first.
func (m *Metrics) Timeline() []Entry {
	if m == nil {
		return nil
	}
	return m.timeline.entries()
}

// Start returns the start time of a call: the zero time when m is nil,
// without reading the clock.
func (m *Metrics) Start() time.Time {
	if m == nil {
		return time.Time{}
	}
	return time.Now()
}

// CallDone records an outgoing call to handler name that started at start.
func (m *Metrics) CallDone(name string, start time.Time, err error) {
	if m == nil {
		return
	}
	s := m.names.slot(name)
	s.callDur.Observe(time.Since(start).Seconds())
	s.calls.Add(1)
	if err != nil {
		s.callErrors.Add(1)
	}
}

// Counted records an outgoing call whose own duration is not known (one
// member's reply to a Multicall).
func (m *Metrics) Counted(name string, err error) {
	if m == nil {
		return
	}
	s := m.names.slot(name)
	s.calls.Add(1)
	if err != nil {
		s.callErrors.Add(1)
	}
}

// CastDone records an outgoing cast to handler name.
func (m *Metrics) CastDone(name string, err error) {
	if m == nil {
		return
	}
	s := m.names.slot(name)
	s.casts.Add(1)
	if err != nil {
		s.castErrors.Add(1)
	}
}

// Handler wraps h, registered under name, to time it and count its
// errors; with m nil it returns h.
func (m *Metrics) Handler(name string, h rpc.Handler) rpc.Handler {
	if m == nil || h == nil {
		return h
	}
	return func(ctx context.Context, req rpc.Request) ([]byte, error) {
		start := time.Now()
		body, err := h(ctx, req)
		s := m.names.slot(name)
		s.handleDur.Observe(time.Since(start).Seconds())
		s.served.Add(1)
		if err != nil {
			s.servedErrors.Add(1)
		}
		return body, err
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// Cached returns the value cached under key, or build's result, which it
// caches instead (one entry: the dashboard's picture of the current ring).
func (m *Metrics) Cached(key string, build func() any) any {
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	if m.cacheKey != key || m.cacheVal == nil {
		m.cacheKey, m.cacheVal = key, build()
	}
	return m.cacheVal
}

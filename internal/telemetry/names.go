package telemetry

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// MaxHandlerNames bounds the handler label: the first MaxHandlerNames
// names a node calls, casts to or serves get series of their own; every
// later name is counted under OtherHandler.
const MaxHandlerNames = 64

// OtherHandler is the handler label of names beyond MaxHandlerNames.
const OtherHandler = "other"

// handlerSlot is the instruments of one handler name.
type handlerSlot struct {
	name      string
	callDur   *Histogram // CallBuckets
	handleDur *Histogram // CallBuckets

	calls, callErrors    atomic.Uint64
	casts, castErrors    atomic.Uint64
	served, servedErrors atomic.Uint64
}

// handlerNames maps names to slots. Lookups read an immutable map without
// locking or allocating; a new name copies it (at most MaxHandlerNames
// times in a node's life).
type handlerNames struct {
	table atomic.Pointer[map[string]*handlerSlot]
	full  atomic.Bool
	other *handlerSlot
	mu    sync.Mutex // serialises additions
}

func (t *handlerNames) init() {
	t.other = t.newSlot(OtherHandler)
	empty := map[string]*handlerSlot{}
	t.table.Store(&empty)
}

func (t *handlerNames) newSlot(name string) *handlerSlot {
	return &handlerSlot{
		name:      name,
		callDur:   newHistogram(CallBuckets),
		handleDur: newHistogram(CallBuckets),
	}
}

// slot returns name's slot, or the OtherHandler slot once the table is
// full.
func (t *handlerNames) slot(name string) *handlerSlot {
	if s, ok := (*t.table.Load())[name]; ok {
		return s
	}
	if name == OtherHandler || t.full.Load() {
		return t.other
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.table.Load()
	if s, ok := old[name]; ok {
		return s
	}
	if len(old) >= MaxHandlerNames {
		t.full.Store(true)
		return t.other
	}
	s := t.newSlot(name)
	next := maps.Clone(old)
	next[name] = s
	t.table.Store(&next)
	return s
}

// all returns every slot, sorted by name, OtherHandler last.
func (t *handlerNames) all() []*handlerSlot {
	table := *t.table.Load()
	out := make([]*handlerSlot, 0, len(table)+1)
	for _, s := range table {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *handlerSlot) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return append(out, t.other)
}

// HandlerCounts are one handler name's totals since the node started.
type HandlerCounts struct {
	Name         string `json:"name"`
	Calls        uint64 `json:"calls"`
	CallErrors   uint64 `json:"call_errors"`
	Casts        uint64 `json:"casts"`
	CastErrors   uint64 `json:"cast_errors"`
	Served       uint64 `json:"served"`
	ServedErrors uint64 `json:"served_errors"`
}

// Handlers returns the totals of every handler name used so far
// (OtherHandler only when it counted something).
func (m *Metrics) Handlers() []HandlerCounts {
	if m == nil {
		return nil
	}
	out := []HandlerCounts{} // JSON [] rather than null
	for _, s := range m.names.all() {
		c := s.counts()
		if s == m.names.other && c == (HandlerCounts{Name: OtherHandler}) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func (s *handlerSlot) counts() HandlerCounts {
	return HandlerCounts{
		Name:         s.name,
		Calls:        s.calls.Load(),
		CallErrors:   s.callErrors.Load(),
		Casts:        s.casts.Load(),
		CastErrors:   s.castErrors.Load(),
		Served:       s.served.Load(),
		ServedErrors: s.servedErrors.Load(),
	}
}

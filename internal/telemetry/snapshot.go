package telemetry

// Snapshot is the value of every instrument of a node at one scrape, for
// an exporter.
type Snapshot struct {
	// Counted from the node's events.
	ViewChanges     uint64
	MemberUps       uint64
	DiscoveryErrors uint64
	// MemberDowns is indexed by core.Reason (Failed, Left, Replaced).
	MemberDowns [4]uint64
	// Transitions[from][to] counts the changes from state from to state
	// to.
	Transitions [NumStates][NumStates]uint64
	// Agreement is the time from a view change to Ready, in seconds
	// (AgreementBuckets).
	Agreement HistogramValue
	// Handlers holds every handler name used so far, sorted, then
	// OtherHandler (always, even when it counted nothing).
	Handlers []HandlerSnapshot
	// Status is the source's answer; nil before SetSource.
	Status *Status
}

// HandlerSnapshot is one handler name's counters and latencies.
type HandlerSnapshot struct {
	HandlerCounts
	// CallDuration is the duration of the calls this node made to the
	// handler, HandleDuration that of this node's handler serving calls
	// and casts; in seconds (CallBuckets).
	CallDuration, HandleDuration HistogramValue
}

// Snapshot reads every instrument, and the source when it is set. A nil
// Metrics reads as zero.
func (m *Metrics) Snapshot() Snapshot {
	if m == nil {
		return Snapshot{}
	}
	s := Snapshot{
		ViewChanges:     m.viewChanges.Load(),
		MemberUps:       m.memberUps.Load(),
		DiscoveryErrors: m.discoveryErrors.Load(),
		Agreement:       m.agreement.Value(),
	}
	for r := range m.memberDowns {
		s.MemberDowns[r] = m.memberDowns[r].Load()
	}
	for from := range m.transitions {
		for to := range m.transitions[from] {
			s.Transitions[from][to] = m.transitions[from][to].Load()
		}
	}
	slots := m.names.all()
	s.Handlers = make([]HandlerSnapshot, len(slots))
	for i, h := range slots {
		s.Handlers[i] = HandlerSnapshot{HandlerCounts: h.counts(), CallDuration: h.callDur.Value(), HandleDuration: h.handleDur.Value()}
	}
	if src := m.source.Load(); src != nil {
		st := (*src)()
		s.Status = &st
	}
	return s
}

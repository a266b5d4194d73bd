package cloister

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/cloister-go/cloister/internal/telemetry"
	"github.com/cloister-go/cloister/transport"
)

// Metrics and the dashboard (docs/metrics.md).
//
// With Config.Metrics set, the node hands its instruments to that exporter
// when it launches (metrics.Prometheus registers a collector, cloister_*,
// on a registry) and ends the export when it stops; Handler serves the
// exporter's handler at /metrics. With Config.Metrics or Config.Dashboard
// set, Handler serves a live, read-only dashboard at /dashboard/. The node
// keeps the instruments in a *telemetry.Metrics whose methods are no-ops
// on nil, so the call paths below cost nothing more than a nil check when
// both are off. This package does not import Prometheus: only package
// metrics does.

// MetricsExporter publishes a node's metrics: set Config.Metrics to one.
// metrics.Prometheus (package github.com/cloister-go/cloister/metrics)
// makes one for a Prometheus registry. Its method takes a type internal
// to this module, so only this module's packages implement it.
type MetricsExporter interface {
	// ExportMetrics starts publishing m, the node's instruments (each
	// scrape reads them with m.Snapshot). It returns the handler of GET
	// /metrics, and stop, which the node calls when it stops. An error
	// makes the node's launch fail with a *ConfigError for Metrics.
	ExportMetrics(m *telemetry.Metrics) (serve http.Handler, stop func(), err error)
}

// MaxHandlerLabels bounds the handler label of the call metrics: the first
// MaxHandlerLabels handler names a node calls, casts to or serves have
// series of their own, later ones are counted as "other".
const MaxHandlerLabels = telemetry.MaxHandlerNames

// dashboardRingCells is how many arcs the dashboard draws the ring as.
const dashboardRingCells = 360

// nodeTelemetry is what newTelemetry made.
type nodeTelemetry struct {
	m     *telemetry.Metrics // nil when metrics and the dashboard are off
	serve http.Handler       // GET /metrics; nil without Config.Metrics
	stop  func()             // ends the export; never nil
}

// newTelemetry makes the node's instruments when cfg asks for metrics or the
// dashboard, hands them to cfg.Metrics, and adds the listener that feeds
// them to cfg.Listeners (without writing to the caller's slice).
func newTelemetry(cfg *Config) (nodeTelemetry, error) {
	t := nodeTelemetry{stop: func() {}}
	if cfg.Metrics == nil && !cfg.Dashboard {
		return t, nil
	}
	t.m = telemetry.New()
	if cfg.Metrics != nil {
		serve, stop, err := cfg.Metrics.ExportMetrics(t.m)
		if err != nil {
			reason := "cannot register the metrics"
			if errors.Is(err, telemetry.ErrRegistered) {
				reason = "already holds cloister's metrics (of another node in this process: wrap it with prometheus.WrapRegistererWith and a node label)"
			}
			return nodeTelemetry{}, &ConfigError{Field: "Metrics", Reason: reason, Err: err}
		}
		t.serve = serve
		if stop != nil {
			t.stop = stop
		}
	}
	cfg.Listeners = append(slices.Clip(cfg.Listeners), telemetryListener{t.m})
	return t, nil
}

// attachTelemetry lets scrapes read the node.
func (n *Node) attachTelemetry(t nodeTelemetry) {
	n.metricsHandler, n.stopMetrics = t.serve, t.stop
	m := t.m
	if m == nil {
		return
	}
	n.tel = m
	m.SetSource(func() telemetry.Status {
		s := n.Snapshot()
		st := telemetry.Status{
			State:         s.State,
			Quorate:       s.Quorate,
			Term:          s.Term,
			MemberStates:  make([]State, len(s.View.Members)),
			DroppedEvents: n.dropped.Load(),
			Membership:    n.ml.Stats(),
			Calls:         n.calls.Stats(),
		}
		for i, mb := range s.View.Members {
			st.MemberStates[i] = mb.State
		}
		if ts, ok := n.tr.(interface{ Stats() transport.NetStats }); ok {
			st.Transport = ts.Stats()
		}
		return st
	})
}

// telemetryListener feeds a node's events to its instruments, on the
// listener goroutine the node owns.
type telemetryListener struct{ m *telemetry.Metrics }

func (telemetryListener) OnStateChange(from, to State, s Snapshot) {} // OnEvent has them

func (l telemetryListener) OnEvent(e Event) {
	now := time.Now()
	switch e := e.(type) {
	case *StateChanged:
		l.m.StateChanged(now, e.From, e.To, e.Snapshot.Term)
	case *ViewChanged:
		l.m.ViewChanged(now, len(e.New.Members))
	case *MemberUp:
		l.m.MemberUp(now, e.Member.Name)
	case *MemberDown:
		l.m.MemberDown(now, e.Member.Name, e.Reason)
	case *DiscoveryFailed:
		msg := "discovery failed"
		if e.Err != nil {
			msg = e.Err.Error()
		}
		l.m.DiscoveryFailed(now, msg)
	}
}

// mountTelemetry adds /metrics and /dashboard/ to the node's handler when
// they are enabled.
func (n *Node) mountTelemetry(mux *http.ServeMux) {
	if n.tel == nil {
		return
	}
	if n.metricsHandler != nil {
		mux.Handle("GET /metrics", n.metricsHandler)
	}
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		// Relative, so that the page also works under a prefix
		// (http.StripPrefix).
		w.Header().Set("Location", "dashboard/")
		w.WriteHeader(http.StatusMovedPermanently)
	})
	mux.Handle("GET /dashboard/", telemetry.DashboardHandler("/dashboard", n.dashboardState))
}

// dashboardState is what the dashboard shows.
func (n *Node) dashboardState() telemetry.DashboardState {
	s := n.Snapshot()
	d := telemetry.DashboardState{
		Now:       time.Now(),
		Self:      s.Self.Name,
		State:     s.StateName,
		Quorate:   s.Quorate,
		Term:      s.Term,
		ViewID:    hex64(uint64(s.View.ID)),
		Epoch:     s.View.Epoch,
		Consensus: n.cfg.Consensus,
		Members:   make([]telemetry.DashboardMember, len(s.View.Members)),
		Timeline:  n.tel.Timeline(),
		Handlers:  n.tel.Handlers(),
	}
	pic, shares := n.ringPicture(s)
	d.Ring = pic
	for i, m := range s.View.Members {
		d.Members[i] = telemetry.DashboardMember{
			Name: m.Name, ID: m.ID, Addr: m.Addr.String(), State: m.StateName, Term: m.Term,
			ViewID: hex64(uint64(m.ViewID)), Self: m.ID == s.Self.ID, Agrees: m.ViewID == s.View.ID,
		}
		if d.Members[i].Self {
			// The view holds this node as last advertised, which lags.
			d.Members[i].State, d.Members[i].Term, d.Members[i].ViewID, d.Members[i].Agrees = s.StateName, s.Term, hex64(uint64(s.View.ID)), true
		}
		if shares != nil {
			d.Members[i].Share = shares[i]
		}
	}
	return d
}

// ringPicture returns the default ring's ownership, cells indexing the
// members of s.View, and each member's share of the slots; nil when the
// ring cannot answer. It is computed once per view.
func (n *Node) ringPicture(s Snapshot) (*telemetry.RingPicture, []float64) {
	r := s.Ring(DefaultRing)
	t, err := r.built()
	if err != nil {
		return nil, nil
	}
	key := strconv.FormatUint(uint64(s.View.ID), 16) + "/" + strconv.FormatUint(s.View.Epoch, 10)
	c := n.tel.Cached(key, func() any {
		index := make(map[string]int, len(s.View.Members))
		for i, m := range s.View.Members {
			index[m.ID] = i
		}
		slots := t.Slots()
		owned := make([]int, len(s.View.Members))
		cells := make([]int, dashboardRingCells)
		counts := make([]int, len(s.View.Members))
		for c := range cells {
			clear(counts)
			for slot := c * slots / len(cells); slot < (c+1)*slots/len(cells); slot++ {
				o, err := t.SlotOwner(slot)
				if err != nil {
					return nil
				}
				i := index[o.ID]
				owned[i]++
				counts[i]++
			}
			cells[c] = indexOfMax(counts)
		}
		shares := make([]float64, len(owned))
		for i, o := range owned {
			shares[i] = float64(o) / float64(slots)
		}
		return ringCache{pic: &telemetry.RingPicture{Name: DefaultRing, Slots: slots, Cells: cells}, shares: shares}
	})
	rc, ok := c.(ringCache)
	if !ok {
		return nil, nil
	}
	return rc.pic, rc.shares
}

type ringCache struct {
	pic    *telemetry.RingPicture
	shares []float64
}

func indexOfMax(xs []int) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func hex64(v uint64) string {
	s := strconv.FormatUint(v, 16)
	return "0000000000000000"[len(s):] + s
}

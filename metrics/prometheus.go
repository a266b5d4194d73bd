package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloister-go/cloister/internal/telemetry"
)

// Exporter publishes the metrics of the node whose Config.Metrics holds
// it on a Prometheus registry. Make one with Prometheus.
type Exporter struct {
	reg prometheus.Registerer
}

// Prometheus returns an exporter for Config.Metrics that publishes the
// node's metrics (cloister_*, docs/metrics.md) on reg from the node's
// launch until it stops: the node registers one collector there, and
// unregisters it, so that a node started later in the same process can
// register again. The node's Handler serves /metrics: reg itself when it
// is a prometheus.Gatherer (a *prometheus.Registry is), so the
// application's metrics come along; otherwise cloister's metrics alone.
//
// A registry holds the metrics of one node at a time: give each node of
// one process its own registry, or wrap a shared one,
// prometheus.WrapRegistererWith(prometheus.Labels{"node": name}, shared).
// The second node's launch on the same registry fails with a
// *cloister.ConfigError for Metrics.
func Prometheus(reg prometheus.Registerer) *Exporter {
	return &Exporter{reg: reg}
}

// errNoRegistry is ExportMetrics' error for Prometheus(nil).
var errNoRegistry = errors.New("metrics.Prometheus(nil): no registry")

// ExportMetrics registers m's collector on the registry and returns the
// handler of /metrics and the function that unregisters it. The node
// calls it; its argument's type is internal to this module.
func (e *Exporter) ExportMetrics(m *telemetry.Metrics) (serve http.Handler, stop func(), err error) {
	if e == nil || e.reg == nil {
		return nil, nil, errNoRegistry
	}
	c := collector{m}
	if err := e.reg.Register(c); err != nil {
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			return nil, nil, fmt.Errorf("%w: %w", telemetry.ErrRegistered, err)
		}
		return nil, nil, err
	}
	g, ok := e.reg.(prometheus.Gatherer)
	if !ok {
		// Serve cloister's metrics alone.
		own := prometheus.NewRegistry()
		own.MustRegister(c)
		g = own
	}
	serve = promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	var once sync.Once
	return serve, func() { once.Do(func() { e.reg.Unregister(c) }) }, nil
}

// Package metrics publishes a cloister node's metrics on a Prometheus
// registry:
//
//	reg := prometheus.NewRegistry()
//	cfg.Metrics = metrics.Prometheus(reg) // cloister_* metrics, and the dashboard
//	node, err := cloister.Launch(ctx, cfg)
//	...
//	http.ListenAndServe(":8080", node.Handler()) // /metrics, /dashboard/, /healthz, ...
//
// The metrics, what they replace from memberlist and Serf, and alerts to
// start from are in docs/metrics.md.
//
// They live in a package of their own so that a program that does not
// ask for them does not link Prometheus's client: its package
// initialisers cost every process that links it about 4 ms at start.
// The node keeps its instruments itself (atomic counters and histograms,
// read at each scrape); its dashboard, which Config.Dashboard turns on
// alone, needs neither this package nor Prometheus.
package metrics

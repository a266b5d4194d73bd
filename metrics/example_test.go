package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/metrics"
)

// A node publishes its metrics on the application's registry, and its
// Handler serves them, with the application's, at /metrics.
func Example() {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_requests_total", Help: "Requests served."})
	reg.MustRegister(requests)

	cfg := cloister.LocalConfig()
	cfg.Metrics = metrics.Prometheus(reg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := cloister.Start(ctx, cfg) // a single-node cluster, Ready at once
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)
	requests.Inc()

	rec := httptest.NewRecorder()
	node.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		for _, name := range []string{"app_requests_total ", "cloister_quorate ", `cloister_members{state="ready"} `} {
			if strings.HasPrefix(line, name) {
				fmt.Print(line)
			}
		}
	}
	// Output:
	// app_requests_total 1
	// cloister_members{state="ready"} 1
	// cloister_quorate 1
}

package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloister-go/cloister/internal/telemetry"
)

// get returns the body of a GET of h.
func get(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d: %s", rec.Code, rec.Body)
	}
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// export publishes m on reg, until the test ends.
func export(t *testing.T, reg prometheus.Registerer, m *telemetry.Metrics) http.Handler {
	t.Helper()
	serve, stop, err := Prometheus(reg).ExportMetrics(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return serve
}

// timed matches the samples whose values depend on the clock: the
// buckets and sums of the call and handler durations.
var timed = regexp.MustCompile(`(?m)^(cloister_(call|handler)_duration_seconds_(bucket|sum)\{[^}]*\}) .*$`)

// The exposition is the one the collector wrote when it was part of
// internal/telemetry, before this package: testdata/exposition.txt was
// written by that code, fed by feed, with the timed samples' values
// replaced by X. Names, help, types, labels and values are unchanged.
func TestExpositionAsBefore(t *testing.T) {
	want, err := os.ReadFile("testdata/exposition.txt")
	if err != nil {
		t.Fatal(err)
	}
	m := telemetry.New()
	feed(m)
	got := timed.ReplaceAllString(get(t, export(t, prometheus.NewPedanticRegistry(), m)), "$1 X")
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("%d lines, want %d", len(gl), len(wl))
}

// The exposition passes promtool's checks, when promtool is installed.
func TestExpositionPromtool(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (apt-get install prometheus)")
	}
	m := telemetry.New()
	feed(m)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "metrics")
	cmd.Stdin = strings.NewReader(get(t, export(t, prometheus.NewRegistry(), m)))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
}

// A registry holds one node's metrics at a time, and stop gives the place
// back.
func TestRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, stop, err := Prometheus(reg).ExportMetrics(telemetry.New())
	if err != nil {
		t.Fatal(err)
	}
	b := telemetry.New()
	if _, _, err := Prometheus(reg).ExportMetrics(b); !errors.Is(err, telemetry.ErrRegistered) {
		t.Fatalf("second export: %v, want ErrRegistered", err)
	} else if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
		t.Fatalf("second export: %v, want it to wrap prometheus.AlreadyRegisteredError", err)
	}
	stop()
	stop() // once is enough
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Fatalf("after stop the registry holds %d families (%v), want none", len(mfs), err)
	}
	export(t, reg, b)
}

// /metrics serves the whole registry when it is a Gatherer, else
// cloister's metrics alone.
func TestServe(t *testing.T) {
	app := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_requests_total", Help: "The application's."})
	reg := prometheus.NewRegistry()
	reg.MustRegister(app)
	body := get(t, export(t, reg, telemetry.New()))
	if !strings.Contains(body, "app_requests_total 0") || !strings.Contains(body, "cloister_view_changes_total 0") {
		t.Errorf("/metrics of a registry:\n%s", body)
	}

	shared := prometheus.NewRegistry()
	shared.MustRegister(app)
	body = get(t, export(t, prometheus.WrapRegistererWith(prometheus.Labels{"node": "x"}, shared), telemetry.New()))
	if strings.Contains(body, "app_requests_total") || !strings.Contains(body, "cloister_view_changes_total 0") {
		t.Errorf("/metrics of a wrapped registry, not a Gatherer:\n%s", body)
	}
	if body := get(t, promhttp.HandlerFor(shared, promhttp.HandlerOpts{})); !strings.Contains(body, `cloister_view_changes_total{node="x"} 0`) {
		t.Errorf("the shared registry:\n%s", body)
	}
}

// Without a registry, the export fails rather than publishing nowhere.
func TestNoRegistry(t *testing.T) {
	if _, _, err := Prometheus(nil).ExportMetrics(telemetry.New()); err == nil {
		t.Error("Prometheus(nil) exported")
	}
	var e *Exporter
	if _, _, err := e.ExportMetrics(telemetry.New()); err == nil {
		t.Error("a nil *Exporter exported")
	}
}

package cloister_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/metrics"
)

// metricsCluster starts n nodes, each with metrics on its own registry.
func metricsCluster(t *testing.T, n int) *cloistertest.Cluster {
	t.Helper()
	return cloistertest.New(t, n, cloistertest.WithConfig(func(i int, c *cloister.Config) {
		c.Metrics = metrics.Prometheus(prometheus.NewRegistry())
	}))
}

// scrape fetches url, failing the test on an error or a status other than 200.
func scrape(t *testing.T, url string) string {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d: %s", url, code, body)
	}
	return body
}

// status returns the status code of a GET of url.
func status(t *testing.T, url string) int {
	t.Helper()
	code, _ := get(t, url)
	return code
}

// get fetches url within 5 s, failing the test when it cannot.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// sample returns the value of the series written exactly as series (name
// and labels) in a text exposition, and whether it is there.
func sample(exposition, series string) (float64, bool) {
	for line := range strings.Lines(exposition) {
		rest, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

func wantSample(t *testing.T, exposition, series string, ok func(float64) bool, want string) {
	t.Helper()
	v, found := sample(exposition, series)
	if !found {
		t.Errorf("no %s in the exposition", series)
	} else if !ok(v) {
		t.Errorf("%s = %v, want %s", series, v, want)
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
func atLeast(min float64) func(float64) bool {
	return func(v float64) bool { return v >= min }
}

// A 3-node cluster with metrics on: node 0's /metrics shows the cluster,
// the calls between nodes, and a killed node counted as failed.
func TestMetricsEndToEnd(t *testing.T) {
	c := metricsCluster(t, 3)
	if err := c.Node(0).Handle("echo", func(ctx context.Context, from cloister.Member, b []byte) ([]byte, error) {
		if string(b) == "fail" {
			return nil, errors.New("asked to fail")
		}
		return b, nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, body := range []string{"a", "b", "fail"} {
		_, _ = c.Node(1).Call(ctx, c.Node(0).Self(), "echo", []byte(body))
	}
	if err := c.Node(1).Cast(context.Background(), c.Node(0).Self(), "echo", []byte("cast")); err != nil {
		t.Fatal(err)
	}

	srv0 := httptest.NewServer(c.Node(0).Handler())
	defer srv0.Close()
	srv1 := httptest.NewServer(c.Node(1).Handler())
	defer srv1.Close()

	m1 := scrape(t, srv1.URL+"/metrics")
	wantSample(t, m1, `cloister_calls_total{handler="echo"}`, eq(3), "3")
	wantSample(t, m1, `cloister_call_errors_total{handler="echo"}`, eq(1), "1")
	wantSample(t, m1, `cloister_call_duration_seconds_count{handler="echo"}`, eq(3), "3")
	wantSample(t, m1, `cloister_casts_total{handler="echo"}`, eq(1), "1")

	var m0 string
	// Members' states reach node 0 by gossip, a little after they change.
	c.WaitFor("node 0 to count the served calls and the cast, and 3 ready members", func() bool {
		m0 = scrape(t, srv0.URL+"/metrics")
		served, _ := sample(m0, `cloister_handled_total{handler="echo"}`)
		ready, _ := sample(m0, `cloister_members{state="ready"}`)
		return served == 4 && ready == 3
	})
	wantSample(t, m0, `cloister_handler_errors_total{handler="echo"}`, eq(1), "1")
	wantSample(t, m0, `cloister_handler_duration_seconds_count{handler="echo"}`, eq(4), "4")
	wantSample(t, m0, `cloister_state{state="ready"}`, eq(1), "1")
	wantSample(t, m0, `cloister_state{state="rehashing"}`, eq(0), "0")
	wantSample(t, m0, `cloister_quorate`, eq(1), "1")
	wantSample(t, m0, `cloister_term`, atLeast(1), "at least 1")
	wantSample(t, m0, `cloister_view_changes_total`, atLeast(1), "at least 1")
	wantSample(t, m0, `cloister_view_agreement_seconds_count`, atLeast(1), "at least 1")
	wantSample(t, m0, `cloister_member_up_total`, atLeast(2), "at least 2")
	wantSample(t, m0, `cloister_member_down_total{reason="failed"}`, eq(0), "0")
	wantSample(t, m0, `cloister_gossip_packets_total{direction="sent"}`, atLeast(1), "at least 1")
	wantSample(t, m0, `cloister_gossip_bytes_total{direction="received"}`, atLeast(1), "at least 1")
	wantSample(t, m0, `cloister_health_score`, atLeast(0), "a number")
	wantSample(t, m0, `cloister_confirmation_pings_total{event="acked"}`, atLeast(0), "a number")
	wantSample(t, m0, `cloister_confirmation_ack_lateness_seconds_count`, atLeast(0), "a number")
	wantSample(t, m0, `cloister_gossip_streams_refused_total{reason="auth_failed"}`, eq(0), "0")
	// A forming cluster's last node to hold the full view finds every
	// other member's acceptance there already, and goes from Assembling
	// to Ready at once; the others go through Rehashing.
	fromRehashing, _ := sample(m0, `cloister_state_transitions_total{from="rehashing",to="ready"}`)
	fromAssembling, _ := sample(m0, `cloister_state_transitions_total{from="assembling",to="ready"}`)
	if fromRehashing+fromAssembling < 1 {
		t.Errorf("cloister_state_transitions_total to ready: %v from rehashing, %v from assembling, want at least 1 in all", fromRehashing, fromAssembling)
	}
	if t.Failed() {
		t.Fatalf("exposition of node 0:\n%s", m0)
	}
	promtoolCheck(t, m0)

	// A crash is counted as a failure, and the view shrinks.
	term, _ := sample(m0, "cloister_term")
	c.Kill(2)
	c.WaitFor("node 0's metrics to count node 2 as failed", func() bool {
		m0 = scrape(t, srv0.URL+"/metrics")
		failed, _ := sample(m0, `cloister_member_down_total{reason="failed"}`)
		ready, _ := sample(m0, `cloister_members{state="ready"}`)
		now, _ := sample(m0, "cloister_term")
		return failed == 1 && ready == 2 && now > term
	})
	wantSample(t, m0, `cloister_quorate`, eq(1), "1 (two of three keep quorum)")
	wantSample(t, m0, `cloister_state_transitions_total{from="ready",to="rehashing"}`, atLeast(1), "at least 1")
}

// promtoolCheck runs `promtool check metrics` on an exposition, when
// promtool is installed (Debian package prometheus).
func promtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not on PATH (apt-get install prometheus): exposition not linted")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
	t.Logf("promtool check metrics: ok %s", strings.TrimSpace(out.String()))
}

// The exposition passes promtool's checks (which include its lint).
func TestMetricsPromtool(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool not on PATH: install the Debian package prometheus (apt-get install prometheus)")
	}
	c := metricsCluster(t, 1)
	srv := httptest.NewServer(c.Node(0).Handler())
	defer srv.Close()
	promtoolCheck(t, scrape(t, srv.URL+"/metrics"))
}

// One registry cannot hold two nodes' metrics, and a stopped node gives
// its place back.
func TestMetricsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := cloister.LocalConfig()
	cfg.Metrics = metrics.Prometheus(reg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := cloister.Launch(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cloister.Launch(ctx, cfg)
	var ce *cloister.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Metrics" {
		t.Fatalf("second node on the same registry: %v, want a ConfigError for Metrics", err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Fatalf("after Stop the registry holds %d families (%v), want none", len(mfs), err)
	}
	b, err := cloister.Launch(ctx, cfg)
	if err != nil {
		t.Fatalf("a node after the first stopped: %v", err)
	}
	defer b.Stop(ctx)

	// A shared registry, wrapped with a label per node, holds both; the
	// wrapper is not a Gatherer, so /metrics serves cloister's own.
	shared := prometheus.NewRegistry()
	var x *cloister.Node
	for _, name := range []string{"x", "y"} {
		c := cloister.LocalConfig()
		c.Metrics = metrics.Prometheus(prometheus.WrapRegistererWith(prometheus.Labels{"node": name}, shared))
		n, err := cloister.Launch(ctx, c)
		if err != nil {
			t.Fatalf("node %s on a wrapped registry: %v", name, err)
		}
		defer n.Stop(ctx)
		if x == nil {
			x = n
		}
	}
	if err := x.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	if m := scrape(t, srv.URL+"/metrics"); !strings.Contains(m, `cloister_state{state="ready"} 1`) {
		t.Fatalf("/metrics of a node on a wrapped registry:\n%s", m)
	}
	mfs, err := shared.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "cloister_quorate" && len(mf.GetMetric()) != 2 {
			t.Fatalf("shared registry: %d cloister_quorate series, want one per node", len(mf.GetMetric()))
		}
	}
}

// Without Metrics and Dashboard, the handler serves neither.
func TestMetricsOff(t *testing.T) {
	c := cloistertest.New(t, 1)
	srv := httptest.NewServer(c.Node(0).Handler())
	defer srv.Close()
	for _, path := range []string{"/metrics", "/dashboard/", "/dashboard/state"} {
		if code := status(t, srv.URL+path); code != http.StatusNotFound {
			t.Errorf("GET %s with metrics off: %d, want 404", path, code)
		}
	}
}

package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/rpc"
)

func gather(t *testing.T, m *Metrics) map[string][]map[string]string {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	defer m.Unregister()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]string{}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case metric.GetCounter() != nil:
				labels["value"] = fmt.Sprint(metric.GetCounter().GetValue())
			case metric.GetGauge() != nil:
				labels["value"] = fmt.Sprint(metric.GetGauge().GetValue())
			case metric.GetHistogram() != nil:
				labels["count"] = fmt.Sprint(metric.GetHistogram().GetSampleCount())
				labels["sum"] = fmt.Sprint(metric.GetHistogram().GetSampleSum())
			}
			out[mf.GetName()] = append(out[mf.GetName()], labels)
		}
	}
	return out
}

func value(series []map[string]string, label, is, key string) string {
	for _, s := range series {
		if s[label] == is {
			return s[key]
		}
	}
	return ""
}

// The handler label takes at most MaxHandlerNames names; the rest are
// counted under "other", not dropped.
func TestHandlerNamesBounded(t *testing.T) {
	m := New()
	for i := range 100 {
		m.CallDone(fmt.Sprintf("h%03d", i), time.Now(), nil)
	}
	m.CallDone("h000", time.Now(), errors.New("x"))
	got := gather(t, m)
	calls := got["cloister_calls_total"]
	if len(calls) != MaxHandlerNames+1 {
		t.Fatalf("%d handler series, want %d names and other", len(calls), MaxHandlerNames)
	}
	if v := value(calls, "handler", OtherHandler, "value"); v != "36" {
		t.Errorf("other counted %s calls, want 36", v)
	}
	if v := value(calls, "handler", "h000", "value"); v != "2" {
		t.Errorf("h000 counted %s calls, want 2", v)
	}
	if v := value(got["cloister_call_errors_total"], "handler", "h000", "value"); v != "1" {
		t.Errorf("h000 counted %s errors, want 1", v)
	}
	if v := value(got["cloister_call_duration_seconds"], "handler", OtherHandler, "count"); v != "36" {
		t.Errorf("other's histogram counted %s, want 36", v)
	}
	if n := len(got["cloister_call_duration_seconds"]); n != MaxHandlerNames+1 {
		t.Errorf("%d histogram series, want %d", n, MaxHandlerNames+1)
	}
	// The dashboard's totals list the same names.
	if hs := m.Handlers(); len(hs) != MaxHandlerNames+1 || hs[len(hs)-1].Name != OtherHandler {
		t.Errorf("Handlers: %d entries, last %q", len(hs), hs[len(hs)-1].Name)
	}
}

// A wrapped handler is timed and its errors counted; a nil Metrics changes
// nothing.
func TestHandlerWrap(t *testing.T) {
	var nilM *Metrics
	h := func(ctx context.Context, req rpc.Request) ([]byte, error) { return nil, errors.New("no") }
	if _, err := nilM.Handler("x", h)(context.Background(), rpc.Request{}); err == nil {
		t.Fatal("nil Metrics changed the handler")
	}
	nilM.CallDone("x", nilM.Start(), nil) // no panic
	nilM.StateChanged(time.Now(), core.Ready, core.Rehashing, 1)
	nilM.Unregister()

	m := New()
	w := m.Handler("x", h)
	for range 3 {
		_, _ = w(context.Background(), rpc.Request{})
	}
	got := gather(t, m)
	if v := value(got["cloister_handled_total"], "handler", "x", "value"); v != "3" {
		t.Errorf("handled %s, want 3", v)
	}
	if v := value(got["cloister_handler_errors_total"], "handler", "x", "value"); v != "3" {
		t.Errorf("handler errors %s, want 3", v)
	}
	if v := value(got["cloister_handler_duration_seconds"], "handler", "x", "count"); v != "3" {
		t.Errorf("handler histogram counted %s, want 3", v)
	}
}

// Agreement is timed from the last view change to Ready; transitions and
// departures are counted by label.
func TestEvents(t *testing.T) {
	m := New()
	t0 := time.Unix(1000, 0)
	m.StateChanged(t0, core.Down, core.Assembling, 0)
	m.ViewChanged(t0, 2)
	m.ViewChanged(t0.Add(10*time.Millisecond), 3)
	m.StateChanged(t0.Add(20*time.Millisecond), core.Assembling, core.Rehashing, 0)
	m.StateChanged(t0.Add(60*time.Millisecond), core.Rehashing, core.Ready, 1)
	m.StateChanged(t0.Add(70*time.Millisecond), core.Ready, core.Rehashing, 1)
	m.StateChanged(t0.Add(80*time.Millisecond), core.Rehashing, core.Ready, 1) // no view change: not timed
	m.MemberDown(t0, "a", core.Failed)
	m.MemberDown(t0, "b", core.Left)
	m.MemberDown(t0, "c", core.Failed)
	got := gather(t, m)
	h := got["cloister_view_agreement_seconds"][0]
	if h["count"] != "1" || h["sum"] != "0.05" {
		t.Errorf("agreement histogram: %v, want one observation of 0.05", h)
	}
	if v := value(got["cloister_member_down_total"], "reason", "failed", "value"); v != "2" {
		t.Errorf("failed %s, want 2", v)
	}
	if v := value(got["cloister_member_down_total"], "reason", "replaced", "value"); v != "0" {
		t.Errorf("replaced %s, want 0", v)
	}
	n := 0
	for _, s := range got["cloister_state_transitions_total"] {
		n++
		if s["from"] == "rehashing" && s["to"] == "ready" && s["value"] != "2" {
			t.Errorf("rehashing->ready counted %s, want 2", s["value"])
		}
	}
	if n != 4 {
		t.Errorf("%d transition series, want the 4 that happened", n)
	}
	// Without a source, no gauge is made up.
	if _, ok := got["cloister_quorate"]; ok {
		t.Error("cloister_quorate without a source")
	}
}

// The gauges read the source at each scrape.
func TestSource(t *testing.T) {
	m := New()
	m.SetSource(func() Status {
		return Status{State: core.NoQuorum, Term: 7, MemberStates: []core.State{core.NoQuorum, core.Ready, core.Ready}}
	})
	got := gather(t, m)
	if v := value(got["cloister_state"], "state", "noquorum", "value"); v != "1" {
		t.Errorf("state noquorum = %s", v)
	}
	if v := value(got["cloister_state"], "state", "ready", "value"); v != "0" {
		t.Errorf("state ready = %s", v)
	}
	if v := value(got["cloister_members"], "state", "ready", "value"); v != "2" {
		t.Errorf("ready members = %s", v)
	}
	if v := got["cloister_quorate"][0]["value"]; v != "0" {
		t.Errorf("quorate = %s", v)
	}
	if v := got["cloister_term"][0]["value"]; v != "7" {
		t.Errorf("term = %s", v)
	}
}

// Registering twice on one registry fails with ErrRegistered.
func TestRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := New(), New()
	if err := a.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(reg); !errors.Is(err, ErrRegistered) {
		t.Fatalf("second registration: %v, want ErrRegistered", err)
	}
	a.Unregister()
	if err := b.Register(reg); err != nil {
		t.Fatalf("after Unregister: %v", err)
	}
}

// The timeline keeps the latest entries, oldest first.
func TestTimeline(t *testing.T) {
	m := New()
	for i := range timelineLen + 5 {
		m.MemberUp(time.Unix(int64(i), 0), fmt.Sprint(i))
	}
	es := m.Timeline()
	if len(es) != timelineLen || es[0].Member != "5" || es[len(es)-1].Member != fmt.Sprint(timelineLen+4) {
		t.Fatalf("timeline of %d from %s to %s", len(es), es[0].Member, es[len(es)-1].Member)
	}
	if !strings.Contains(plural(3, "member"), "3 members") || plural(1, "member") != "1 member" {
		t.Error("plural")
	}
}

// What metrics add to one call, on both sides: the caller's timing and
// counting, and the wrapped handler's (docs/benchmarks.md).
func BenchmarkCallInstrumentation(b *testing.B) {
	m := New()
	h := m.Handler("echo", func(ctx context.Context, req rpc.Request) ([]byte, error) { return nil, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		start := m.Start()
		_, err := h(ctx, rpc.Request{})
		m.CallDone("echo", start, err)
	}
}

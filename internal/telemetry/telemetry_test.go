package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/rpc"
)

// handler returns name's entry in s.
func handler(t *testing.T, s Snapshot, name string) HandlerSnapshot {
	t.Helper()
	for _, h := range s.Handlers {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no handler %q in the snapshot", name)
	return HandlerSnapshot{}
}

// The handler label takes at most MaxHandlerNames names; the rest are
// counted under "other", not dropped.
func TestHandlerNamesBounded(t *testing.T) {
	m := New()
	for i := range 100 {
		m.CallDone(fmt.Sprintf("h%03d", i), time.Now(), nil)
	}
	m.CallDone("h000", time.Now(), errors.New("x"))
	got := m.Snapshot()
	if len(got.Handlers) != MaxHandlerNames+1 || got.Handlers[MaxHandlerNames].Name != OtherHandler {
		t.Fatalf("%d handlers, want %d names and other last", len(got.Handlers), MaxHandlerNames)
	}
	if h := handler(t, got, OtherHandler); h.Calls != 36 || h.CallDuration.Count != 36 {
		t.Errorf("other counted %d calls, its histogram %d; want 36", h.Calls, h.CallDuration.Count)
	}
	if h := handler(t, got, "h000"); h.Calls != 2 || h.CallErrors != 1 || h.CallDuration.Count != 2 {
		t.Errorf("h000 counted %d calls, %d errors, %d in its histogram; want 2, 1, 2", h.Calls, h.CallErrors, h.CallDuration.Count)
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
	if s := nilM.Snapshot(); s.Handlers != nil || s.Status != nil {
		t.Errorf("nil Metrics' snapshot: %+v", s)
	}

	m := New()
	w := m.Handler("x", h)
	for range 3 {
		_, _ = w(context.Background(), rpc.Request{})
	}
	if h := handler(t, m.Snapshot(), "x"); h.Served != 3 || h.ServedErrors != 3 || h.HandleDuration.Count != 3 || h.CallDuration.Count != 0 {
		t.Errorf("served %d, errors %d, handler histogram %d, call histogram %d; want 3, 3, 3, 0",
			h.Served, h.ServedErrors, h.HandleDuration.Count, h.CallDuration.Count)
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
	got := m.Snapshot()
	if h := got.Agreement; h.Count != 1 || h.Sum != 0.05 {
		t.Errorf("agreement histogram: %+v, want one observation of 0.05", h)
	}
	if got.ViewChanges != 2 {
		t.Errorf("%d view changes, want 2", got.ViewChanges)
	}
	if d := got.MemberDowns; d[core.Failed] != 2 || d[core.Left] != 1 || d[core.Replaced] != 0 {
		t.Errorf("member downs failed %d, left %d, replaced %d; want 2, 1, 0", d[core.Failed], d[core.Left], d[core.Replaced])
	}
	if v := got.Transitions[core.Rehashing][core.Ready]; v != 2 {
		t.Errorf("rehashing->ready counted %d, want 2", v)
	}
	n := 0
	for from := range got.Transitions {
		for to := range got.Transitions[from] {
			if got.Transitions[from][to] > 0 {
				n++
			}
		}
	}
	if n != 4 {
		t.Errorf("%d transitions counted, want the 4 that happened", n)
	}
	// Without a source, there is no status.
	if got.Status != nil {
		t.Errorf("a status without a source: %+v", got.Status)
	}
}

// The snapshot reads the source each time.
func TestSource(t *testing.T) {
	m := New()
	term := uint64(7)
	m.SetSource(func() Status {
		term++
		return Status{State: core.NoQuorum, Term: term}
	})
	for want := uint64(8); want < 10; want++ {
		if st := m.Snapshot().Status; st == nil || st.State != core.NoQuorum || st.Term != want {
			t.Fatalf("status %+v, want noquorum in term %d", st, want)
		}
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

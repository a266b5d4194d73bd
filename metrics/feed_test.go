package metrics

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
	"github.com/cloister-go/cloister/internal/telemetry"
	"github.com/cloister-go/cloister/rpc"
)

// feed gives m a known history (events, calls, casts, a handler) and a
// source whose every counter holds a number of its own.
func feed(m *telemetry.Metrics) {
	t0 := time.Unix(1000, 0)
	m.StateChanged(t0, core.Down, core.Assembling, 0)
	m.ViewChanged(t0, 3)
	m.MemberUp(t0, "a")
	m.MemberUp(t0, "b")
	m.StateChanged(t0.Add(30*time.Millisecond), core.Assembling, core.Ready, 1)
	m.ViewChanged(t0.Add(time.Second), 2)
	m.MemberDown(t0.Add(time.Second), "b", core.Failed)
	m.StateChanged(t0.Add(time.Second), core.Ready, core.Rehashing, 1)
	m.StateChanged(t0.Add(1200*time.Millisecond), core.Rehashing, core.Ready, 2)
	m.MemberDown(t0, "c", core.Left)
	m.MemberDown(t0, "d", core.Replaced)
	m.MemberDown(t0, "e", core.Failed)
	m.StateChanged(t0.Add(2*time.Second), core.Ready, core.NoQuorum, 2)
	m.DiscoveryFailed(t0, "no answer")

	fail := errors.New("fail")
	m.CallDone("echo", m.Start(), nil)
	m.CallDone("echo", m.Start(), fail)
	m.Counted("echo", nil)
	m.Counted("sum", fail)
	m.CastDone("ping", nil)
	m.CastDone("ping", fail)
	h := m.Handler("echo", func(ctx context.Context, req rpc.Request) ([]byte, error) {
		if string(req.Body) == "fail" {
			return nil, fail
		}
		return req.Body, nil
	})
	for _, body := range []string{"a", "b", "fail"} {
		_, _ = h(context.Background(), rpc.Request{Name: "echo", Body: []byte(body)})
	}

	st := telemetry.Status{
		State:         core.NoQuorum,
		Term:          2,
		MemberStates:  []core.State{core.NoQuorum, core.Ready, core.Ready, core.Rehashing},
		DroppedEvents: 5,
	}
	n := int64(100)
	number(reflect.ValueOf(&st.Membership).Elem(), &n)
	number(reflect.ValueOf(&st.Calls).Elem(), &n)
	number(reflect.ValueOf(&st.Transport).Elem(), &n)
	st.Membership.AckLateness = membership.Lateness{
		Bounds: []time.Duration{100 * time.Millisecond, time.Second},
		Counts: []uint64{2, 3, 4},
		Sum:    30 * time.Second,
	}
	m.SetSource(func() telemetry.Status { return st })
}

// number gives every integer field of the struct v the next number.
func number(v reflect.Value, n *int64) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case !f.CanSet():
		case f.CanInt():
			f.SetInt(*n)
		case f.CanUint():
			f.SetUint(uint64(*n))
		case f.Kind() == reflect.Struct:
			number(f, n)
			continue
		default:
			continue
		}
		*n++
	}
}

package membership

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// recordingServices is a ServiceGossip that keeps what it is handed.
type recordingServices struct {
	mu       sync.Mutex
	received [][]byte
	merged   [][]byte
	state    []byte
}

func (r *recordingServices) Receive(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received = append(r.received, p)
}
func (r *recordingServices) LocalState() []byte { return r.state }
func (r *recordingServices) MergeState(s []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.merged = append(r.merged, s)
}

func TestServiceChannelDelegate(t *testing.T) {
	svc := &recordingServices{state: []byte("state")}
	d := func() *delegate { d := newDelegate(newQueue(), "a"); d.services = svc; return d }()
	msg := []byte{serviceKind, 'h', 'i'}
	d.NotifyMsg(msg)
	msg[1] = 'X' // the service keeps a copy
	if len(svc.received) != 1 || string(svc.received[0]) != "hi" {
		t.Fatalf("received %q", svc.received)
	}
	if d.badAdverts.Load() != 0 || len(d.q.drain()) != 0 {
		t.Fatal("a service broadcast was taken for an advert")
	}
	if got := d.LocalState(false); !bytes.Equal(got, []byte("state")) {
		t.Fatalf("LocalState = %q", got)
	}
	svc.state = make([]byte, MaxServiceState+1)
	if got := d.LocalState(true); got != nil || d.oversizedStates.Load() != 1 {
		t.Fatalf("an oversized state was sent (%d bytes)", len(got))
	}
	remote := []byte("peer")
	d.MergeRemoteState(remote, false)
	remote[0] = 'X'
	if len(svc.merged) != 1 || string(svc.merged[0]) != "peer" {
		t.Fatalf("merged %q", svc.merged)
	}
	// Without services the channel is inert.
	bare := newDelegate(newQueue(), "a")
	bare.NotifyMsg([]byte{serviceKind, 1})
	if bare.LocalState(true) != nil || bare.GetBroadcasts(0, 1400) != nil {
		t.Fatal("a node without services answered for them")
	}
}

func TestBroadcastLimits(t *testing.T) {
	a, _ := startMember(t, "a", Local())
	if err := a.Broadcast(make([]byte, MaxBroadcast+1)); !errors.Is(err, ErrBroadcastTooLarge) {
		t.Fatalf("oversized broadcast: %v", err)
	}
	if err := a.Broadcast([]byte("x")); err == nil {
		t.Fatal("a broadcast without a service channel was accepted")
	}
}

package cloister

import (
	"context"
	"sync"
	"testing"
)

// blockedState never merges until released.
type blockedState struct{ release chan struct{} }

func (b blockedState) Merge([]byte) { <-b.release }
func (b blockedState) Full() []byte { return nil }

// A service that does not keep up holds a bounded number of bytes of
// updates: past the bound they are dropped and counted.
func TestGossipQueueIsBoundedInBytes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	g := &gossipHub{ctx: ctx, wg: &wg}
	state := blockedState{release: make(chan struct{})}
	if _, err := g.open("s", state); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20)
	for range 64 {
		g.MergeState(append(appendName(nil, "s"), append([]byte{0x80, 0x80, 0x40}, big...)...))
	}
	ch := g.channels["s"]
	if q := ch.queued.Load(); q > gossipQueueBytes+int64(len(big)) {
		t.Fatalf("%d bytes queued, bound %d", q, gossipQueueBytes)
	}
	if g.dropped.Load() == 0 {
		t.Fatal("nothing was dropped past the bound")
	}
	close(state.release)
	cancel()
	wg.Wait()
}

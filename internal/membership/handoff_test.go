package membership

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stalledGossip is a service channel whose first Receive waits for
// release: memberlist's handler, which runs it, stalls meanwhile.
type stalledGossip struct {
	release  chan struct{}
	once     sync.Once
	received atomic.Int64
}

func (g *stalledGossip) Receive([]byte) {
	g.once.Do(func() { <-g.release })
	g.received.Add(1)
}
func (g *stalledGossip) LocalState() []byte { return nil }
func (g *stalledGossip) MergeState([]byte)  {}

// While a member's handler is busy, 3,000 messages that wait for it (the
// queue suspicions wait in) are all kept: memberlist's default of 1,024
// dropped the rest, and a suspicion dropped is never refuted.
func TestHandlerQueueHoldsABurst(t *testing.T) {
	const burst = 3000
	a, _ := startMember(t, "a", silentProfile())
	g := &stalledGossip{release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(g.release)
		}
	}
	t.Cleanup(release)
	b, bAddr := startMemberWith(t, "b", silentProfile(), func(c *Config) { c.Services = g })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Join(ctx, []netip.AddrPort{bAddr}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a holds b alive", 10*time.Second, func() bool { return a.Alive("b") })
	before := b.tr.packetsIn.Load()
	to := Member{ID: "b", Addr: bAddr}
	for i := range burst {
		a.sendTo(to, []byte{serviceKind, byte(i)})
		if i%100 == 99 {
			// Paced a little, so the loopback socket's buffer keeps up:
			// the queue, not the socket, is under test.
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(t, "the burst received", 10*time.Second, func() bool { return b.tr.packetsIn.Load()-before >= burst*9/10 })
	arrived := b.tr.packetsIn.Load() - before
	if n := b.Stats().HandlerQueueFull; n != 0 {
		t.Fatalf("%d of %d messages dropped from the handler queue", n, arrived)
	}
	release()
	waitFor(t, "every message handled", 10*time.Second, func() bool { return uint64(g.received.Load()) >= arrived })
}

package membership

import (
	"testing"
	"time"
)

// Issue #12, item 6: SetMetaAndWait does not hold the gossip lock while it
// waits for memberlist's broadcast, so other metadata updates (the
// publisher's, the deferred gossip timer's) never wait for it.
func TestSetMetaAndWaitHoldsNoLockWhileWaiting(t *testing.T) {
	p := WAN() // 500 ms gossip: the broadcast takes seconds to go out
	a, b, _, ctx := startPair(t, p)
	waited := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		_ = b.SetMetaAndWait([]byte("b1"), 5*time.Second)
		waited <- time.Since(start)
	}()
	// The direct copy reaches a before b waits for the broadcast.
	for seen := false; !seen; {
		for _, e := range a.Drain() {
			seen = seen || e.Member.ID == "b" && string(e.Member.Meta) == "b1"
		}
		if seen {
			break
		}
		select {
		case <-a.Signal():
		case <-ctx.Done():
			t.Fatal("a never got b1")
		}
	}
	start := time.Now()
	if err := b.GossipMeta([]byte("b2")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Errorf("GossipMeta waited %v for a SetMetaAndWait in progress", took)
	}
	select {
	case <-waited:
	case <-ctx.Done():
		t.Fatal("SetMetaAndWait never returned")
	}
}

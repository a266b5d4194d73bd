package membership

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkDirectAdvert sends one member's advert straight to another over
// loopback, the same encrypted advert each time, until the receiver has
// read each one: as a side datagram, and as the memberlist user message a
// member from before them gets. An op is one advert sent, sealed, read,
// opened and taken by the receiver's delegate.
func BenchmarkDirectAdvert(b *testing.B) {
	for _, c := range []struct {
		name   string
		before bool
	}{{"side", false}, {"memberlist", true}} {
		b.Run(c.name, func(b *testing.B) {
			a, r, _, _ := startAlivePair(b, silentProfile(), func(cfg *Config) { cfg.beforeSide = c.before })
			var to Member
			for _, p := range a.d.peers() {
				to = p
			}
			if to.side == c.before {
				b.Fatalf("r reads side datagrams: %v, want %v", to.side, !c.before)
			}
			msg := encodeAdvert("a", []byte("a-meta-of-a-typical-size-0123456789012345678901234567890123456789"))
			taken := func() uint64 { return r.d.dupAdverts.Load() }
			a.sendTo(to, msg) // queued once; every later copy is a repeat
			waitFor(b, "the first copy", 10*time.Second, func() bool { return len(r.q.drain()) > 0 })
			const window = 64 // copies in flight: the loopback socket drops beyond its buffer
			b.ReportAllocs()
			b.ResetTimer()
			start := taken()
			// waitTaken polls until want copies are taken; a copy the
			// loopback socket lost fails the run rather than hanging it.
			waitTaken := func(want uint64) {
				deadline := time.Now().Add(10 * time.Second)
				for taken()-start < want {
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d copies taken", taken()-start, want)
					}
					time.Sleep(10 * time.Microsecond)
				}
			}
			for i := range b.N {
				if i >= window {
					waitTaken(uint64(i - window + 1))
				}
				a.sendTo(to, msg)
			}
			waitTaken(uint64(b.N))
		})
	}
}

// BenchmarkConfirmPing is one confirmation ping and its ack over loopback,
// from a member with downs queued for gossip (as after a kill, when every
// member confirms): a side ping, and memberlist's ping, which a member
// from before side pings gets and which walks the broadcast queues to
// piggyback gossip on every ping.
func BenchmarkConfirmPing(b *testing.B) {
	for _, c := range []struct {
		name   string
		before bool
	}{{"side", false}, {"memberlist", true}} {
		b.Run(c.name, func(b *testing.B) {
			a, _, rAddr, _ := startAlivePair(b, pingProfile(), func(cfg *Config) { cfg.beforePings = c.before })
			waitFor(b, "a knows what r answers", 10*time.Second, func() bool {
				peers := a.d.peers()
				return len(peers) == 1 && peers[0].pings != c.before
			})
			ids := make([]string, maxQueuedDowns)
			for i := range ids {
				ids[i] = fmt.Sprintf("bench@198.18.%d.%d:7946#%016x", i/250, i%250+1, i)
			}
			a.GossipDown(ids)
			to := Member{ID: "b", Addr: rAddr}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if !a.Ping(context.Background(), to, 1) {
					b.Fatal("r did not answer")
				}
			}
		})
	}
}

package membership

import (
	"context"
	"net/netip"
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
			a, _ := startMember(b, "a", silentProfile())
			r, rAddr := startMemberWith(b, "r", silentProfile(), func(cfg *Config) { cfg.beforeSide = c.before })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := a.Join(ctx, []netip.AddrPort{rAddr}); err != nil {
				b.Fatal(err)
			}
			waitFor(b, "both alive", 10*time.Second, func() bool { return a.Alive("r") && r.Alive("a") })
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

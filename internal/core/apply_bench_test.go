package core

import (
	"fmt"
	"net/netip"
	"testing"
)

// benchMember is a member named and identified as cloister names them
// (host:port, then the incarnation in hex), so that comparing two of them
// costs what it costs in a real view.
func benchMember(i int) Member {
	name := fmt.Sprintf("app@198.18.%d.%d:4747", i/250, i%250)
	return Member{
		ID:          fmt.Sprintf("%s#18ee83a6%08x", name, i),
		Name:        name,
		Addr:        netip.MustParseAddrPort(fmt.Sprintf("198.18.%d.%d:4747", i/250, i%250)),
		Incarnation: 1,
		Weight:      1,
	}
}

// readyCore returns a core Ready at term 1 on a view of n members, and the
// other members as they advertise that view.
func readyCore(b *testing.B, n int) (*Core, []Member) {
	b.Helper()
	others := make([]Member, n-1)
	for i := range others {
		others[i] = benchMember(i + 1)
	}
	c := started(benchMember(0), n)
	in := make([]Input, len(others))
	for i, m := range others {
		in[i] = Input{Kind: Alive, Member: m}
	}
	c.Apply(in)
	v := c.View().ID
	for i := range others {
		others[i] = agreeing(others[i], v, 1)
		others[i].AdvertSeq = 1
		in[i] = Input{Kind: Alive, Member: others[i]}
	}
	c.Apply(in)
	if c.State() != Ready {
		b.Fatalf("state %v, want ready", c.State())
	}
	return c, others
}

// BenchmarkAdvertBatch is what the node loop asks of the core for one
// batch of three members' adverts that change no view: apply them, then
// read the advert and whether the node serves, as the snapshot does. The
// loop drains a batch every N²×200 ns (200 ms at 1,000 members), so this
// is paid up to five times a second by every member of a large cluster.
func BenchmarkAdvertBatch(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("ready/N=%d", n), func(b *testing.B) {
			c, others := readyCore(b, n)
			benchBatches(b, c, others)
		})
		b.Run(fmt.Sprintf("rehashing/N=%d", n), func(b *testing.B) {
			c, others := readyCore(b, n)
			// A member failed: the rest advertise the new view, one
			// of them not yet, so the view stays unagreed and every
			// batch is evaluated against the reference and the
			// pending acceptance.
			c.Leave(others[len(others)-1].ID, Failed)
			others = others[:len(others)-1]
			v := c.View().ID
			for i := range others[1:] {
				others[i+1] = agreeing(others[i+1], v, 2)
			}
			in := make([]Input, len(others)-1)
			for i, m := range others[1:] {
				in[i] = Input{Kind: Alive, Member: m}
			}
			c.Apply(in)
			if c.State() != Rehashing {
				b.Fatalf("state %v, want rehashing", c.State())
			}
			benchBatches(b, c, others[1:])
		})
	}
}

func benchBatches(b *testing.B, c *Core, others []Member) {
	in := make([]Input, 3)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for k := range in {
			m := &others[i%len(others)]
			m.AdvertSeq++
			in[k] = Input{Kind: Alive, Member: *m}
			i++
		}
		c.Apply(in)
		_ = c.Advert()
		_ = c.Serving()
	}
}

package memnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

func TestPartitionCutsPacketsAndStreams(t *testing.T) {
	n := newNetwork(t, 1)
	a, b, c := listen(t, n, addr(1)), listen(t, n, addr(2)), listen(t, n, addr(3))
	ab, ba := pair(t, a, b)
	n.Partition([]netip.AddrPort{a.Addr(), c.Addr()}, []netip.AddrPort{b.Addr()})

	// Datagrams across the cut are dropped both ways; within a group they flow.
	a.WritePacket([]byte("a->b"), b.Addr())
	b.WritePacket([]byte("b->a"), a.Addr())
	a.WritePacket([]byte("a->c"), c.Addr())
	if p := recvPacket(t, c); string(p.Data) != "a->c" {
		t.Fatalf("got %q", p.Data)
	}
	noPacket(t, b)
	noPacket(t, a)
	if s := n.Stats(); s.DroppedFault != 2 {
		t.Fatalf("stats %+v, want 2 dropped by fault", s)
	}

	// Stream bytes across the cut are held, in order, both ways.
	var want []byte
	for i := range 50 {
		msg := fmt.Appendf(nil, "msg %d;", i)
		want = append(want, msg...)
		if _, err := ab.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	ba.Write([]byte("reply"))
	noBytes(t, ba)
	noBytes(t, ab)

	n.Heal()
	if got := readN(t, ba, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("after Heal got %q, want %q", got, want)
	}
	if got := readN(t, ab, 5); string(got) != "reply" {
		t.Fatalf("after Heal got %q", got)
	}
	a.WritePacket([]byte("healed"), b.Addr())
	if p := recvPacket(t, b); string(p.Data) != "healed" {
		t.Fatalf("got %q", p.Data)
	}
}

func TestPartitionUnnamedIsCut(t *testing.T) {
	n := newNetwork(t, 1)
	a, b, c := listen(t, n, addr(1)), listen(t, n, addr(2)), listen(t, n, addr(3))
	n.Partition([]netip.AddrPort{a.Addr(), b.Addr()})
	a.WritePacket([]byte("in group"), b.Addr())
	recvPacket(t, b)
	a.WritePacket([]byte("to unnamed"), c.Addr())
	c.WritePacket([]byte("from unnamed"), b.Addr())
	noPacket(t, c)
	noPacket(t, b)
	// A new partition replaces the old one.
	n.Partition([]netip.AddrPort{a.Addr(), c.Addr()}, []netip.AddrPort{b.Addr()})
	a.WritePacket([]byte("now grouped"), c.Addr())
	recvPacket(t, c)
	a.WritePacket([]byte("now cut"), b.Addr())
	noPacket(t, b)
}

func TestPartitionCloseHeldEOF(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	ab, ba := pair(t, a, b)
	n.Partition([]netip.AddrPort{a.Addr()}, []netip.AddrPort{b.Addr()})
	ab.Write([]byte("last words"))
	ab.Close()
	noBytes(t, ba) // neither the bytes nor the EOF cross the cut
	n.Heal()
	ba.SetReadDeadline(time.Now().Add(wait))
	got, err := readAll(ba)
	if err != nil || string(got) != "last words" {
		t.Fatalf("got %q, %v; want the held bytes then EOF", got, err)
	}
}

func readAll(c net.Conn) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(c)
	return b.Bytes(), err
}

func TestBlockOneWay(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	ab, ba := pair(t, a, b)
	n.Block(a.Addr(), b.Addr())

	a.WritePacket([]byte("blocked"), b.Addr())
	b.WritePacket([]byte("open"), a.Addr())
	if p := recvPacket(t, a); string(p.Data) != "open" {
		t.Fatalf("got %q", p.Data)
	}
	noPacket(t, b)

	ab.Write([]byte("held"))
	ba.Write([]byte("flows"))
	if got := readN(t, ab, 5); string(got) != "flows" {
		t.Fatalf("got %q", got)
	}
	noBytes(t, ba)

	// A dial needs both directions.
	for _, d := range []struct{ from, to transport.Transport }{{a, b}, {b, a}} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		_, err := d.from.Dial(ctx, d.to.Addr(), transport.KindCall)
		cancel()
		if !isTimeout(err) {
			t.Fatalf("Dial %s -> %s across a one-way block: %v, want a timeout", d.from.Addr(), d.to.Addr(), err)
		}
	}

	n.Unblock(a.Addr(), b.Addr())
	if got := readN(t, ba, 4); string(got) != "held" {
		t.Fatalf("got %q after Unblock", got)
	}
	a.WritePacket([]byte("unblocked"), b.Addr())
	recvPacket(t, b)
}

func TestIsolate(t *testing.T) {
	n := newNetwork(t, 1)
	a, b, c := listen(t, n, addr(1)), listen(t, n, addr(2)), listen(t, n, addr(3))
	ab, ba := pair(t, a, b)
	n.Isolate(a.Addr())
	a.WritePacket([]byte("out"), b.Addr())
	c.WritePacket([]byte("in"), a.Addr())
	b.WritePacket([]byte("others"), c.Addr())
	if p := recvPacket(t, c); string(p.Data) != "others" {
		t.Fatalf("got %q", p.Data)
	}
	noPacket(t, b)
	noPacket(t, a)
	ab.Write([]byte("x"))
	noBytes(t, ba)
	a.WritePacket([]byte("self"), a.Addr()) // an address always reaches itself
	recvPacket(t, a)

	n.Rejoin(a.Addr())
	readN(t, ba, 1)
	a.WritePacket([]byte("back"), b.Addr())
	recvPacket(t, b)

	n.Isolate(a.Addr())
	n.Heal()
	a.WritePacket([]byte("healed"), b.Addr())
	recvPacket(t, b)
}

func TestPauseStreams(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	ab, ba := pair(t, a, b)
	n.Pause(b.Addr())
	ab.Write([]byte("to the paused"))
	ba.Write([]byte("from the paused"))
	noBytes(t, ba)
	noBytes(t, ab)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	_, err := a.Dial(ctx, b.Addr(), transport.KindCall)
	cancel()
	if !isTimeout(err) {
		t.Fatalf("Dial to a paused node: %v, want a timeout", err)
	}
	n.Unpause(b.Addr())
	if got := readN(t, ba, 13); string(got) != "to the paused" {
		t.Fatalf("got %q", got)
	}
	if got := readN(t, ab, 15); string(got) != "from the paused" {
		t.Fatalf("got %q", got)
	}
}

func TestPauseHoldsDelivered(t *testing.T) {
	// Bytes that had arrived before the pause are not readable during it:
	// the paused process reads nothing.
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	ab, ba := pair(t, a, b)
	ab.Write([]byte("early"))
	n.Pause(b.Addr())
	noBytes(t, ba)
	n.Unpause(b.Addr())
	if got := readN(t, ba, 5); string(got) != "early" {
		t.Fatalf("got %q", got)
	}
}

// TestChaos runs datagrams and streams on five transports while faults
// change at random, then heals and checks that the network still works
// and that nothing stays blocked.
func TestChaos(t *testing.T) {
	n := newNetwork(t, 99)
	const nodes = 5
	var trs []transport.Transport
	var addrs []netip.AddrPort
	for i := range nodes {
		tr := listen(t, n, addr(i+1))
		trs = append(trs, tr)
		addrs = append(addrs, tr.Addr())
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for i, tr := range trs {
		// Receivers: datagrams, and streams echoed back.
		wg.Go(func() {
			for {
				select {
				case <-tr.Packets():
				case c := <-tr.Streams(transport.KindCall):
					wg.Go(func() {
						defer c.Close()
						buf := make([]byte, 4096)
						for !stopped() {
							c.SetDeadline(time.Now().Add(20 * time.Millisecond))
							k, err := c.Read(buf)
							if errors.Is(err, net.ErrClosed) || err != nil && !isTimeout(err) {
								return
							}
							if _, err := c.Write(buf[:k]); err != nil && !isTimeout(err) {
								return
							}
						}
					})
				case <-stop:
					return
				}
			}
		})
		// Senders.
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 0))
			payload := make([]byte, 512)
			for !stopped() {
				to := addrs[rng.IntN(nodes)]
				if err := tr.WritePacket(payload[:rng.IntN(len(payload))], to); err != nil {
					t.Errorf("WritePacket: %v", err)
					return
				}
				if rng.IntN(20) != 0 {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				c, err := tr.Dial(ctx, to, transport.KindCall)
				cancel()
				if err != nil {
					if !isTimeout(err) && !errors.Is(err, syscall.ECONNREFUSED) {
						t.Errorf("Dial: %v", err)
					}
					continue
				}
				c.SetDeadline(time.Now().Add(20 * time.Millisecond))
				c.Write(payload[:rng.IntN(len(payload))])
				c.Read(payload)
				c.Close()
			}
		})
	}
	// Faults.
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		pick := func() netip.AddrPort { return addrs[rng.IntN(nodes)] }
		for !stopped() {
			switch rng.IntN(9) {
			case 0:
				k := rng.IntN(nodes)
				n.Partition(addrs[:k], addrs[k:])
			case 1:
				n.Heal()
			case 2:
				n.Block(pick(), pick())
			case 3:
				n.Unblock(pick(), pick())
			case 4:
				n.Isolate(pick())
			case 5:
				n.Loss(pick(), rng.Float64())
			case 6:
				n.Delay(pick(), time.Duration(rng.IntN(5))*time.Millisecond, time.Millisecond)
			case 7:
				n.Pause(pick())
			case 8:
				n.Unpause(pick())
			}
			select {
			case <-stop:
			case <-time.After(time.Millisecond):
			}
		}
	})
	time.Sleep(300 * time.Millisecond) // the length of the run, not a wait for a condition
	close(stop)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(wait):
		t.Fatal("traffic did not stop after the run: something is stuck")
	}
	n.Heal()
	drain(trs[1])
	trs[0].WritePacket([]byte("after"), addrs[1])
	recvPacket(t, trs[1])
	c, s := pair(t, trs[2], trs[3])
	c.Write([]byte("still works"))
	readN(t, s, 11)
	if st := n.Stats(); st.Delivered == 0 || st.Dialled == 0 {
		t.Fatalf("stats %+v: no traffic got through", st)
	}
	t.Logf("stats %+v", n.Stats())
}

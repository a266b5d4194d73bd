package memnet

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

func TestPacketRoundTrip(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	before := time.Now()
	if err := a.WritePacket([]byte("ping"), b.Addr()); err != nil {
		t.Fatal(err)
	}
	p := recvPacket(t, b)
	if string(p.Data) != "ping" || p.From != a.Addr() || p.At.Before(before) {
		t.Fatalf("got %q from %s at %v, want ping from %s after %v", p.Data, p.From, p.At, a.Addr(), before)
	}
	if err := b.WritePacket([]byte("pong"), p.From); err != nil {
		t.Fatal(err)
	}
	if p := recvPacket(t, a); string(p.Data) != "pong" || p.From != b.Addr() {
		t.Fatalf("got %q from %s, want pong from %s", p.Data, p.From, b.Addr())
	}
	if s := n.Stats(); s.Sent != 2 || s.Delivered != 2 {
		t.Fatalf("stats %+v, want 2 sent and delivered", s)
	}
}

func TestPacketMappedAddress(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	mapped := netip.AddrPortFrom(netip.AddrFrom16(b.Addr().Addr().As16()), b.Addr().Port())
	if err := a.WritePacket([]byte("x"), mapped); err != nil {
		t.Fatal(err)
	}
	recvPacket(t, b)
}

func TestPacketTooLarge(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	err := a.WritePacket(make([]byte, transport.MaxPacketSize+1), b.Addr())
	if !errors.Is(err, transport.ErrPacketTooLarge) {
		t.Fatalf("err = %v, want ErrPacketTooLarge", err)
	}
	if err := a.WritePacket(make([]byte, transport.MaxPacketSize), b.Addr()); err != nil {
		t.Fatalf("largest datagram: %v", err)
	}
	if p := recvPacket(t, b); len(p.Data) != transport.MaxPacketSize {
		t.Fatalf("got %d bytes, want %d", len(p.Data), transport.MaxPacketSize)
	}
}

func TestPacketCopiesBuffer(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Delay(b.Addr(), 5*time.Millisecond, 0) // the copy must outlive the call in both paths
	buf := []byte("first")
	if err := a.WritePacket(buf, b.Addr()); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	n.Delay(b.Addr(), 0, 0)
	buf2 := []byte("second")
	if err := a.WritePacket(buf2, b.Addr()); err != nil {
		t.Fatal(err)
	}
	copy(buf2, "YYYYYY")
	got := map[string]bool{}
	for range 2 {
		got[string(recvPacket(t, b).Data)] = true
	}
	if !got["first"] || !got["second"] {
		t.Fatalf("got %v, want first and second unchanged by the sender reusing its buffers", got)
	}
}

func TestPacketNoListener(t *testing.T) {
	n := newNetwork(t, 1)
	a := listen(t, n, addr(1))
	if err := a.WritePacket([]byte("x"), addr(9)); err != nil {
		t.Fatalf("WritePacket to nobody: %v, want silent drop", err)
	}
	if s := n.Stats(); s.DroppedNoListener != 1 {
		t.Fatalf("stats %+v, want 1 dropped with no listener", s)
	}
}

func TestPacketQueueFull(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	const extra = 76
	for i := range PacketQueue + extra {
		if err := a.WritePacket([]byte{byte(i)}, b.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	s := n.Stats()
	if s.Delivered != PacketQueue || s.DroppedFull != extra {
		t.Fatalf("stats %+v, want %d delivered and %d dropped by a full queue", s, PacketQueue, extra)
	}
	if got := len(drain(b)); got != PacketQueue {
		t.Fatalf("%d datagrams queued, want %d", got, PacketQueue)
	}
	// The queue has room again.
	if err := a.WritePacket([]byte("again"), b.Addr()); err != nil {
		t.Fatal(err)
	}
	if p := recvPacket(t, b); string(p.Data) != "again" {
		t.Fatalf("got %q", p.Data)
	}
}

func TestPacketClosedTransport(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	a.Close()
	if err := a.WritePacket([]byte("x"), b.Addr()); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("WritePacket after Close: %v, want ErrClosed", err)
	}
	if err := b.WritePacket([]byte("x"), a.Addr()); err != nil {
		t.Fatal(err)
	}
	if s := n.Stats(); s.DroppedNoListener != 1 {
		t.Fatalf("stats %+v, want the datagram to a closed transport dropped with no listener", s)
	}
	noPacket(t, a)
}

// lossRun sends 2000 datagrams from a to b on a network seeded with seed
// where b loses p of what it receives, and returns which arrived.
func lossRun(t *testing.T, seed uint64, p float64) ([]bool, Stats) {
	t.Helper()
	n := New(seed)
	defer n.Close()
	a, err := n.Listen(addr(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Listen(addr(2))
	if err != nil {
		t.Fatal(err)
	}
	n.Loss(b.Addr(), p)
	arrived := make([]bool, 2000)
	for i := range arrived {
		if err := a.WritePacket([]byte(fmt.Sprint(i)), b.Addr()); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 { // undelayed datagrams are queued by WritePacket itself
			for _, pk := range drain(b) {
				var j int
				fmt.Sscan(string(pk.Data), &j)
				arrived[j] = true
			}
		}
	}
	return arrived, n.Stats()
}

func TestLoss(t *testing.T) {
	const p = 0.3
	first, s := lossRun(t, 42, p)
	if s.DroppedLoss+s.Delivered != 2000 {
		t.Fatalf("stats %+v: want every datagram delivered or lost", s)
	}
	if s.DroppedLoss < 450 || s.DroppedLoss > 750 { // 600 expected, σ ≈ 20
		t.Fatalf("%d of 2000 lost with p=%v, want about 600", s.DroppedLoss, p)
	}
	again, _ := lossRun(t, 42, p)
	for i := range first {
		if first[i] != again[i] {
			t.Fatalf("datagram %d: arrived %v in the first run, %v in the second with the same seed", i, first[i], again[i])
		}
	}
	other, _ := lossRun(t, 43, p)
	same := true
	for i := range first {
		same = same && first[i] == other[i]
	}
	if same {
		t.Fatal("another seed lost exactly the same datagrams")
	}
}

func TestLossBounds(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Loss(a.Addr(), 7) // clamped to 1
	for range 10 {
		a.WritePacket([]byte("x"), b.Addr())
	}
	n.Loss(a.Addr(), -1) // clamped to 0: removes the loss
	for range 10 {
		a.WritePacket([]byte("x"), b.Addr())
	}
	if s := n.Stats(); s.DroppedLoss != 10 || s.Delivered != 10 {
		t.Fatalf("stats %+v, want 10 lost and 10 delivered", s)
	}
}

func TestPacketDelay(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	const d, jitter = 40 * time.Millisecond, 10 * time.Millisecond
	n.Delay(b.Addr(), d, jitter)
	start := time.Now()
	for i := range 20 {
		a.WritePacket([]byte{byte(i)}, b.Addr())
	}
	seen := map[byte]bool{}
	for range 20 {
		p := recvPacket(t, b)
		if got := p.At.Sub(start); got < d-jitter {
			t.Fatalf("datagram delivered after %v, want at least %v", got, d-jitter)
		}
		seen[p.Data[0]] = true
	}
	if len(seen) != 20 {
		t.Fatalf("got %d distinct datagrams, want 20", len(seen))
	}
	n.Delay(b.Addr(), 0, 0)
	a.WritePacket([]byte("now"), b.Addr())
	select { // undelayed datagrams are queued by WritePacket itself
	case p := <-b.Packets():
		if string(p.Data) != "now" {
			t.Fatalf("got %q", p.Data)
		}
	default:
		t.Fatal("Delay(addr, 0, 0) did not remove the delay")
	}
}

func TestPacketPause(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Pause(b.Addr())
	const sent = PausedLimit + 10
	for i := range sent {
		a.WritePacket([]byte{byte(i), byte(i >> 8)}, b.Addr())
	}
	b.WritePacket([]byte("from the paused node"), a.Addr())
	noPacket(t, b)
	noPacket(t, a)
	s := n.Stats()
	if s.DroppedPaused != sent-PausedLimit || s.DroppedFault != 1 {
		t.Fatalf("stats %+v, want %d dropped beyond the pause bound and 1 by fault", s, sent-PausedLimit)
	}
	n.Unpause(b.Addr())
	for i := range PausedLimit {
		p := recvPacket(t, b)
		if got := int(p.Data[0]) | int(p.Data[1])<<8; got != i {
			t.Fatalf("held datagram %d delivered as %d-th", got, i)
		}
	}
	a.WritePacket([]byte("after"), b.Addr())
	if p := recvPacket(t, b); string(p.Data) != "after" {
		t.Fatalf("got %q after Unpause", p.Data)
	}
}

func TestPacketHealDeliversHeld(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Pause(b.Addr())
	a.WritePacket([]byte("held"), b.Addr())
	noPacket(t, b)
	n.Heal()
	if p := recvPacket(t, b); string(p.Data) != "held" {
		t.Fatalf("got %q", p.Data)
	}
}

func TestPacketInFlightSurvivesPartition(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	n.Delay(b.Addr(), 30*time.Millisecond, 0)
	a.WritePacket([]byte("in flight"), b.Addr())
	n.Isolate(b.Addr())
	a.WritePacket([]byte("cut"), b.Addr())
	if p := recvPacket(t, b); string(p.Data) != "in flight" {
		t.Fatalf("got %q", p.Data)
	}
	noPacket(t, b)
}

func TestPacketBytesEqual(t *testing.T) {
	n := newNetwork(t, 1)
	a, b := listen(t, n, addr(1)), listen(t, n, addr(2))
	want := bytes.Repeat([]byte{1, 2, 3}, 1000)
	a.WritePacket(want, b.Addr())
	if p := recvPacket(t, b); !bytes.Equal(p.Data, want) {
		t.Fatal("payload changed")
	}
}

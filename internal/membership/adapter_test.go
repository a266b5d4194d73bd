package membership

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// packetTransport is a transport.Transport whose received datagrams the
// test hands in and whose sent ones it reads; it has no streams.
type packetTransport struct {
	in  chan transport.Packet
	out chan []byte
}

func newPacketTransport() *packetTransport {
	return &packetTransport{in: make(chan transport.Packet, 64), out: make(chan []byte, 64)}
}

func (p *packetTransport) Addr() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:7946") }

func (p *packetTransport) WritePacket(b []byte, _ netip.AddrPort) error {
	select {
	case p.out <- b:
		return nil
	default:
		return errors.New("packetTransport: test reads too slowly")
	}
}

func (p *packetTransport) Packets() <-chan transport.Packet { return p.in }

func (p *packetTransport) Dial(context.Context, netip.AddrPort, transport.Kind) (net.Conn, error) {
	return nil, errors.New("packetTransport: no streams")
}

func (p *packetTransport) Streams(transport.Kind) <-chan net.Conn { return nil }

func (p *packetTransport) Close() error { return nil }

// A side ping is answered as the adapter reads it, even when memberlist
// is behind on the datagrams that came before it: memberlist's reader is
// a process's busiest goroutine on a crowded host, and with the adapter
// handing datagrams over one by one, a ping waited behind every one of
// them and its ack came after the pinger's timeout.
func TestSidePingIsAnsweredWhileMemberlistIsBehind(t *testing.T) {
	codec, err := newSideCodec("", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := newReporter(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	side := newSideChannel(codec, rep)
	side.direct = newPinger("b").take
	pt := newPacketTransport()
	a := newMLTransport(pt, pt.Addr(), newStreamGuard("", false), rep, side)
	defer a.Shutdown()

	from := netip.MustParseAddrPort("127.0.0.1:7947")
	const behind = 32 // memberlist's datagrams nobody reads in this test
	for range behind {
		pt.in <- transport.Packet{Data: []byte{1, 2, 3}, From: from, At: time.Now()}
	}
	pt.in <- transport.Packet{Data: codec.encode(encodePing(7, "b")), From: from, At: time.Now()}
	select {
	case b := <-pt.out:
		msg, refused := codec.decode(b)
		if refused != "" {
			t.Fatalf("the answer did not open: %s", refused)
		}
		if seq, ok := decodeAck(msg); !ok || seq != 7 {
			t.Fatalf("answered %x, want the ack of ping 7", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no ack while memberlist had %d datagrams to read", behind)
	}
	if n := len(a.PacketCh()); n != behind {
		t.Fatalf("%d datagrams wait for memberlist, want %d", n, behind)
	}
}

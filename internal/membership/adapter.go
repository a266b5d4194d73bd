package membership

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cloister-go/cloister/transport"
)

// mlTransport adapts a transport.Transport to memberlist.Transport. It does
// not own the underlying transport: Shutdown stops only the adapter, because
// the call layer shares the same port.
type mlTransport struct {
	t         transport.Transport
	advertise netip.AddrPort
	packets   chan *memberlist.Packet

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var _ memberlist.Transport = (*mlTransport)(nil)

func newMLTransport(t transport.Transport, advertise netip.AddrPort) *mlTransport {
	a := &mlTransport{
		t:         t,
		advertise: advertise,
		packets:   make(chan *memberlist.Packet),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go a.forward()
	return a
}

// forward converts received datagrams until Shutdown.
func (a *mlTransport) forward() {
	defer close(a.done)
	in := a.t.Packets()
	for {
		select {
		case p, ok := <-in:
			if !ok {
				return
			}
			mp := &memberlist.Packet{Buf: p.Data, From: net.UDPAddrFromAddrPort(p.From), Timestamp: p.At}
			select {
			case a.packets <- mp:
			case <-a.stop:
				return
			}
		case <-a.stop:
			return
		}
	}
}

func (a *mlTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IP(a.advertise.Addr().AsSlice()), int(a.advertise.Port()), nil
}

func (a *mlTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	to, err := parseAddr(addr)
	if err != nil {
		return time.Time{}, err
	}
	return time.Now(), a.t.WritePacket(b, to)
}

func (a *mlTransport) PacketCh() <-chan *memberlist.Packet { return a.packets }

func (a *mlTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	to, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a.t.Dial(ctx, to, transport.KindGossip)
}

func (a *mlTransport) StreamCh() <-chan net.Conn { return a.t.Streams(transport.KindGossip) }

func (a *mlTransport) Shutdown() error {
	a.stopOnce.Do(func() { close(a.stop) })
	<-a.done
	return nil
}

func parseAddr(addr string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("membership: bad peer address %q: %w", addr, err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

package membership

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cloister-go/cloister/transport"
)

// mlTransport adapts a transport.Transport to memberlist.Transport. It does
// not own the underlying transport: Shutdown stops only the adapter, because
// the call layer shares the same port.
//
// Accepted gossip streams pass through a streamGuard before memberlist sees
// them: their prefix is read and checked, and their number and the bodies
// they claim are bounded (see MaxGossipStreams).
type mlTransport struct {
	t         transport.Transport
	advertise netip.AddrPort
	packets   chan *memberlist.Packet
	streams   chan net.Conn
	guard     *streamGuard
	rep       *reporter
	side      *sideChannel // receives side datagrams (side.go); nil: they go to memberlist

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{} // forward ended
	guardWG  sync.WaitGroup

	checkMu  sync.Mutex
	checking map[net.Conn]struct{} // streams whose prefix is being read
	accepted atomic.Uint64         // streams handed to memberlist

	// Gossip traffic, counted for Stats: memberlist's datagrams and side
	// ones alike.
	packetsIn, bytesIn   atomic.Uint64 // datagrams handed to memberlist or queued on the side channel
	packetsOut, bytesOut atomic.Uint64 // datagrams sent
	sideIn, sideOut      atomic.Uint64 // of them, side datagrams
	dialled              atomic.Uint64 // streams memberlist opened

	// refused: addresses whose last dial was refused (nobody listens
	// there), for Join to tell a dead address from other failures:
	// memberlist's join error does not wrap the dial's.
	refusedMu sync.Mutex
	refused   map[netip.AddrPort]struct{}
}

// maxRefused bounds the refused addresses remembered between a dial and
// the Join that asked for it; past it, the record starts again.
const maxRefused = 1024

// memberlistBacklog is how many received datagrams the adapter holds for
// memberlist's reader beyond the one it is handing over. The adapter
// reads the transport ahead of memberlist by that much, answering side
// pings as it reads them (sideping.go): handed over one by one, a ping
// waited behind every datagram memberlist had not read yet, and on a
// crowded host, where memberlist's reader is a busy goroutine, its ack
// came after the pinger's timeout. Further behind, the adapter waits for
// memberlist again, and the transport's own queue holds what comes
// (TestSidePingIsAnsweredWhileMemberlistIsBehind). What a stranger can
// make it hold is bounded like the transport's own queue, which holds four
// times as many datagrams by default (transport.Config.PacketQueue).
const memberlistBacklog = 256

// noteDial records whether a dial of to was refused.
func (a *mlTransport) noteDial(to netip.AddrPort, err error) {
	a.refusedMu.Lock()
	defer a.refusedMu.Unlock()
	if !errors.Is(err, syscall.ECONNREFUSED) {
		delete(a.refused, to)
		return
	}
	if a.refused == nil || len(a.refused) >= maxRefused {
		a.refused = map[netip.AddrPort]struct{}{}
	}
	a.refused[to] = struct{}{}
}

// wasRefused reports whether the last dial of to was refused.
func (a *mlTransport) wasRefused(to netip.AddrPort) bool {
	a.refusedMu.Lock()
	defer a.refusedMu.Unlock()
	_, ok := a.refused[to]
	return ok
}

var _ memberlist.Transport = (*mlTransport)(nil)

// newMLTransport starts the adapter; side, when not nil, takes the side
// datagrams received (see sideChannel).
func newMLTransport(t transport.Transport, advertise netip.AddrPort, guard *streamGuard, rep *reporter, side *sideChannel) *mlTransport {
	a := &mlTransport{
		t:         t,
		advertise: advertise,
		packets:   make(chan *memberlist.Packet, memberlistBacklog),
		streams:   make(chan net.Conn),
		guard:     guard,
		rep:       rep,
		side:      side,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		checking:  map[net.Conn]struct{}{},
	}
	go a.forward()
	a.guardWG.Add(1)
	go a.guardStreams()
	return a
}

// guardStreams takes accepted gossip streams from the transport and checks
// each one's prefix on a goroutine of its own, at most MaxGossipStreams
// streams at once (checked or handed over and not closed yet); beyond, a
// stream is closed at once and counted.
func (a *mlTransport) guardStreams() {
	defer a.guardWG.Done()
	in := a.t.Streams(transport.KindGossip)
	for {
		select {
		case c := <-in:
			if !a.guard.acquire() {
				c.Close()
				a.rep.noteAddr(rejectStreamBusy, c.RemoteAddr())
				continue
			}
			if !a.track(c) {
				c.Close()
				<-a.guard.slots
				return
			}
			a.guardWG.Add(1)
			go a.check(c)
		case <-a.stop:
			return
		}
	}
}

// track registers a stream being checked, so that Shutdown can close it;
// it reports false once Shutdown has begun.
func (a *mlTransport) track(c net.Conn) bool {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	if a.checking == nil {
		return false
	}
	a.checking[c] = struct{}{}
	return true
}

func (a *mlTransport) untrack(c net.Conn) {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	delete(a.checking, c)
}

func (a *mlTransport) check(c net.Conn) {
	defer a.guardWG.Done()
	gc, err := a.guard.check(c)
	a.untrack(c)
	if err != nil {
		var pe *errPrefix
		if errors.As(err, &pe) {
			a.rep.noteAddr(pe.kind, c.RemoteAddr())
		}
		return
	}
	select {
	case a.streams <- gc:
		a.accepted.Add(1)
	case <-a.stop:
		gc.Close()
	}
}

// forward converts received datagrams until Shutdown, and hands side
// datagrams to the side channel.
func (a *mlTransport) forward() {
	defer close(a.done)
	in := a.t.Packets()
	for {
		select {
		case p, ok := <-in:
			if !ok {
				return
			}
			if a.side != nil && len(p.Data) > 0 && p.Data[0] == sideTag {
				reply, took := a.side.take(p)
				if took {
					a.sideIn.Add(1)
					a.packetsIn.Add(1)
					a.bytesIn.Add(uint64(len(p.Data)))
				}
				if reply != nil {
					a.writeSide(reply, p.From) // a lost ack is a lost datagram
				}
				continue
			}
			mp := &memberlist.Packet{Buf: p.Data, From: net.UDPAddrFromAddrPort(p.From), Timestamp: p.At}
			select {
			case a.packets <- mp:
				a.packetsIn.Add(1)
				a.bytesIn.Add(uint64(len(p.Data)))
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
	if err := a.t.WritePacket(b, to); err != nil {
		return time.Now(), err
	}
	a.packetsOut.Add(1)
	a.bytesOut.Add(uint64(len(b)))
	return time.Now(), nil
}

// writeSide sends msg, of at most maxSideMessage bytes (the caller routes
// larger ones to memberlist), to a member as a side datagram.
func (a *mlTransport) writeSide(msg []byte, to netip.AddrPort) error {
	b := a.side.codec.encode(msg)
	if err := a.t.WritePacket(b, to); err != nil {
		return err
	}
	a.sideOut.Add(1)
	a.packetsOut.Add(1)
	a.bytesOut.Add(uint64(len(b)))
	return nil
}

func (a *mlTransport) PacketCh() <-chan *memberlist.Packet { return a.packets }

func (a *mlTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	to, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := a.t.Dial(ctx, to, transport.KindGossip)
	a.noteDial(to, err)
	if err != nil {
		return nil, err
	}
	a.dialled.Add(1)
	return &dialledConn{Conn: c, maxBody: a.guard.maxBody}, nil
}

func (a *mlTransport) StreamCh() <-chan net.Conn { return a.streams }

// Shutdown stops the adapter: streams being checked are closed, and it
// returns once its goroutines have ended.
func (a *mlTransport) Shutdown() error {
	a.stopOnce.Do(func() {
		close(a.stop)
		a.checkMu.Lock()
		for c := range a.checking {
			c.Close()
		}
		a.checking = nil
		a.checkMu.Unlock()
	})
	<-a.done
	a.guardWG.Wait()
	return nil
}

func parseAddr(addr string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("membership: bad peer address %q: %w", addr, err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

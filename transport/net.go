package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// NetConfig configures a Net transport.
type NetConfig struct {
	// Bind is the "ip:port" to listen on for both UDP and TCP. Port 0 picks
	// a free port that is free for both protocols.
	Bind string
	// HandshakeTimeout bounds how long an accepted connection may take to
	// send its kind byte. Default 5s.
	HandshakeTimeout time.Duration
	// PacketQueue is the capacity of the Packets channel. Default 1024.
	PacketQueue int
	// StreamQueue is the capacity of each Streams channel. Default 64.
	StreamQueue int
	// MaxHandshakes bounds the accepted connections that have not sent
	// their kind byte yet, or wait for their consumer to take them; beyond,
	// new connections are closed at once and counted
	// (NetStats.RefusedStreams). Default 256.
	MaxHandshakes int
}

// NetStats counts what a Net transport refused.
type NetStats struct {
	BadHandshakes  uint64 // connections closed for an unknown kind or a slow first byte
	DroppedStreams uint64 // accepted streams closed because nobody took them in time
	RefusedStreams uint64 // connections closed at once because MaxHandshakes were pending
}

// Net is a Transport on real UDP and TCP sockets sharing one port.
type Net struct {
	cfg     NetConfig
	addr    netip.AddrPort
	tcp     *net.TCPListener
	udp     *net.UDPConn
	io      *udpIO // reads and writes udp (rawudp_linux.go)
	packets chan Packet
	streams map[Kind]chan net.Conn

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup

	pending        atomic.Int64 // connections in route
	badHandshakes  atomic.Uint64
	droppedStreams atomic.Uint64
	refusedStreams atomic.Uint64
}

var _ Transport = (*Net)(nil)

// Listen binds UDP and TCP on cfg.Bind and starts serving.
func Listen(cfg NetConfig) (*Net, error) {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 5 * time.Second
	}
	if cfg.PacketQueue <= 0 {
		cfg.PacketQueue = 1024
	}
	if cfg.StreamQueue <= 0 {
		cfg.StreamQueue = 64
	}
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = 256
	}
	binds, err := bindCandidates(cfg.Bind)
	if err != nil {
		return nil, err
	}
	var (
		tcp  *net.TCPListener
		udp  *net.UDPConn
		bind netip.AddrPort
	)
	for _, bind = range binds {
		if tcp, udp, err = bindBoth(bind); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	port := uint16(tcp.Addr().(*net.TCPAddr).Port)
	uio, err := newUDPIO(udp)
	if err != nil {
		tcp.Close()
		udp.Close()
		return nil, fmt.Errorf("%w: udp %s: %w", ErrBind, bind, err)
	}
	t := &Net{
		cfg:     cfg,
		addr:    netip.AddrPortFrom(bind.Addr(), port),
		tcp:     tcp,
		udp:     udp,
		io:      uio,
		packets: make(chan Packet, cfg.PacketQueue),
		streams: map[Kind]chan net.Conn{
			KindGossip: make(chan net.Conn, cfg.StreamQueue),
			KindCall:   make(chan net.Conn, cfg.StreamQueue),
		},
		closed: make(chan struct{}),
	}
	t.wg.Add(2)
	go t.acceptLoop()
	go t.readLoop()
	return t, nil
}

// ParseBind checks a bind address: "ip:port" or ":port".
func ParseBind(s string) ([]netip.AddrPort, error) { return bindCandidates(s) }

// bindCandidates parses "ip:port" or ":port". An empty host means every
// interface: dual-stack "[::]" first, then "0.0.0.0" for hosts without IPv6.
func bindCandidates(s string) ([]netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return nil, fmt.Errorf("%w: bind address %q: %w", ErrBind, s, err)
	}
	if host == "" {
		p, err := netip.ParseAddrPort("0.0.0.0:" + port)
		if err != nil {
			return nil, fmt.Errorf("%w: bind address %q: %w", ErrBind, s, err)
		}
		return []netip.AddrPort{netip.AddrPortFrom(netip.IPv6Unspecified(), p.Port()), p}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil, fmt.Errorf("%w: bind address %q: %w", ErrBind, s, err)
	}
	return []netip.AddrPort{ap}, nil
}

// plainTCP listens without Multipath TCP, which Go enables by default for
// listeners on Linux: peers on one network gain nothing from it, and each
// listen and accept costs extra system calls.
var plainTCP = func() *net.ListenConfig {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return &lc
}()

// bindBoth listens on TCP and UDP with the same port. When the port is 0 it
// retries a few times, because the TCP port the kernel picks may be taken
// for UDP.
func bindBoth(bind netip.AddrPort) (*net.TCPListener, *net.UDPConn, error) {
	const attempts = 10
	var lastErr error
	for range attempts {
		l, err := plainTCP.Listen(context.Background(), "tcp", bind.String())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: tcp %s: %w", ErrBind, bind, err)
		}
		tcp := l.(*net.TCPListener)
		port := tcp.Addr().(*net.TCPAddr).Port
		udpAddr := &net.UDPAddr{IP: bind.Addr().AsSlice(), Port: port, Zone: bind.Addr().Zone()}
		udp, err := net.ListenUDP("udp", udpAddr)
		if err == nil {
			// Large socket buffers keep bursts of gossip from being dropped
			// by the kernel; failure to enlarge them is not fatal.
			_ = udp.SetReadBuffer(2 << 20)
			return tcp, udp, nil
		}
		tcp.Close()
		lastErr = err
		if bind.Port() != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("%w: udp %s: %w", ErrBind, bind, lastErr)
}

// Addr returns the bound address.
func (t *Net) Addr() netip.AddrPort { return t.addr }

// Stats returns counters of refused traffic.
func (t *Net) Stats() NetStats {
	return NetStats{BadHandshakes: t.badHandshakes.Load(), DroppedStreams: t.droppedStreams.Load(),
		RefusedStreams: t.refusedStreams.Load()}
}

// WritePacket sends one datagram.
func (t *Net) WritePacket(b []byte, to netip.AddrPort) error {
	if t.isClosed() {
		return ErrClosed
	}
	if len(b) > MaxPacketSize {
		return fmt.Errorf("%w: %d bytes", ErrPacketTooLarge, len(b))
	}
	return t.io.writeTo(b, to)
}

// Packets delivers received datagrams.
func (t *Net) Packets() <-chan Packet { return t.packets }

// Streams delivers accepted streams of kind k. It returns nil for an unknown kind.
func (t *Net) Streams(k Kind) <-chan net.Conn { return t.streams[k] }

// Dial connects to a peer and announces the stream kind.
func (t *Net) Dial(ctx context.Context, to netip.AddrPort, k Kind) (net.Conn, error) {
	if !k.valid() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownKind, k)
	}
	if t.isClosed() {
		return nil, ErrClosed
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", to.String())
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetWriteDeadline(deadline)
	}
	if _, err := conn.Write([]byte{byte(k)}); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetWriteDeadline(time.Time{})
	return conn, nil
}

// Close stops the transport. Streams already handed out stay open; their
// owners close them.
func (t *Net) Close() error {
	t.closeOnce.Do(func() {
		close(t.closed)
		t.tcp.Close()
		t.udp.Close()
	})
	t.wg.Wait()
	return nil
}

func (t *Net) isClosed() bool {
	select {
	case <-t.closed:
		return true
	default:
		return false
	}
}

func (t *Net) readLoop() {
	defer t.wg.Done()
	buf := make([]byte, MaxPacketSize)
	for {
		n, from, err := t.io.readFrom(buf)
		if err != nil {
			if t.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n == 0 {
			continue
		}
		p := Packet{Data: append([]byte(nil), buf[:n]...), From: unmap(from), At: time.Now()}
		select {
		case t.packets <- p:
		case <-t.closed:
			return
		}
	}
}

func (t *Net) acceptLoop() {
	defer t.wg.Done()
	var handshakes sync.WaitGroup
	defer handshakes.Wait()
	for {
		conn, err := t.tcp.Accept()
		if err != nil {
			if t.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if t.pending.Add(1) > int64(t.cfg.MaxHandshakes) {
			t.pending.Add(-1)
			t.refusedStreams.Add(1)
			conn.Close()
			continue
		}
		handshakes.Add(1)
		go func() {
			defer handshakes.Done()
			defer t.pending.Add(-1)
			t.route(conn)
		}()
	}
}

// route reads the kind byte and hands the connection to its consumer.
func (t *Net) route(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	var kind [1]byte
	if _, err := conn.Read(kind[:]); err != nil || !Kind(kind[0]).valid() {
		t.badHandshakes.Add(1)
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	timer := time.NewTimer(t.cfg.HandshakeTimeout)
	defer timer.Stop()
	select {
	case t.streams[Kind(kind[0])] <- conn:
	case <-timer.C:
		t.droppedStreams.Add(1)
		conn.Close()
	case <-t.closed:
		conn.Close()
	}
}

// unmap turns IPv4-mapped IPv6 addresses into plain IPv4 ones, so that a
// peer has one spelling whatever socket family received from it.
func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

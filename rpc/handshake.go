package rpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// protoVersion is the version of the frame protocol, sent in hellos.
// Version 2: the accepting side sends no requests or casts; each side calls
// over the connection it dialled.
const protoVersion = 2

// Hello statuses, sent by the accepting side.
const (
	helloOK         = 0
	helloWrongPeer  = 1 // the caller expected another peer ID
	helloBadVersion = 2 // the caller speaks a protocol version we do not
	helloBadID      = 3 // the caller's ID is not the one its certificate proves
)

// hello is the payload of the first frame in each direction. The dialling
// side sends its own ID and the ID it expects to reach; the accepting side
// answers with its ID and a status.
type hello struct {
	version byte
	status  byte
	id      string
	want    string
}

func appendHello(b []byte, h hello) []byte {
	b = appendHeader(b, frameHello, 0, 4+len(h.id)+len(h.want))
	b = append(b, h.version, h.status, byte(len(h.id)))
	b = append(b, h.id...)
	b = append(b, byte(len(h.want)))
	return append(b, h.want...)
}

func parseHello(p []byte) (hello, error) {
	var h hello
	if len(p) < 3 {
		return h, protocolErr("short hello")
	}
	h.version, h.status = p[0], p[1]
	n := int(p[2])
	p = p[3:]
	if len(p) < n+1 {
		return h, protocolErr("short hello")
	}
	h.id, p = string(p[:n]), p[n:]
	n = int(p[0])
	p = p[1:]
	if len(p) != n {
		return h, protocolErr("bad hello length")
	}
	h.want = string(p)
	return h, nil
}

// readHello reads the peer's hello frame.
func readHello(br *bufio.Reader) (hello, error) {
	f, err := readFrame(br, 0)
	if err != nil {
		return hello{}, err
	}
	if f.typ != frameHello {
		return hello{}, protocolErr("frame type %d before hello", f.typ)
	}
	return parseHello(f.body)
}

// guard bounds a handshake on nc by ctx and the timeout: when ctx ends the
// connection's deadline is moved to the past, which interrupts any read or
// write. release ends the guard and clears the deadline; it reports false
// when ctx ended first, and the handshake must then be abandoned.
func guard(ctx context.Context, nc net.Conn, timeout time.Duration) (release func() bool) {
	_ = nc.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return func() bool {
		if !stop() {
			return false
		}
		_ = nc.SetDeadline(time.Time{})
		return true
	}
}

// clientHandshake secures a dialled connection and checks that it reached
// the peer with ID want (any peer when want is empty). It returns the
// connection to use, its reader and the peer's ID.
func (e *Endpoint) clientHandshake(ctx context.Context, nc net.Conn, addr netip.AddrPort, want string) (*frameConn, *bufio.Reader, string, error) {
	release := guard(ctx, nc, e.cfg.HandshakeTimeout)
	c, br, id, err := e.clientExchange(ctx, nc, addr, want)
	if !release() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		nc.Close()
		return nil, nil, "", err
	}
	return c, br, id, nil
}

func (e *Endpoint) clientExchange(ctx context.Context, nc net.Conn, addr netip.AddrPort, want string) (*frameConn, *bufio.Reader, string, error) {
	c := &frameConn{Conn: nc}
	// In secret mode the first dial builds the identity here, once the
	// connection is open, so that it overlaps with the acceptor building
	// its own (see serverExchange).
	conf, err := e.sec.clientConfig(addr)
	if err != nil {
		return nil, nil, "", err
	}
	if conf != nil {
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, "", handshakeErr(ctx, addr, err)
		}
		c.Conn = tc
	}
	if _, err := c.Write(appendHello(nil, hello{version: protoVersion, id: e.cfg.ID, want: want})); err != nil {
		return nil, nil, "", handshakeErr(ctx, addr, err)
	}
	br := bufio.NewReaderSize(c, readBufferFor(conf != nil))
	h, err := readHello(br)
	if err != nil {
		return nil, nil, "", handshakeErr(ctx, addr, err)
	}
	if certID, ok := e.sec.peerCertID(c.Conn); ok && h.id != certID {
		return nil, nil, "", fmt.Errorf("%w: %s claims to be %q but its certificate proves %q", ErrAuth, addr, h.id, certID)
	}
	switch {
	case h.status == helloBadID:
		return nil, nil, "", fmt.Errorf("%w: %s refused our ID %q: not the one our certificate proves", ErrAuth, addr, e.cfg.ID)
	case h.status == helloBadVersion:
		return nil, nil, "", fmt.Errorf("%w: %s does not speak protocol version %d", ErrProtocol, addr, protoVersion)
	case h.status == helloWrongPeer || (want != "" && h.id != want):
		return nil, nil, "", fmt.Errorf("%w: %w: expected %s at %s, reached %s", ErrNodeDown, ErrWrongPeer, want, addr, h.id)
	case h.status != helloOK:
		return nil, nil, "", fmt.Errorf("%w: hello status %d from %s", ErrProtocol, h.status, addr)
	}
	return c, br, h.id, nil
}

// handshakeErr classifies a failure while setting up a dialled connection.
// A refused certificate, a TLS alert, bytes that are not TLS, or the peer
// hanging up in the middle of the handshake all mean it would not
// authenticate us or we it: ErrAuth. Timeouts and cancellation mean it did
// not answer: ErrNodeDown.
func handshakeErr(ctx context.Context, addr netip.AddrPort, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: handshake with %s: %w", ErrNodeDown, addr, ctx.Err())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: handshake with %s timed out", ErrNodeDown, addr)
	}
	if errors.Is(err, ErrProtocol) {
		return fmt.Errorf("%w: handshake with %s: %w", ErrAuth, addr, err)
	}
	return fmt.Errorf("%w: handshake with %s (another secret, certificate or security mode?): %w", ErrAuth, addr, err)
}

// serverHandshake secures an accepted connection and reads the dialler's
// hello. Failures are counted and the connection closed.
func (e *Endpoint) serverHandshake(nc net.Conn) (*frameConn, *bufio.Reader, string, bool) {
	release := guard(e.ctx, nc, e.cfg.HandshakeTimeout)
	c, br, id, err := e.serverExchange(nc)
	if !release() && err == nil {
		err = ErrClosed
	}
	if err != nil {
		nc.Close()
		return nil, nil, "", false
	}
	return c, br, id, true
}

func (e *Endpoint) serverExchange(nc net.Conn) (*frameConn, *bufio.Reader, string, error) {
	c := &frameConn{Conn: nc}
	// In secret mode the first accepted connection builds the identity
	// here, unless a dial did; it fails only if that build failed, which
	// the endpoint's own calls report too.
	conf, err := e.sec.config()
	if err != nil {
		return nil, nil, "", err
	}
	if conf != nil {
		tc := tls.Server(nc, conf)
		if err := tc.HandshakeContext(e.ctx); err != nil {
			var rh tls.RecordHeaderError
			switch {
			case errors.As(err, &rh):
				e.stats.protocolErrors.Add(1)
			case hungUp(err) || e.ctx.Err() != nil:
				// The peer went away mid-handshake (a node stopping
				// while it dials), or this endpoint is closing:
				// nobody failed to authenticate.
			default:
				e.stats.authFailures.Add(1)
			}
			return nil, nil, "", err
		}
		c.Conn = tc
	}
	br := bufio.NewReaderSize(c, readBufferFor(conf != nil))
	h, err := readHello(br)
	if err != nil {
		if errors.Is(err, ErrProtocol) {
			e.stats.protocolErrors.Add(1)
		}
		return nil, nil, "", err
	}
	reply := hello{version: protoVersion, id: e.cfg.ID}
	certID, bound := e.sec.peerCertID(c.Conn)
	switch {
	case h.version != protoVersion:
		reply.status = helloBadVersion
	case bound && h.id != certID:
		// A member claiming another's ID: its certificate proves its own.
		reply.status = helloBadID
		e.stats.impersonations.Add(1)
	case h.want != "" && h.want != e.cfg.ID:
		reply.status = helloWrongPeer
	}
	if reply.status != helloOK {
		e.stats.refusedHellos.Add(1)
	}
	if _, err := c.Write(appendHello(nil, reply)); err != nil {
		return nil, nil, "", err
	}
	if reply.status != helloOK {
		return nil, nil, "", errors.New("hello refused")
	}
	return c, br, h.id, nil
}

// hungUp reports whether a handshake error says only that the connection
// ended: the peer closed or reset it before the handshake was done.
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET)
}

// readBufferFor is the read buffer of a connection, over TLS or not (see
// tlsReadBufferSize).
func readBufferFor(overTLS bool) int {
	if overTLS {
		return tlsReadBufferSize
	}
	return readBufferSize
}

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
	helloNeedsTLS   = 4 // the caller spoke in clear to an endpoint that requires TLS
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
	case h.status == helloNeedsTLS:
		return nil, nil, "", fmt.Errorf("%w: %s requires TLS (Config.Secret or Config.TLS); this endpoint is Config.Insecure", ErrAuth, addr)
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
// A refused certificate, a TLS alert or bytes that are not TLS mean the
// peer would not authenticate us or we it: ErrAuth. An acceptor that
// refuses says so before it closes (a TLS alert, or a hello with a
// status), also when the security modes differ; a connection that ends in
// the middle of the handshake without a word is a peer that went away (a
// process ending: its kernel resets what it had accepted), or one too busy
// to set up another connection (Config.MaxHandshakes): ErrNodeDown, as are
// timeouts and cancellation. The request was not sent in any of these.
func handshakeErr(ctx context.Context, addr netip.AddrPort, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w: handshake with %s: %w", ErrNotSent, ErrNodeDown, addr, ctx.Err())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w: handshake with %s timed out", ErrNotSent, ErrNodeDown, addr)
	}
	if hungUp(err) {
		return fmt.Errorf("%w: %w: %s closed the connection during the handshake: %w", ErrNotSent, ErrNodeDown, addr, err)
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
		refuseTLS(nc, alertInternalError)
		return nil, nil, "", err
	}
	if conf != nil {
		tc := tls.Server(nc, conf)
		if err := tc.HandshakeContext(e.ctx); err != nil {
			var rh tls.RecordHeaderError
			switch {
			case errors.As(err, &rh):
				e.stats.protocolErrors.Add(1)
				if rh.Conn != nil {
					// Not TLS: perhaps a dialler in the clear. Its
					// hello is answered, so that it reports the
					// security modes rather than a peer gone away.
					_, _ = rh.Conn.Write(appendHello(nil, hello{version: protoVersion, status: helloNeedsTLS}))
				}
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
	if conf == nil {
		if p, err := br.Peek(3); err == nil && tlsRecordStart(p) {
			// A dialler speaking TLS to this endpoint in the clear:
			// the alert makes its handshake fail as refused.
			e.stats.protocolErrors.Add(1)
			refuseTLS(nc, alertHandshakeFailure)
			return nil, nil, "", protocolErr("a TLS handshake to an endpoint without TLS")
		}
	}
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
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// TLS alerts an acceptor sends, in the clear, to a dialler it refuses
// before any TLS is set up (RFC 8446, section 6).
const (
	alertHandshakeFailure = 40
	alertInternalError    = 80
)

// refuseTLS writes a fatal TLS alert record: the dialler's TLS handshake
// then fails as refused ("remote error"), not as a connection that ended.
func refuseTLS(nc net.Conn, alert byte) {
	_, _ = nc.Write([]byte{21, 3, 3, 0, 2, 2, alert}) // type alert, TLS 1.2 record version, length 2, fatal
}

// tlsRecordStart reports whether p, the first bytes of a connection, begin
// a TLS handshake record (type 22, major version 3): a frame never starts
// so (types are 1 to 6).
func tlsRecordStart(p []byte) bool {
	return len(p) >= 2 && p[0] == 22 && p[1] == 3
}

// readBufferFor is the read buffer of a connection, over TLS or not (see
// tlsReadBufferSize).
func readBufferFor(overTLS bool) int {
	if overTLS {
		return tlsReadBufferSize
	}
	return readBufferSize
}

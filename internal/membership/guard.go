package membership

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on gossip streams that have not authenticated yet. memberlist
// reads the whole body of an encrypted stream (up to 20 MiB, as a buffer
// that doubles as it grows) before it tries to decrypt it, and accepts any
// number of such streams at once, so an outsider who knows only the port and
// the public label could make a node buffer gigabytes. The guard reads and
// checks each stream's prefix before memberlist sees it.
const (
	// MaxMembers is the cluster size the gossip stream limits are sized
	// for.
	MaxMembers = 4096
	// maxMemberStateBytes bounds one member's entry in a push/pull state
	// exchange: its ID (at most 255 bytes), metadata (at most MaxMetaSize,
	// 512), address, port, incarnation, state, six version bytes and the
	// msgpack field names, about 900 bytes at worst.
	maxMemberStateBytes = 1024
	// MaxGossipStreamBody is the largest encrypted body a gossip stream may
	// claim: a push/pull of MaxMembers members of the largest size, 4 MiB
	// (a cluster of 50 members with typical adverts sends about 10 KiB).
	// memberlist's own limit is 20 MiB.
	MaxGossipStreamBody = MaxMembers * maxMemberStateBytes
	// MaxGossipStreamBudget bounds the sum of the bodies claimed by the
	// gossip streams memberlist is reading at once: one of the largest, or
	// hundreds of typical ones. memberlist's buffer doubles as it grows, so
	// streams that have not authenticated yet hold at most about twice this
	// much memory (8 MiB), and only while their sender actually sends.
	MaxGossipStreamBudget = MaxGossipStreamBody
	// MaxGossipStreams bounds the gossip streams open at once, from their
	// prefix to their close; more are closed at once and counted. It is
	// memberlist's own bound on concurrent push/pulls: when 50 members
	// start together, all may join through one at once. Memory is bounded
	// by MaxGossipStreamBudget, not by this count: a stream that has not
	// sent its prefix holds a goroutine and a few KiB.
	MaxGossipStreams = 128
)

// memberlist message types (part of its wire protocol, which only appends).
const (
	mlPingMsg     = 0
	mlPushPullMsg = 6
	mlUserMsg     = 8
	mlCompressMsg = 9
	mlEncryptMsg  = 10
	mlHasLabelMsg = 244
)

// Why a stream or a packet was refused, counted in GuardStats and named in
// the log summaries.
const (
	rejectStreamLabel    = "gossip streams with another app label"
	rejectStreamMode     = "gossip streams without encryption"
	rejectStreamType     = "gossip streams of an unknown type"
	rejectStreamLarge    = "gossip streams claiming too large a body"
	rejectStreamBusy     = "gossip streams beyond the limits on concurrent streams"
	rejectStreamSlow     = "gossip streams too slow to send their prefix"
	rejectStreamAuth     = "gossip streams that fail authentication"
	rejectStreamBad      = "malformed gossip streams"
	rejectPacketAuth     = "undecryptable packets"
	rejectPacketLabel    = "packets with another app label"
	rejectPacketBad      = "malformed packets"
	rejectJoinAuth       = "joins refused by peers with another secret or app label"
	suppressedLogLines   = "other memberlist log lines"
	dropHandlerFull      = "messages, memberlist's handler queue being full"
	defaultPrefixTimeout = 2 * time.Second
)

// errPrefix is why the guard refused a stream; kind names the reason.
type errPrefix struct{ kind string }

func (e *errPrefix) Error() string { return "membership: refused " + e.kind }

// streamGuard checks gossip streams before memberlist reads them.
type streamGuard struct {
	label     []byte // memberlist's label header, empty without a label
	encrypted bool   // a key is configured: only encrypted bodies pass
	timeout   time.Duration
	maxBody   uint32
	budget    int64 // bytes of claimed bodies that may be read at once
	slots     chan struct{}

	claimed atomic.Int64
}

func newStreamGuard(label string, encrypted bool) *streamGuard {
	var header []byte
	if label != "" {
		header = append([]byte{mlHasLabelMsg, byte(len(label))}, label...)
	}
	return &streamGuard{
		label: header, encrypted: encrypted, timeout: defaultPrefixTimeout,
		maxBody: MaxGossipStreamBody, budget: MaxGossipStreamBudget,
		slots: make(chan struct{}, MaxGossipStreams),
	}
}

// acquire takes a stream slot without waiting.
func (g *streamGuard) acquire() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// check reads and validates the prefix of an accepted stream, holding one
// slot taken by acquire. It returns the stream to hand to memberlist, which
// replays the prefix and gives back the slot and the claimed budget when
// closed; on a refusal it closes the stream, frees the slot and returns the
// reason.
func (g *streamGuard) check(c net.Conn) (net.Conn, error) {
	prefix, claim, err := g.readPrefix(c)
	if err == nil && claim > 0 {
		if g.claimed.Add(claim) > g.budget {
			g.claimed.Add(-claim)
			err = &errPrefix{rejectStreamBusy}
		}
	}
	if err != nil {
		var pe *errPrefix
		if errors.As(err, &pe) && (pe.kind == rejectStreamLabel || pe.kind == rejectStreamMode) {
			refuse(c, g.timeout)
		}
		c.Close()
		<-g.slots
		return nil, err
	}
	_ = c.SetReadDeadline(time.Time{})
	return &guardedConn{Conn: c, prefix: prefix, release: func() {
		g.claimed.Add(-claim)
		<-g.slots
	}}, nil
}

// readPrefix reads the stream's prefix (see parsePrefix) within the
// guard's timeout.
func (g *streamGuard) readPrefix(c net.Conn) ([]byte, int64, error) {
	_ = c.SetReadDeadline(time.Now().Add(g.timeout))
	return g.parsePrefix(c)
}

// parsePrefix reads the label header, the message type and, for an
// encrypted body, its length: exactly the bytes it needs, at most 262. It
// returns the bytes read and the body length claimed (0 when unencrypted).
func (g *streamGuard) parsePrefix(r io.Reader) ([]byte, int64, error) {
	n := len(g.label) + 1
	if g.encrypted {
		n += 4
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf[:len(g.label)+1]); err != nil {
		if err == io.EOF {
			return nil, 0, errStreamEmpty
		}
		return nil, 0, readErr(err)
	}
	if string(buf[:len(g.label)]) != string(g.label) {
		return nil, 0, &errPrefix{rejectStreamLabel}
	}
	typ := buf[len(g.label)]
	if !g.encrypted {
		switch typ {
		case mlPingMsg, mlPushPullMsg, mlUserMsg, mlCompressMsg:
			return buf, 0, nil
		case mlEncryptMsg:
			return nil, 0, &errPrefix{rejectStreamMode}
		default:
			return nil, 0, &errPrefix{rejectStreamType}
		}
	}
	if typ != mlEncryptMsg {
		return nil, 0, &errPrefix{rejectStreamMode}
	}
	if _, err := io.ReadFull(r, buf[len(g.label)+1:]); err != nil {
		return nil, 0, readErr(err)
	}
	size := binary.BigEndian.Uint32(buf[n-4:])
	if size > g.maxBody {
		return nil, 0, &errPrefix{rejectStreamLarge}
	}
	return buf, int64(size), nil
}

// errStreamEmpty is a stream closed before its first byte: a port check
// (cloister's own failure confirmations dial a member's port and close at
// once). It cost one accept and tells nothing, so it is neither counted
// as malformed nor logged.
var errStreamEmpty = errors.New("membership: stream closed before its first byte")

func readErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &errPrefix{rejectStreamSlow}
	}
	return &errPrefix{rejectStreamBad}
}

// refusal is what the guard answers to a stream refused for its label or
// its security mode before it closes it: memberlist's error message
// type (13) and the msgpack encoding of {"Error": "..."}, in clear text. A
// cloister node with a key that dialled it fails with memberlist's
// "remote state is not encrypted"; one without a key reads a remote error;
// both are told apart from a peer that is down (see ErrAuth). It is smaller
// than any stream prefix, so it amplifies nothing.
var refusal = func() []byte {
	msg := "cloister: refused: another secret, app label or security mode"
	b := []byte{13, 0x81, 0xa5, 'E', 'r', 'r', 'o', 'r', 0xd9, byte(len(msg))}
	return append(b, msg...)
}()

// refuse writes the refusal and reads what the peer sends until it hangs
// up, at most refusalDrain bytes for at most timeout: closing with unread
// bytes would reset the connection and the peer would lose the refusal.
func refuse(c net.Conn, timeout time.Duration) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(refusal); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.CopyN(io.Discard, c, refusalDrain)
}

// refusalDrain bounds what refuse reads: a joining member's state in a
// cluster of a few hundred members.
const refusalDrain = 256 << 10

// guardedConn replays the prefix the guard read, then reads the stream; it
// releases the guard's slot and budget when closed.
type guardedConn struct {
	net.Conn
	prefix []byte

	once    sync.Once
	release func()
}

func (c *guardedConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// errAnswerTooLarge is why a dialled gossip stream is abandoned.
var errAnswerTooLarge = errors.New("membership: peer's answer claims a body above MaxGossipStreamBody")

// dialledConn checks the answer on a gossip stream this member dialled
// before memberlist reads it: whoever answers at a discovered address has
// not authenticated yet, and memberlist would buffer an encrypted answer of
// up to 20 MiB before decrypting it. An answer (memberlist's message type,
// then for an encrypted one its length; answers carry no label) claiming
// more than the guard's limit fails the read.
type dialledConn struct {
	net.Conn
	maxBody uint32
	checked bool
	head    []byte // checked bytes not yet returned
}

func (c *dialledConn) Read(p []byte) (int, error) {
	if !c.checked {
		c.checked = true
		head := make([]byte, 1, 5)
		if _, err := io.ReadFull(c.Conn, head); err != nil {
			return 0, err
		}
		if head[0] == mlEncryptMsg {
			head = head[:5]
			if _, err := io.ReadFull(c.Conn, head[1:]); err != nil {
				return 0, err
			}
			if binary.BigEndian.Uint32(head[1:]) > c.maxBody {
				return 0, errAnswerTooLarge
			}
		}
		c.head = head
	}
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

package transport

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// Kind is the first byte of every stream and says which layer it belongs to.
type Kind byte

// The stream kinds carried on the shared port.
const (
	// KindGossip streams carry memberlist push/pull and reliable gossip.
	KindGossip Kind = 'G'
	// KindCall streams carry node-to-node calls.
	KindCall Kind = 'C'
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindGossip:
		return "gossip"
	case KindCall:
		return "call"
	default:
		return "unknown"
	}
}

func (k Kind) valid() bool { return k == KindGossip || k == KindCall }

// Packet is one datagram received on the shared port.
type Packet struct {
	Data []byte         // the payload, owned by the receiver
	From netip.AddrPort // the sender's address
	At   time.Time      // when it was read from the socket
}

// Transport is one node's port: datagrams plus typed streams.
//
// Implementations are safe for concurrent use. After Close, Dial and
// WritePacket return ErrClosed and the channels returned by Packets and
// Streams are never written again.
type Transport interface {
	// Addr is the address the transport is bound to. Its IP may be
	// unspecified (0.0.0.0 or ::) when bound to all interfaces.
	Addr() netip.AddrPort
	// WritePacket sends one datagram to the given address.
	WritePacket(b []byte, to netip.AddrPort) error
	// Packets delivers received datagrams.
	Packets() <-chan Packet
	// Dial opens a stream of the given kind to a peer. The kind byte is
	// sent before Dial returns; ctx bounds connection setup only.
	Dial(ctx context.Context, to netip.AddrPort, kind Kind) (net.Conn, error)
	// Streams delivers accepted streams of the given kind, with the kind
	// byte already consumed.
	Streams(kind Kind) <-chan net.Conn
	// Close stops the transport and waits for its goroutines to end.
	Close() error
}

// Errors returned by transports.
var (
	// ErrClosed is returned by operations on a closed transport.
	ErrClosed = errors.New("transport: closed")
	// ErrUnknownKind is returned when dialling with a kind that is not defined.
	ErrUnknownKind = errors.New("transport: unknown stream kind")
	// ErrPacketTooLarge is returned by WritePacket for a datagram over MaxPacketSize.
	ErrPacketTooLarge = errors.New("transport: packet too large")
	// ErrBind is returned when the port cannot be bound.
	ErrBind = errors.New("transport: cannot bind")
)

// MaxPacketSize is the largest datagram a Transport sends or receives.
const MaxPacketSize = 65507

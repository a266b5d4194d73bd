package rpc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/cloister-go/cloister/transport"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxMessageSize       = 4 << 20
	DefaultMaxPendingPerConn    = 4096
	DefaultMaxInFlightPerConn   = 1024
	DefaultMaxInFlight          = 4096
	DefaultHandshakeTimeout     = 5 * time.Second
	DefaultMaxIdle              = 30 * time.Second
	DefaultMaxHandshakes        = 64
	DefaultMulticallConcurrency = 64
	// MaxMessageSizeLimit is the largest accepted MaxMessageSize.
	MaxMessageSizeLimit = 1 << 30
	// MinSecretLen is the shortest accepted Secret.
	MinSecretLen = 16
)

// Config configures an Endpoint. Exactly one of Secret, TLS and Insecure
// chooses how connections are secured.
type Config struct {
	// ID is this endpoint's peer ID, sent in every handshake. In cloister
	// it is the member ID, which includes the incarnation, so a caller that
	// expects one incarnation never talks to another. At most 255 bytes. An
	// empty ID makes a client that peers cannot call back.
	ID string
	// Transport carries the connections, as streams of kind KindCall.
	Transport transport.Transport

	// Secret is the cluster secret, at least MinSecretLen bytes. Each
	// connection is TLS 1.3, both sides presenting an ed25519 certificate
	// whose key is derived from the secret and accepting only that key. The
	// secret itself never travels. It may be the raw cluster secret or a key
	// already derived from it for this purpose. New copies it; the key and
	// certificate are made from the copy by the endpoint's first connection,
	// dialled or accepted, not by New.
	//
	// The key is derived from the secret and the endpoint's ID, and the
	// certificate names the ID: a peer must claim, in its hello, the ID its
	// certificate proves (see Security in the package documentation).
	Secret []byte
	// AcceptSecrets, with Secret, are further secrets accepted from peers;
	// Secret is the one this endpoint proves. A cluster changes its secret
	// without downtime by adding the new one here everywhere, then making
	// it the Secret everywhere (the old one here), then dropping the old
	// one. Each is at least MinSecretLen bytes.
	AcceptSecrets [][]byte
	// TLS, instead of Secret, secures connections with the caller's own
	// certificates: it is used as is for accepted connections (set
	// ClientAuth for mutual TLS) and, with ServerName defaulting to the
	// peer's IP, for dialled ones.
	TLS *tls.Config
	// Insecure, instead of Secret or TLS, sends everything in plain text to
	// anyone who connects. Only for tests and trusted networks.
	Insecure bool

	// MaxMessageSize bounds request, cast and reply bodies, in bytes.
	// Default DefaultMaxMessageSize; at most MaxMessageSizeLimit.
	MaxMessageSize int
	// MaxPendingPerConn bounds the calls this endpoint has waiting on one
	// connection; the next fails at once with ErrOverloaded.
	MaxPendingPerConn int
	// MaxInFlightPerConn bounds the handlers running for one connection;
	// requests beyond are answered with ErrOverloaded and casts dropped.
	MaxInFlightPerConn int
	// MaxInFlight bounds the handlers running for all connections together.
	MaxInFlight int
	// HandshakeTimeout bounds connection setup, dialled or accepted: TCP,
	// TLS and the hello exchange. Default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds the accepted connections being set up at once;
	// beyond, new ones are closed and counted.
	MaxHandshakes int
	// MulticallConcurrency bounds the calls one Multicall has in progress.
	MulticallConcurrency int
	// MaxIdle retires a dialled connection that has carried no call for
	// that long and has none pending (within MaxIdle/2 more), and dials
	// afresh for the next call: a NAT or conntrack entry that expired
	// would otherwise swallow that call's request, and a connection opened
	// for one call would hold its goroutines and buffers on both sides for
	// good. Default DefaultMaxIdle; negative keeps connections for ever.
	MaxIdle time.Duration
}

func (c *Config) setDefaults() error {
	if c.Transport == nil {
		return errors.New("rpc: Config.Transport is required")
	}
	if len(c.ID) > maxIDLen {
		return fmt.Errorf("rpc: Config.ID is %d bytes, at most %d", len(c.ID), maxIDLen)
	}
	modes := 0
	if c.Secret != nil {
		modes++
		if len(c.Secret) < MinSecretLen {
			return fmt.Errorf("rpc: Config.Secret is %d bytes, at least %d", len(c.Secret), MinSecretLen)
		}
	}
	if len(c.AcceptSecrets) > 0 && c.Secret == nil {
		return errors.New("rpc: Config.AcceptSecrets needs Config.Secret")
	}
	for i, a := range c.AcceptSecrets {
		if len(a) < MinSecretLen {
			return fmt.Errorf("rpc: Config.AcceptSecrets[%d] is %d bytes, at least %d", i, len(a), MinSecretLen)
		}
	}
	if c.TLS != nil {
		modes++
	}
	if c.Insecure {
		modes++
	}
	if modes != 1 {
		return errors.New("rpc: set exactly one of Config.Secret, Config.TLS and Config.Insecure")
	}
	if c.MaxMessageSize > MaxMessageSizeLimit {
		return fmt.Errorf("rpc: Config.MaxMessageSize %d above %d", c.MaxMessageSize, MaxMessageSizeLimit)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxMessageSize, DefaultMaxMessageSize)
	def(&c.MaxPendingPerConn, DefaultMaxPendingPerConn)
	def(&c.MaxInFlightPerConn, DefaultMaxInFlightPerConn)
	def(&c.MaxInFlight, DefaultMaxInFlight)
	if c.MaxIdle == 0 {
		c.MaxIdle = DefaultMaxIdle
	}
	def(&c.MaxHandshakes, DefaultMaxHandshakes)
	def(&c.MulticallConcurrency, DefaultMulticallConcurrency)
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return nil
}

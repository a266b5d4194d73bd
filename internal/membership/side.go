package membership

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/cloister-go/cloister/transport"
)

// cloister's own datagrams (adverts, relay requests and batches, pulls and
// their answers, down notices) travel beside memberlist's on the shared
// port rather than as memberlist user messages, to members that read them
// (sideWire). Two costs of memberlist's user messages made them slow once
// a process was busy:
//
//   - memberlist queues every user message in its low-priority queue, which
//     its single handler reads only when no alive message waits, and which
//     it shares with suspicions and deaths. At 500 members in one process a
//     relay request waited 5 to 10 s there before its relay read it, and a
//     suspicion waited behind the adverts, late to be refuted.
//   - memberlist builds a new AES cipher and GCM for every datagram it
//     seals or opens: 3.3 GB of the 34 GB allocated by a 500-member start.
//
// A side datagram is sideTag, then the message sealed with a key derived
// from the gossip key (AES-GCM, a random nonce prepended, the tag and the
// cluster label as additional data), or, without a key, the label's length
// and the label in clear before the message, as memberlist does.
// Receivers open it as it is read, so only authenticated datagrams of at
// most maxSideMessage bytes are queued, sideQueueDepth at most, and read by
// one goroutine of their own.
const (
	// sideTag is the first byte of a side datagram. memberlist never
	// starts a datagram with it: its first byte is a message type (below
	// 32), an encryption version (0 or 1) or its label tag (244).
	sideTag byte = 0xC8

	// sideWire is the delegate protocol version from which a node reads
	// side datagrams (DelegateProtocolMax). A node from before them gets
	// memberlist user messages, as before.
	sideWire = 4

	// maxSideMessage bounds a side message: memberlist's datagram size,
	// which every message sent to a member already fitted in.
	maxSideMessage = 1400

	// sideQueueDepth bounds the side datagrams opened and not read yet;
	// beyond, they are dropped and counted as a full handler queue.
	// About 6 MB a full queue, like memberlist's (handoffQueueDepth).
	sideQueueDepth = 4096

	// sideKeyInfo derives the side key from the gossip key, so that no
	// memberlist datagram opens as a side one.
	sideKeyInfo = "cloister membership side datagrams v1"
)

// sideCodec seals and opens side datagrams. It is safe for concurrent use.
type sideCodec struct {
	label []byte
	aad   []byte        // sideTag, then the label: the sealed datagrams' additional data
	seal  cipher.AEAD   // the primary key's; nil without a key
	open  []cipher.AEAD // every accepted key's, the primary first
}

// newSideCodec returns the codec for the given label and gossip keys (the
// primary, then the accepted ones); no keys: datagrams in clear.
func newSideCodec(label string, keys [][]byte) (*sideCodec, error) {
	if len(label) > 255 {
		return nil, fmt.Errorf("membership: label of %d bytes, limit 255", len(label))
	}
	c := &sideCodec{label: []byte(label), aad: append([]byte{sideTag}, label...)}
	for _, k := range keys {
		derived, err := hkdf.Key(sha256.New, k, nil, sideKeyInfo, len(k))
		if err != nil {
			return nil, fmt.Errorf("membership: side key: %w", err)
		}
		block, err := aes.NewCipher(derived)
		if err != nil {
			return nil, fmt.Errorf("membership: side key: %w", err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("membership: side key: %w", err)
		}
		c.open = append(c.open, aead)
	}
	if len(c.open) > 0 {
		c.seal = c.open[0]
	}
	return c, nil
}

// encode returns msg as a side datagram.
func (c *sideCodec) encode(msg []byte) []byte {
	if c.seal == nil {
		b := make([]byte, 0, 2+len(c.label)+len(msg))
		b = append(append(append(b, sideTag, byte(len(c.label))), c.label...), msg...)
		return b
	}
	b := make([]byte, 1, 1+c.seal.Overhead()+len(msg))
	b[0] = sideTag
	return c.seal.Seal(b, nil, msg, c.aad)
}

// decode returns the message a side datagram carries, or the reason it
// is refused (one of the reporter's kinds).
func (c *sideCodec) decode(b []byte) (msg []byte, refused string) {
	if len(b) < 2 || b[0] != sideTag {
		return nil, rejectPacketBad
	}
	if c.seal == nil {
		n := int(b[1])
		if len(b) < 2+n {
			return nil, rejectPacketBad
		}
		if string(b[2:2+n]) != string(c.label) {
			return nil, rejectPacketLabel
		}
		msg = b[2+n:]
		if len(msg) == 0 || len(msg) > maxSideMessage {
			return nil, rejectPacketBad
		}
		return msg, ""
	}
	sealed := b[1:]
	if len(sealed) > c.seal.Overhead()+maxSideMessage {
		return nil, rejectPacketBad
	}
	for _, aead := range c.open {
		if msg, err := aead.Open(nil, nil, sealed, c.aad); err == nil && len(msg) > 0 {
			return msg, ""
		}
	}
	return nil, rejectPacketAuth
}

// sideChannel receives side datagrams: the transport adapter's reader
// opens each one (take), and once started one goroutine of its own hands
// the messages to read, in order, until close. Until start, the messages
// wait in the queue; a channel never started needs no close.
type sideChannel struct {
	codec *sideCodec
	rep   *reporter
	queue chan []byte
	// direct, when set (before the adapter starts), takes the messages
	// handled as they are read (pings, acks and down notices:
	// Membership.takeAtOnce): it reports whether it took msg, and what
	// to answer.
	direct func(msg []byte) (reply []byte, took bool)

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

func newSideChannel(codec *sideCodec, rep *reporter) *sideChannel {
	return &sideChannel{codec: codec, rep: rep, queue: make(chan []byte, sideQueueDepth),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// take opens a side datagram and queues its message, or hands it to
// direct, reporting whether it did, and what direct answers (to be sent
// back where the datagram came from); one refused or beyond the queue is
// counted by reason and source, never logged alone.
func (s *sideChannel) take(p transport.Packet) (reply []byte, took bool) {
	msg, refused := s.codec.decode(p.Data)
	if refused != "" {
		s.rep.note(refused, p.From.String())
		return nil, false
	}
	if s.direct != nil {
		if reply, took := s.direct(msg); took {
			return reply, true
		}
	}
	select {
	case s.queue <- msg:
		return nil, true
	default:
		s.rep.note(dropHandlerFull, p.From.String())
		return nil, false
	}
}

// start hands the queued messages, and those taken later, to read on a
// goroutine of its own until close. It is called once.
func (s *sideChannel) start(read func([]byte)) { go s.run(read) }

func (s *sideChannel) run(read func([]byte)) {
	defer close(s.done)
	for {
		select {
		case msg := <-s.queue:
			read(msg)
		case <-s.stop:
			return
		}
	}
}

// close stops the reader started and waits for it; messages still queued
// are dropped. Later calls return at once.
func (s *sideChannel) close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

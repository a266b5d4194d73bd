package rpc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The frame layer: every message on a call connection, in both directions,
// is one frame. See the package documentation for the layout.

type frameType byte

const (
	frameRequest frameType = 1 // a call: the sender waits for a reply or an error with the same id
	frameCast    frameType = 2 // a one-way message: no reply
	frameReply   frameType = 3 // a handler's result for the request with the same id
	frameError   frameType = 4 // a failed request: a code and a message
	frameCancel  frameType = 5 // the caller gave up on the request with the same id
	frameHello   frameType = 6 // the first frame in each direction: version and peer IDs
)

// errCode says why a request failed, in an error frame.
type errCode byte

const (
	codeHandler    errCode = 1 // the handler returned an error: RemoteError
	codeNoHandler  errCode = 2 // ErrNoHandler
	codeOverloaded errCode = 3 // ErrOverloaded
	codeTooLarge   errCode = 4 // ErrTooLarge: the request or the reply exceeds a limit
	codeRegistered errCode = 5 // the handler returned a registered error: its name, then the text
	maxCode                = codeRegistered
)

const (
	headerSize = 14 // type, flags, payload length (uint32), id (uint64)
	maxNameLen = 255
	maxIDLen   = 255
	// requestOverhead is the largest payload of a request beyond its body:
	// name length, name, timeout.
	requestOverhead = 1 + maxNameLen + binary.MaxVarintLen64
	castOverhead    = 1 + maxNameLen
	// maxErrorMessage bounds the message of an error frame; longer handler
	// errors are truncated by the sender.
	maxErrorMessage = 8 << 10
	maxHelloPayload = 3 + maxIDLen + 1 + maxIDLen
	// readChunk is the most a reader allocates for a payload ahead of the
	// bytes actually received; larger payloads grow as their bytes arrive.
	readChunk = 64 << 10
)

// frame is one decoded frame. name and body alias the frame's payload, which
// the receiver owns.
type frame struct {
	typ     frameType
	id      uint64
	name    []byte // request, cast
	timeout uint64 // request: microseconds the caller still waits, 0 for none
	code    errCode
	body    []byte // request, cast, reply: the message; error: the text; hello: the payload
	// oversize marks a request, cast or reply whose payload exceeded the
	// limit. Its payload was skipped, not read into memory; only typ and id
	// are set.
	oversize bool
}

func (t frameType) valid() bool { return t >= frameRequest && t <= frameHello }

// payloadLimit is the largest payload a frame of type t may carry.
func payloadLimit(t frameType, maxBody int) uint64 {
	switch t {
	case frameRequest:
		return uint64(maxBody) + requestOverhead
	case frameCast:
		return uint64(maxBody) + castOverhead
	case frameReply:
		return uint64(maxBody)
	case frameError:
		return 1 + maxErrorMessage
	case frameHello:
		return maxHelloPayload
	default: // frameCancel
		return 0
	}
}

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// readFrame reads one frame from r. Payload lengths are checked against the
// limits from the header alone, before anything is allocated; a request,
// cast or reply over the limit is skipped and returned with oversize set, so
// the connection survives it. Below the limit, memory is allocated at most
// readChunk ahead of the bytes received. It returns io.EOF at a clean end
// between frames, io.ErrUnexpectedEOF inside one, and errors matching
// ErrProtocol for anything that is not a valid frame.
func readFrame(r *bufio.Reader, maxBody int) (frame, error) {
	hdr, err := r.Peek(headerSize)
	if err != nil {
		if errors.Is(err, io.EOF) && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return frame{}, err
	}
	f := frame{typ: frameType(hdr[0]), id: binary.BigEndian.Uint64(hdr[6:14])}
	flags := hdr[1]
	n := uint64(binary.BigEndian.Uint32(hdr[2:6]))
	_, _ = r.Discard(headerSize)
	if !f.typ.valid() {
		return frame{}, protocolErr("unknown frame type %d", hdr[0])
	}
	if flags != 0 {
		return frame{}, protocolErr("reserved flags %#x set", flags)
	}
	if f.id != 0 && (f.typ == frameCast || f.typ == frameHello) {
		return frame{}, protocolErr("frame type %d with id %d", f.typ, f.id)
	}
	if n > payloadLimit(f.typ, maxBody) {
		if f.typ != frameRequest && f.typ != frameCast && f.typ != frameReply {
			return frame{}, protocolErr("frame type %d with a %d-byte payload", f.typ, n)
		}
		if err := discard(r, n); err != nil {
			return frame{}, err
		}
		f.oversize = true
		return f, nil
	}
	p, err := readPayload(r, int(n))
	if err != nil {
		return frame{}, err
	}
	if err := f.parse(p, maxBody); err != nil {
		return frame{}, err
	}
	return f, nil
}

// parse fills f's fields from its payload.
func (f *frame) parse(p []byte, maxBody int) error {
	switch f.typ {
	case frameRequest, frameCast:
		if len(p) < 1 || p[0] == 0 || int(p[0]) > len(p)-1 {
			return protocolErr("bad name in frame type %d", f.typ)
		}
		nl := int(p[0])
		f.name, p = p[1:1+nl], p[1+nl:]
		if f.typ == frameRequest {
			t, k := binary.Uvarint(p)
			if k <= 0 {
				return protocolErr("bad timeout")
			}
			f.timeout, p = t, p[k:]
		}
		if len(p) > maxBody {
			*f = frame{typ: f.typ, id: f.id, oversize: true}
			return nil
		}
		f.body = p
	case frameReply, frameHello:
		f.body = p
	case frameError:
		// A code this build does not know (a later one) is read as a
		// handler's error: the caller still gets its text.
		if len(p) < 1 || p[0] == 0 {
			return protocolErr("bad error code")
		}
		f.code, f.body = errCode(p[0]), p[1:]
	}
	return nil
}

// readPayload reads exactly n bytes. Up to readChunk it allocates n at once;
// beyond, its buffer doubles as bytes arrive, so a length claimed by a peer
// that never sends the bytes costs at most readChunk.
func readPayload(r io.Reader, n int) ([]byte, error) {
	if n <= readChunk {
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, unexpected(err)
		}
		return p, nil
	}
	p := make([]byte, 0, readChunk)
	for len(p) < n {
		if len(p) == cap(p) {
			grown := make([]byte, len(p), min(2*cap(p), n))
			copy(grown, p)
			p = grown
		}
		m, err := io.ReadFull(r, p[len(p):cap(p)])
		p = p[:len(p)+m]
		if err != nil {
			return nil, unexpected(err)
		}
	}
	return p, nil
}

// discard skips n bytes without keeping them.
func discard(r *bufio.Reader, n uint64) error {
	for n > 0 {
		step := int(min(n, 1<<30))
		m, err := r.Discard(step)
		n -= uint64(m)
		if err != nil {
			return unexpected(err)
		}
	}
	return nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// The encoders append one whole frame to b. Callers check sizes first: a
// name is 1 to maxNameLen bytes, a body at most MaxMessageSize.

func appendHeader(b []byte, t frameType, id uint64, n int) []byte {
	b = append(b, byte(t), 0)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return binary.BigEndian.AppendUint64(b, id)
}

func appendRequest(b []byte, id uint64, name string, timeout uint64, body []byte) []byte {
	n := 1 + len(name) + uvarintLen(timeout) + len(body)
	b = appendHeader(b, frameRequest, id, n)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, timeout)
	return append(b, body...)
}

func appendCast(b []byte, name string, body []byte) []byte {
	b = appendHeader(b, frameCast, 0, 1+len(name)+len(body))
	b = append(b, byte(len(name)))
	b = append(b, name...)
	return append(b, body...)
}

func appendReply(b []byte, id uint64, body []byte) []byte {
	b = appendHeader(b, frameReply, id, len(body))
	return append(b, body...)
}

func appendError(b []byte, id uint64, code errCode, msg string) []byte {
	if len(msg) > maxErrorMessage {
		msg = msg[:maxErrorMessage]
	}
	b = appendHeader(b, frameError, id, 1+len(msg))
	b = append(b, byte(code))
	return append(b, msg...)
}

func appendCancel(b []byte, id uint64) []byte {
	return appendHeader(b, frameCancel, id, 0)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

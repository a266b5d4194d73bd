// Package wire encodes the small binary messages of the registry and
// groups services: unsigned varints and length-prefixed strings, read
// with bounds so that a peer's garbage yields ErrMalformed, never a panic
// or an allocation larger than the message itself.
package wire

import (
	"encoding/binary"
	"errors"
)

// ErrMalformed is returned for a message that cannot be read.
var ErrMalformed = errors.New("wire: malformed message")

// AppendUint appends an unsigned varint.
func AppendUint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendString appends a length-prefixed string.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends length-prefixed bytes.
func AppendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// Reader reads a message; the first error sticks and later reads return
// zero values.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Done reports an error unless every byte was read without one.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrMalformed
	}
	return r.err
}

// Fail marks the message unreadable.
func (r *Reader) Fail() {
	if r.err == nil {
		r.err = ErrMalformed
	}
}

// Rest returns the unread bytes (aliasing the message) and reads them.
func (r *Reader) Rest() []byte {
	if r.err != nil {
		return nil
	}
	v := r.b
	r.b = nil
	return v
}

// Uint reads an unsigned varint.
func (r *Reader) Uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrMalformed
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = ErrMalformed
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// Bytes reads length-prefixed bytes of at most limit, aliasing the message.
func (r *Reader) Bytes(limit int) []byte {
	n := r.Uint()
	if r.err != nil {
		return nil
	}
	if n > uint64(limit) || n > uint64(len(r.b)) {
		r.err = ErrMalformed
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// String reads a length-prefixed string of at most limit bytes.
func (r *Reader) String(limit int) string { return string(r.Bytes(limit)) }

// Count reads a count of items each at least minSize bytes long, and
// fails if the rest of the message cannot hold that many: what a reader
// preallocates is bounded by the message's size.
func (r *Reader) Count(minSize int) int {
	n := r.Uint()
	if r.err != nil {
		return 0
	}
	if minSize < 1 {
		minSize = 1
	}
	if n > uint64(len(r.b)/minSize) {
		r.err = ErrMalformed
		return 0
	}
	return int(n)
}

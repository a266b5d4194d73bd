package rpc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// encodeFrame appends f as its sender would have.
func encodeFrame(b []byte, f frame) []byte {
	switch f.typ {
	case frameRequest:
		return appendRequest(b, f.id, string(f.name), f.timeout, f.body)
	case frameCast:
		return appendCast(b, string(f.name), f.body)
	case frameReply:
		return appendReply(b, f.id, f.body)
	case frameError:
		return appendError(b, f.id, f.code, string(f.body))
	case frameCancel:
		return appendCancel(b, f.id)
	default:
		b = appendHeader(b, f.typ, f.id, len(f.body))
		return append(b, f.body...)
	}
}

func sameFrame(x, y frame) bool {
	return x.typ == y.typ && x.id == y.id && x.timeout == y.timeout && x.code == y.code &&
		x.oversize == y.oversize && bytes.Equal(x.name, y.name) && bytes.Equal(x.body, y.body)
}

// seedFrames are valid frames of every type.
func seedFrames() []frame {
	return []frame{
		{typ: frameRequest, id: 1, name: []byte("echo"), timeout: 1_500_000, body: []byte("hello")},
		{typ: frameRequest, id: 1 << 40, name: bytes.Repeat([]byte("n"), 255), body: nil},
		{typ: frameCast, name: []byte("note"), body: []byte{0, 1, 2}},
		{typ: frameReply, id: 2, body: []byte("world")},
		{typ: frameReply, id: 3},
		{typ: frameError, id: 4, code: codeHandler, body: []byte("no such account")},
		{typ: frameError, id: 5, code: codeOverloaded},
		{typ: frameCancel, id: 6},
		{typ: frameHello, body: appendHello(nil, hello{version: protoVersion, id: "a#1", want: "b#2"})[headerSize:]},
	}
}

func TestFramesRoundTrip(t *testing.T) {
	var stream []byte
	for _, f := range seedFrames() {
		stream = encodeFrame(stream, f)
	}
	br := bufio.NewReader(bytes.NewReader(stream))
	for _, want := range seedFrames() {
		got, err := readFrame(br, 1<<10)
		if err != nil {
			t.Fatalf("frame type %d: %v", want.typ, err)
		}
		if !sameFrame(got, want) {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
	}
	if _, err := readFrame(br, 1<<10); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	h, err := parseHello(seedFrames()[8].body)
	if err != nil || h.id != "a#1" || h.want != "b#2" || h.version != protoVersion {
		t.Fatalf("hello %+v, %v", h, err)
	}
}

func header(t frameType, flags byte, n uint32, id uint64) []byte {
	b := []byte{byte(t), flags}
	b = binary.BigEndian.AppendUint32(b, n)
	return binary.BigEndian.AppendUint64(b, id)
}

func TestMalformedFramesAreProtocolErrors(t *testing.T) {
	for name, in := range map[string][]byte{
		"unknown type":         header(9, 0, 0, 1),
		"type zero":            header(0, 0, 0, 1),
		"flags":                header(frameReply, 1, 0, 1),
		"cancel with payload":  append(header(frameCancel, 0, 1, 1), 0),
		"oversized error":      header(frameError, 0, 1+maxErrorMessage+1, 1),
		"oversized hello":      header(frameHello, 0, maxHelloPayload+1, 0),
		"empty request":        header(frameRequest, 0, 0, 1),
		"empty name":           append(header(frameRequest, 0, 2, 1), 0, 0),
		"name past payload":    append(header(frameRequest, 0, 3, 1), 5, 'a', 'b'),
		"missing timeout":      append(header(frameRequest, 0, 2, 1), 1, 'a'),
		"unterminated timeout": append(header(frameRequest, 0, 3, 1), 1, 'a', 0x80),
		"timeout overflow":     append(header(frameRequest, 0, 13, 1), append([]byte{1, 'a'}, bytes.Repeat([]byte{0xff}, 11)...)...),
		"error without code":   header(frameError, 0, 0, 1),
		"error code zero":      append(header(frameError, 0, 1, 1), 0),
		"cast with empty name": append(header(frameCast, 0, 1, 0), 0),
		"cast name past end":   append(header(frameCast, 0, 2, 0), 9, 'x'),
		"name with no bytes":   append(header(frameRequest, 0, 1, 0), 1),
	} {
		_, err := readFrame(bufio.NewReader(bytes.NewReader(in)), 1<<10)
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want ErrProtocol", name, err)
		}
	}
	for name, in := range map[string][]byte{
		"partial header":  header(frameReply, 0, 0, 1)[:5],
		"partial payload": append(header(frameReply, 0, 10, 1), 1, 2, 3),
	} {
		if _, err := readFrame(bufio.NewReader(bytes.NewReader(in)), 1<<10); err != io.ErrUnexpectedEOF {
			t.Errorf("%s: %v, want io.ErrUnexpectedEOF", name, err)
		}
	}
}

// allocated returns the bytes allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestOversizedFrameIsSkippedWithoutAllocating(t *testing.T) {
	const limit = 1 << 10
	const claimed = 64 << 20
	next := appendReply(nil, 9, []byte("next"))
	in := io.MultiReader(
		bytes.NewReader(header(frameRequest, 0, claimed, 7)),
		io.LimitReader(zeros{}, claimed),
		bytes.NewReader(next),
	)
	br := bufio.NewReaderSize(in, 4<<10)
	var f, g frame
	var err1, err2 error
	n := allocated(func() {
		f, err1 = readFrame(br, limit)
		g, err2 = readFrame(br, limit)
	})
	if err1 != nil || !f.oversize || f.id != 7 || f.typ != frameRequest {
		t.Fatalf("oversized frame: %+v, %v", f, err1)
	}
	if err2 != nil || string(g.body) != "next" {
		t.Fatalf("frame after it: %+v, %v", g, err2)
	}
	if n > 64<<10 {
		t.Fatalf("skipping a %d-byte payload allocated %d bytes", claimed, n)
	}
}

func TestClaimedLengthDoesNotDriveAllocation(t *testing.T) {
	const limit = DefaultMaxMessageSize
	in := append(header(frameReply, 0, limit, 1), make([]byte, 100)...)
	br := bufio.NewReaderSize(bytes.NewReader(in), 4<<10)
	var err error
	n := allocated(func() { _, err = readFrame(br, limit) })
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v", err)
	}
	if n > 2*readChunk {
		t.Fatalf("a %d-byte claim with 100 bytes behind it allocated %d bytes", limit, n)
	}
}

func TestLargePayloadGrowsToExactSize(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+1)
	in := appendReply(nil, 1, body)
	f, err := readFrame(bufio.NewReader(bytes.NewReader(in)), DefaultMaxMessageSize)
	if err != nil || !bytes.Equal(f.body, body) {
		t.Fatalf("large reply: %d bytes, %v", len(f.body), err)
	}
}

// FuzzDecodeFrame feeds arbitrary bytes to the frame decoder. Properties:
// it never panics; it fails only with io.EOF, io.ErrUnexpectedEOF or
// ErrProtocol; what it decodes re-encodes to a stream that decodes the same;
// no decoded field is longer than the input; and the bytes it allocates are
// bounded by the input's length plus a constant, whatever lengths the input
// claims (the limit here is DefaultMaxMessageSize, far above the constant).
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range seedFrames() {
		f.Add(encodeFrame(nil, fr))
	}
	var stream []byte
	for _, fr := range seedFrames() {
		stream = encodeFrame(stream, fr)
	}
	f.Add(stream)
	f.Add(header(frameRequest, 0, 0xffffffff, 1))
	f.Add(append(header(frameReply, 0, DefaultMaxMessageSize, 1), 1, 2, 3))
	f.Add(header(frameCancel, 0, 0, 0)[:7])
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = DefaultMaxMessageSize
		var frames []frame
		var err error
		n := allocated(func() {
			br := bufio.NewReaderSize(bytes.NewReader(data), 4<<10)
			for range 1000 {
				var fr frame
				if fr, err = readFrame(br, limit); err != nil {
					return
				}
				frames = append(frames, fr)
			}
		})
		if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrProtocol) && err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		if bound := uint64(256<<10 + 8*len(data)); n > bound {
			t.Fatalf("decoding %d bytes allocated %d (bound %d)", len(data), n, bound)
		}
		for _, fr := range frames {
			if len(fr.body) > len(data) || len(fr.name) > len(data) {
				t.Fatalf("decoded fields longer than the input: %+v", fr)
			}
			if fr.oversize {
				continue
			}
			re := encodeFrame(nil, fr)
			again, err := readFrame(bufio.NewReader(bytes.NewReader(re)), limit)
			if err != nil || !sameFrame(fr, again) {
				t.Fatalf("re-encoded %+v decodes as %+v, %v", fr, again, err)
			}
		}
	})
}

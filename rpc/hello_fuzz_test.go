package rpc

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzParseHello: whatever a peer sends as its hello, the decoder never
// panics, and what it accepts encodes back to the same bytes.
func FuzzParseHello(f *testing.F) {
	f.Add(appendHello(nil, hello{version: protoVersion, id: "app@10.0.0.1:4747#18edacb7c5e6518d", want: "b"}))
	f.Add(appendHello(nil, hello{version: protoVersion, status: helloBadID}))
	f.Add([]byte{byte(frameHello), 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 9})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := readHello(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		if len(h.id) > maxIDLen || len(h.want) > maxIDLen {
			t.Fatalf("hello with IDs of %d and %d bytes accepted", len(h.id), len(h.want))
		}
		out := appendHello(nil, h)
		if !bytes.Equal(out, in[:len(out)]) {
			t.Fatalf("hello %+v encodes as %x, read from %x", h, out, in)
		}
	})
}

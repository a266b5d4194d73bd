package replica

import (
	"bytes"
	"testing"
)

// Encoded messages read back as written.
func TestWireRoundTrip(t *testing.T) {
	ops := []logOp{{kind: opSet, key: "a", val: []byte("1")}, {kind: opDel, key: "b"}, {kind: opMark, term: 7}}
	from, to, got, err := decodePush(encodePush(4, 7, ops))
	if err != nil || from != 4 || to != 7 || len(got) != 3 || got[0].key != "a" || !bytes.Equal(got[0].val, []byte("1")) ||
		got[1].kind != opDel || got[2].term != 7 {
		t.Fatalf("push: %d %d %+v %v", from, to, got, err)
	}
	c, err := decodeChunk(encodeChunk(chunk{version: 9, term: 2, flags: flagFirst | flagLast, entries: []Op{{Key: "k", Val: []byte("v")}}}))
	if err != nil || c.version != 9 || c.term != 2 || c.flags != flagFirst|flagLast || len(c.entries) != 1 || c.entries[0].Key != "k" {
		t.Fatalf("chunk: %+v %v", c, err)
	}
	if _, _, _, err := decodePush(encodePush(4, 9, ops)); err == nil {
		t.Fatal("a push whose range does not match its changes was read")
	}
}

// Whatever a peer sends, reading it returns an error or a message, never
// panics, and allocates no more than the message's size allows.
func FuzzDecode(f *testing.F) {
	f.Add(encodePush(0, 1, []logOp{{kind: opSet, key: "k", val: []byte("v")}}))
	f.Add(encodeChunk(chunk{version: 1, flags: flagFirst, entries: []Op{{Key: "k"}}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _, _ = decodePush(b)
		_, _ = decodeChunk(b)
		_, _, _ = decodeStatus(b)
	})
}

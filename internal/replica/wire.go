package replica

import (
	"github.com/cloister-go/cloister/internal/wire"
)

// Limits on what a peer may send.
const (
	MaxKey = 1024 // bytes of a key
	MaxVal = 4096 // bytes of a value

	// MaxStateBytes bounds the whole state a peer may send in one sync
	// (keys, values and entryOverhead each), whatever MaxEntries allows.
	MaxStateBytes = 256 << 20
	entryOverhead = 64 // what an entry costs beyond its key and value, about

	chunkBytes = 256 << 10 // a sync chunk or a push batch, roughly
	maxBatch   = 8192      // changes in one push
)

// Op kinds on the wire.
const (
	opSet  = 0
	opDel  = 1
	opMark = 2
)

// Answers to a push or a sync chunk.
const (
	statusOK        = 0
	statusNeedSync  = 1
	statusNotInView = 2
)

// logOp is a numbered change of this member's entries.
type logOp struct {
	kind byte
	key  string
	val  []byte
	term uint64 // opMark
}

func appendOp(b []byte, o logOp) []byte {
	b = append(b, o.kind)
	switch o.kind {
	case opMark:
		return wire.AppendUint(b, o.term)
	case opDel:
		return wire.AppendString(b, o.key)
	default:
		b = wire.AppendString(b, o.key)
		return wire.AppendBytes(b, o.val)
	}
}

func readOp(r *wire.Reader) logOp {
	o := logOp{kind: r.Byte()}
	switch o.kind {
	case opMark:
		o.term = r.Uint()
	case opDel:
		o.key = r.String(MaxKey)
	case opSet:
		o.key = r.String(MaxKey)
		o.val = r.Bytes(MaxVal)
	default:
		r.Fail()
	}
	return o
}

// push: from, to, count, ops.
func encodePush(from, to uint64, ops []logOp) []byte {
	b := make([]byte, 0, 64+len(ops)*24)
	b = wire.AppendUint(b, from)
	b = wire.AppendUint(b, to)
	b = wire.AppendUint(b, uint64(len(ops)))
	for _, o := range ops {
		b = appendOp(b, o)
	}
	return b
}

func decodePush(body []byte) (from, to uint64, ops []logOp, err error) {
	r := wire.NewReader(body)
	from, to = r.Uint(), r.Uint()
	n := r.Count(2)
	ops = make([]logOp, 0, n)
	for range n {
		ops = append(ops, readOp(r))
	}
	if err := r.Done(); err != nil {
		return 0, 0, nil, err
	}
	if to-from != uint64(n) || to < from {
		return 0, 0, nil, wire.ErrMalformed
	}
	return from, to, ops, nil
}

// sync chunk: version, term, flags, count, entries.
const (
	flagFirst = 1
	flagLast  = 2
)

type chunk struct {
	version, term uint64
	flags         byte
	entries       []Op
}

func encodeChunk(c chunk) []byte {
	size := 32
	for _, e := range c.entries {
		size += len(e.Key) + len(e.Val) + 4
	}
	b := make([]byte, 0, size)
	b = wire.AppendUint(b, c.version)
	b = wire.AppendUint(b, c.term)
	b = append(b, c.flags)
	b = wire.AppendUint(b, uint64(len(c.entries)))
	for _, e := range c.entries {
		b = wire.AppendString(b, e.Key)
		b = wire.AppendBytes(b, e.Val)
	}
	return b
}

func decodeChunk(body []byte) (chunk, error) {
	r := wire.NewReader(body)
	c := chunk{version: r.Uint(), term: r.Uint(), flags: r.Byte()}
	n := r.Count(2)
	c.entries = make([]Op, 0, n)
	for range n {
		k := r.String(MaxKey)
		v := r.Bytes(MaxVal)
		c.entries = append(c.entries, Op{Key: k, Val: v})
	}
	return c, r.Done()
}

func encodeStatus(status byte, version uint64) []byte {
	return wire.AppendUint([]byte{status}, version)
}

func decodeStatus(b []byte) (byte, uint64, error) {
	r := wire.NewReader(b)
	s, v := r.Byte(), r.Uint()
	return s, v, r.Done()
}

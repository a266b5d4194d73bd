package ring

import (
	"encoding/binary"
	"math"
)

// checksumVersion names the placement algorithm. It is hashed into every
// checksum so that nodes running incompatible versions of this package
// see different checksums even for the same members.
const checksumVersion = "cloister/ring v1"

var emptyChecksum = checksum(&Ring{slots: DefaultSlots})

// checksum hashes a canonical encoding of the ring in chunks, chaining each
// chunk's wyhash into the next one's seed.
func checksum(r *Ring) uint64 {
	var c chain
	c.bytes([]byte(checksumVersion))
	c.u64(uint64(r.slots))
	if r.bounded {
		c.u64(1)
		c.u64(r.epsPPM)
	} else {
		c.u64(0)
	}
	c.u64(uint64(len(r.members)))
	for _, m := range r.members {
		c.u64(uint64(len(m.ID)))
		c.bytes([]byte(m.ID))
		c.u64(math.Float64bits(m.Weight))
	}
	for _, v := range r.table {
		if len(c.buf)+2 > cap(c.buf) {
			c.flush()
		}
		c.buf = binary.LittleEndian.AppendUint16(c.buf, v)
	}
	c.flush()
	return c.h
}

// chain buffers bytes and folds each full buffer into h.
type chain struct {
	h   uint64
	buf []byte
	arr [1024]byte
}

func (c *chain) bytes(b []byte) {
	if c.buf == nil {
		c.buf = c.arr[:0]
	}
	for len(b) > 0 {
		if len(c.buf) == cap(c.buf) {
			c.flush()
		}
		n := copy(c.buf[len(c.buf):cap(c.buf)], b)
		c.buf = c.buf[:len(c.buf)+n]
		b = b[n:]
	}
}

func (c *chain) u64(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	c.bytes(b[:])
}

func (c *chain) flush() {
	if c.buf == nil {
		c.buf = c.arr[:0]
	}
	c.h = wyhash(c.buf, c.h^wymix(c.h^wyp[0], wyp[1]))
	c.buf = c.buf[:0]
}

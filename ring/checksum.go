package ring

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// checksumVersion names the placement algorithm. It is hashed into every
// checksum so that nodes running incompatible versions of this package
// see different checksums even for the same members.
const checksumVersion = "cloister/ring v1"

var emptyChecksum = checksum(&Ring{slots: DefaultSlots})

// checksum hashes a canonical encoding of the ring in chunks of chunkBytes,
// chaining each chunk's wyhash into the next one's seed. The chunking is
// part of the value: changing it would change every checksum.
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
	c.u16s(r.table)
	c.flush()
	return c.h
}

// chunkBytes is the size of the chunks the checksum hashes.
const chunkBytes = 1024

// chain buffers bytes and folds each full buffer into h.
type chain struct {
	h   uint64
	buf []byte
	arr [chunkBytes]byte
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

// u16s appends vs little-endian. A value never straddles two chunks: when
// fewer than 2 bytes are left, the chunk is folded first (so after an odd
// number of header bytes, one chunk is a byte short). A chunk made of
// table values alone, with more values after it, is hashed straight from
// vs, which gives what encoding it into the buffer would.
func (c *chain) u16s(vs []uint16) {
	for len(vs) > 0 {
		if len(c.buf)+2 > cap(c.buf) {
			c.flush()
		}
		if len(c.buf) == 0 && cap(c.buf) == chunkBytes && len(vs) > chunkValues {
			c.h = wyhashChunk((*[chunkValues]uint16)(vs), c.seed())
			vs = vs[chunkValues:]
			continue
		}
		n := min(len(vs), (cap(c.buf)-len(c.buf))/2)
		b, v := c.buf[len(c.buf):len(c.buf)+2*n], vs[:n]
		for len(v) >= 4 && len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, le64u16(v))
			b, v = b[8:], v[4:]
		}
		for i, x := range v {
			binary.LittleEndian.PutUint16(b[2*i:], x)
		}
		c.buf = c.buf[:len(c.buf)+2*n]
		vs = vs[n:]
	}
}

// chunkValues is how many uint16 values fill a chunk.
const chunkValues = chunkBytes / 2

// wyhashChunk returns wyhash(b, seed) for b the 1024-byte little-endian
// encoding of v: wyhash's long-input path unrolled for that length (21
// rounds of 48 bytes, then the last 16 bytes), reading the bytes from v.
// TestWyhashChunk checks it against wyhash.
func wyhashChunk(v *[chunkValues]uint16, seed uint64) uint64 {
	see1, see2 := seed, seed
	p := v[:]
	for len(p) > 24 { // 48 bytes
		seed = wymix(le64u16(p[0:])^wyp[1], le64u16(p[4:])^seed)
		see1 = wymix(le64u16(p[8:])^wyp[2], le64u16(p[12:])^see1)
		see2 = wymix(le64u16(p[16:])^wyp[3], le64u16(p[20:])^see2)
		p = p[24:]
	}
	seed ^= see1 ^ see2
	hi, lo := bits.Mul64(le64u16(v[chunkValues-8:])^wyp[1], le64u16(v[chunkValues-4:])^seed)
	return wymix(lo^wyp[0]^chunkBytes, hi^wyp[1])
}

// le64u16 is the little-endian uint64 made of v[0:4].
func le64u16(v []uint16) uint64 {
	_ = v[3]
	return uint64(v[0]) | uint64(v[1])<<16 | uint64(v[2])<<32 | uint64(v[3])<<48
}

func (c *chain) flush() {
	if c.buf == nil {
		c.buf = c.arr[:0]
	}
	c.h = wyhash(c.buf, c.seed())
	c.buf = c.buf[:0]
}

// seed is the wyhash state the next chunk is hashed from: seed h.
func (c *chain) seed() uint64 {
	return c.h ^ wymix(c.h^wyp[0], wyp[1])
}

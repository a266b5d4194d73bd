package ring

import "math/bits"

// The key hash is wyhash version 4.1 ("final4", reference commit 77e50f2,
// whose test_vector.cpp values TestWyhashVectors checks), written from the
// reference description at https://github.com/wangyi-fudan/wyhash. It is fast on short keys (two
// 64x64->128 multiplications up to 16 bytes), passes SMHasher, and is
// unseeded here (seed 0), so it is the same in every process. It decides
// which slot a key falls in, so it must never change for a given
// checksumVersion.

// wyp is the default secret of wyhash v4.1.
var wyp = [4]uint64{0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3, 0x589965cc75374cc3}

// seed0 is the initial state for seed 0: 0 ^ wymix(0^wyp[0], wyp[1]).
// TestSeed0 checks it.
const seed0 = 0x1ff5c2923a788d2c

// bytesOrString is the set of key types the hash accepts without copying.
type bytesOrString interface{ ~string | ~[]byte }

// sum64 returns wyhash(b, seed 0).
func sum64[T bytesOrString](b T) uint64 {
	return wyhash(b, seed0)
}

// wyhash hashes b from an initialized state (seed ^ wymix(seed^wyp[0], wyp[1])).
// It contains no call, so each instantiation is straight-line code for
// short keys.
func wyhash[T bytesOrString](b T, seed uint64) uint64 {
	n := len(b)
	var a, c uint64
	switch {
	case n <= 16 && n >= 4:
		q := (n >> 3) << 2
		a = uint64(le32(b[0:]))<<32 | uint64(le32(b[q:]))
		c = uint64(le32(b[n-4:]))<<32 | uint64(le32(b[n-4-q:]))
	case n <= 16 && n > 0:
		a = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	case n > 16:
		p := b
		if len(p) > 48 {
			see1, see2 := seed, seed
			for len(p) > 48 {
				seed = wymix(le64(p[0:])^wyp[1], le64(p[8:])^seed)
				see1 = wymix(le64(p[16:])^wyp[2], le64(p[24:])^see1)
				see2 = wymix(le64(p[32:])^wyp[3], le64(p[40:])^see2)
				p = p[48:]
			}
			seed ^= see1 ^ see2
		}
		for len(p) > 16 {
			seed = wymix(le64(p[0:])^wyp[1], le64(p[8:])^seed)
			p = p[16:]
		}
		// The last 16 bytes of the whole input, which may reach back
		// before p.
		a = le64(b[n-16:])
		c = le64(b[n-8:])
	}
	hi, lo := bits.Mul64(a^wyp[1], c^seed)
	return wymix(lo^wyp[0]^uint64(n), hi^wyp[1])
}

// wymix is wyhash's mixing step: the xor of the two halves of a*b.
func wymix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// le64 reads 8 little-endian bytes; the compiler turns it into one load.
func le64[T bytesOrString](b T) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func le32[T bytesOrString](b T) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// mix64 is the SplitMix64 output function (Steele, Lea, Flood 2014): a
// bijective 64-bit finalizer used to spread a member's ring points.
func mix64(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// golden is the SplitMix64 increment (2^64 / phi, odd).
const golden = 0x9E3779B97F4A7C15

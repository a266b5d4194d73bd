package ring

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// The vectors of wyhash's reference test_vector.cpp (final4), where the
// i-th string is hashed with seed i.
func TestWyhashVectors(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
	}{
		{"", 0x409638ee2bde459},
		{"a", 0xa8412d091b5fe0a9},
		{"abc", 0x32dd92e4b2915153},
		{"message digest", 0x8619124089a3a16b},
		{"abcdefghijklmnopqrstuvwxyz", 0x7a43afb61d7f5f40},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 0xff42329b90e50d58},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567890", 0xc39cab13b115aad3},
	}
	for i, c := range cases {
		seed := uint64(i)
		state := seed ^ wymix(seed^wyp[0], wyp[1])
		if got := wyhash(c.in, state); got != c.want {
			t.Errorf("wyhash(%q, %d) = %#x, want %#x", c.in, i, got, c.want)
		}
		if got := wyhash([]byte(c.in), state); got != c.want {
			t.Errorf("wyhash([]byte(%q), %d) = %#x, want %#x", c.in, i, got, c.want)
		}
	}
}

func TestSeed0(t *testing.T) {
	if got := wymix(wyp[0], wyp[1]); got != seed0 {
		t.Fatalf("seed0 = %#x, want %#x", uint64(seed0), got)
	}
}

// Every length from 0 to 200 exercises each path; the string and []byte
// instantiations must agree and no two prefixes may collide.
func TestSum64StringBytesAgree(t *testing.T) {
	s := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 6)
	seen := map[uint64]bool{}
	for n := 0; n <= 200; n++ {
		a, b := sum64(s[:n]), sum64([]byte(s[:n]))
		if a != b {
			t.Fatalf("len %d: string %#x != bytes %#x", n, a, b)
		}
		if seen[a] {
			t.Fatalf("len %d: repeated hash %#x", n, a)
		}
		seen[a] = true
	}
}

// wyhashChunk is wyhash of a whole chunk of little-endian uint16 values.
func TestWyhashChunk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100 {
		var v [chunkValues]uint16
		for i := range v {
			v[i] = uint16(rng.Uint32())
		}
		b := make([]byte, 0, 2*len(v))
		for _, x := range v {
			b = binary.LittleEndian.AppendUint16(b, x)
		}
		seed := rng.Uint64()
		if got, want := wyhashChunk(&v, seed), wyhash(b, seed); got != want {
			t.Fatalf("wyhashChunk = %#x, wyhash = %#x", got, want)
		}
	}
}

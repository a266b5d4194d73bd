package ring

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"testing"
)

// benchKeys are short keys of the shape caches and routers see.
var benchKeys = func() []string {
	keys := make([]string, 1<<12)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i*7919)
	}
	return keys
}()

func benchMembers(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("node-%d", i)}
	}
	return ms
}

func BenchmarkOwnerString(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		r, err := New(benchMembers(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			mask := len(benchKeys) - 1
			for i := 0; b.Loop(); i++ {
				if _, err := r.OwnerString(benchKeys[i&mask]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOwner(b *testing.B) {
	keys := make([][]byte, len(benchKeys))
	for i, k := range benchKeys {
		keys[i] = []byte(k)
	}
	for _, n := range []int{10, 100, 1000} {
		r, err := New(benchMembers(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			mask := len(keys) - 1
			for i := 0; b.Loop(); i++ {
				if _, err := r.Owner(keys[i&mask]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendOwnersN(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		r, err := New(benchMembers(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("nodes="+strconv.Itoa(n)+"/n=3", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]Member, 0, 3)
			mask := len(benchKeys) - 1
			for i := 0; b.Loop(); i++ {
				if _, err := r.AppendOwnersNString(buf[:0], benchKeys[i&mask], 3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOwnersN(b *testing.B) {
	r, err := New(benchMembers(100))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	mask := len(benchKeys) - 1
	for i := 0; b.Loop(); i++ {
		if _, err := r.OwnersNString(benchKeys[i&mask], 3); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for _, n := range []int{1, 3, 10, 50, 100, 1000} {
		ms := benchMembers(n)
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(ms); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	ms := benchMembers(1000)
	b.Run("nodes=1000/bounded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := New(ms, WithBoundedLoad(0.05)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNewCold measures New the way a process that has just started
// pays for it: before each build the heap is returned to the operating
// system (outside the timer), so the build's fresh allocations take page
// faults instead of reusing memory freed by the previous iteration.
func BenchmarkNewCold(b *testing.B) {
	for _, n := range []int{3, 10, 50, 1000} {
		ms := benchMembers(n)
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				debug.FreeOSMemory()
				b.StartTimer()
				if _, err := New(ms); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkChecksum(b *testing.B) {
	r, err := New(benchMembers(10))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			checksum(r)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			refChecksum(r)
		}
	})
}

// BenchmarkAssignSlots compares the slot assignment alone with the
// reference implementation kept in reference_test.go, warm and cold (see
// BenchmarkNewCold).
func BenchmarkAssignSlots(b *testing.B) {
	for _, n := range []int{3, 10, 50, 1000} {
		ms, _ := normalize(benchMembers(n))
		pts := make([]uint32, n)
		for i, m := range ms {
			pts[i] = points(m.Weight)
		}
		shift := 64 - log2(DefaultSlots)
		for _, impl := range []struct {
			name string
			f    func([]Member, []uint32, uint8) []uint16
		}{{"new", assignSlots}, {"reference", refAssignSlots}} {
			for _, cold := range []bool{false, true} {
				name := "nodes=" + strconv.Itoa(n) + "/" + impl.name
				if cold {
					name += "/cold"
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if cold {
							b.StopTimer()
							debug.FreeOSMemory()
							b.StartTimer()
						}
						impl.f(ms, pts, shift)
					}
				})
			}
		}
	}
}

package main

import (
	"strconv"
	"testing"
)

// BenchmarkLookup compares owner lookups side by side:
//
//	cd bench/ringbench && go test -bench . -benchmem
func BenchmarkLookup(b *testing.B) {
	for _, name := range lookupNames {
		b.Run(name, func(b *testing.B) {
			for _, n := range nodeCounts {
				b.Run("nodes="+strconv.Itoa(n), lookupBench(name, n))
			}
		})
	}
}

// BenchmarkBuild compares building a ring of 1000 nodes from scratch.
func BenchmarkBuild(b *testing.B) {
	nodes := nodeNames(1000)
	for _, l := range append(libs, boundedLibs...) {
		b.Run(l.name+"/nodes=1000", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.build(nodes)
			}
		})
	}
}

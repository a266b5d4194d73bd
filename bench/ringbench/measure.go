package main

import (
	"runtime"
	"strconv"
	"time"
)

// distKeys returns the keys used for balance and movement.
func distKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "object/" + strconv.Itoa(i)
	}
	return keys
}

// balance returns max/mean keys per node for n nodes.
func balance(l lib, n int, keys []string) float64 {
	owner := l.build(nodeNames(n))
	count := map[string]int{}
	for _, k := range keys {
		count[owner(k)]++
	}
	most := 0
	for _, c := range count {
		most = max(most, c)
	}
	return float64(most) / (float64(len(keys)) / float64(n))
}

// slotBalance returns max/mean slots per member of a cloister ring.
func slotBalance(l lib, n int) float64 {
	r := newCloister(nodeNames(n), l.ringOpts...)
	count := map[string]int{}
	for s := range r.Slots() {
		m, err := r.SlotOwner(s)
		if err != nil {
			panic(err)
		}
		count[m.ID]++
	}
	most := 0
	for _, c := range count {
		most = max(most, c)
	}
	return float64(most) / (float64(r.Slots()) / float64(n))
}

// movement returns the fraction of keys whose owner changes when node n+1
// joins n nodes, divided by the ideal 1/(n+1).
func movement(l lib, n int, keys []string) float64 {
	nodes := nodeNames(n + 1)
	before := l.build(nodes[:n])
	after := l.build(nodes)
	moved := 0
	for _, k := range keys {
		if before(k) != after(k) {
			moved++
		}
	}
	return float64(moved) / float64(len(keys)) * float64(n+1)
}

// buildTime returns the mean time to build a ring of n nodes, over at
// least 3 builds and about budget of wall time.
func buildTime(l lib, n int, budget time.Duration) time.Duration {
	nodes := nodeNames(n)
	l.build(nodes) // warm up
	start := time.Now()
	runs := 0
	for runs < 3 || (time.Since(start) < budget && runs < 1000) {
		l.build(nodes)
		runs++
	}
	return time.Since(start) / time.Duration(runs)
}

// memory returns the heap retained by one ring of n nodes: the HeapAlloc
// difference, after garbage collection, with and without the ring alive.
func memory(l lib, n int) uint64 {
	nodes := nodeNames(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	owner := l.build(nodes)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(owner)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

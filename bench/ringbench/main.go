// Command ringbench compares github.com/cloister-go/cloister/ring with
// other Go consistent-hashing libraries and prints a markdown report:
//
//	cd bench/ringbench && go run .
//
// It is a separate module so that the cloister module does not depend on
// the libraries it is compared with.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func main() {
	testing.Init()
	benchtime := flag.Duration("benchtime", time.Second, "time per lookup benchmark")
	nkeys := flag.Int("keys", 1_000_000, "keys for balance and movement")
	flag.Parse()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		panic(err)
	}
	start := time.Now()

	fmt.Printf("Machine: %s, %d CPUs, %s/%s, %s\n\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())

	type lookupResult struct {
		ns     float64
		allocs int64
	}
	lookups := map[string]map[int]lookupResult{}
	all := append(append([]lib{}, libs...), boundedLibs...)
	for _, l := range all {
		lookups[l.name] = map[int]lookupResult{}
		for _, n := range nodeCounts {
			name := l.name
			if l.ringOpts != nil {
				name = "cloister"
			}
			r := testing.Benchmark(lookupBench(name, n, l.ringOpts...))
			lookups[l.name][n] = lookupResult{float64(r.T.Nanoseconds()) / float64(r.N), r.AllocsPerOp()}
		}
	}

	keys := distKeys(*nkeys)
	type dist struct {
		balance, moved float64
		build          time.Duration
		mem100, mem1k  uint64
	}
	dists := map[string]dist{}
	for _, l := range all {
		dists[l.name] = dist{
			balance: balance(l, 100, keys),
			moved:   movement(l, 100, keys),
			build:   buildTime(l, 1000, time.Second),
			mem100:  memory(l, 100),
			mem1k:   memory(l, 1000),
		}
	}

	fmt.Printf("Lookup: ns/op and allocs/op of one owner lookup (testing.Benchmark, %v each, %d short keys cycled). "+
		"Balance and movement: %d keys. Build: mean of repeated builds. "+
		"Memory: heap retained by one ring (runtime.ReadMemStats HeapAlloc after GC, with minus without the ring).\n\n",
		*benchtime, len(lookupKeys), len(keys))
	fmt.Println("| library | configuration | lookup 10 nodes | lookup 100 nodes | lookup 1000 nodes | max/mean, 100 nodes | moved / ideal, 100→101 | build, 1000 nodes | memory, 100 nodes | memory, 1000 nodes |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range all {
		lk, d := lookups[l.name], dists[l.name]
		fmt.Printf("| %s | %s | %s | %s | %s | %.3f | %.3f | %s | %s | %s |\n",
			l.name, l.config, fmtLookup(lk[10].ns, lk[10].allocs), fmtLookup(lk[100].ns, lk[100].allocs),
			fmtLookup(lk[1000].ns, lk[1000].allocs), d.balance, d.moved, fmtDuration(d.build), fmtBytes(d.mem100), fmtBytes(d.mem1k))
	}

	fmt.Println("\nGoals:")
	for _, n := range nodeCounts {
		best, bestName := 0.0, ""
		for _, l := range libs[1:] {
			if ns := lookups[l.name][n].ns; best == 0 || ns < best {
				best, bestName = ns, l.name
			}
		}
		c := lookups["cloister"][n]
		fmt.Printf("- lookup, %d nodes: cloister %.1f ns, %d allocs; fastest peer %s %.1f ns; ratio %.2f (goal <= 0.50, 0 allocs): %s\n",
			n, c.ns, c.allocs, bestName, best, c.ns/best, verdict(c.ns <= best/2 && c.allocs == 0))
	}
	b := dists["cloister"]
	fmt.Printf("- balance, 100 nodes, plain: %.3f keys max/mean (%.3f slots) (goal <= 1.10): %s\n",
		b.balance, slotBalance(libs[0], 100), verdict(b.balance <= 1.10))
	for _, l := range boundedLibs {
		d := dists[l.name]
		fmt.Printf("- balance, 100 nodes, %s: %.3f keys max/mean (%.3f slots) (goal <= 1.05): %s\n",
			l.config, d.balance, slotBalance(l, 100), verdict(d.balance <= 1.05))
	}
	fmt.Printf("- movement, 100→101, plain: %.3f × ideal (goal <= 1.10): %s\n", b.moved, verdict(b.moved <= 1.10))
	for _, l := range boundedLibs {
		d := dists[l.name]
		fmt.Printf("- movement, 100→101, %s: %.3f × ideal (goal <= 1.10): %s\n", l.config, d.moved, verdict(d.moved <= 1.10))
	}
	fmt.Fprintf(os.Stderr, "ringbench: done in %v\n", time.Since(start).Round(time.Second))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func fmtLookup(ns float64, allocs int64) string {
	return fmt.Sprintf("%.1f ns, %d alloc", ns, allocs)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	}
}

func fmtBytes(b uint64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	default:
		return fmt.Sprintf("%d B", b)
	}
}

// cpuModel returns the CPU model name on Linux, or "unknown CPU".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown CPU"
}

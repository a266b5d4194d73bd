// Command rpcbench compares cloister's call layer (package rpc) with gRPC
// unary calls and a raw length-prefixed TCP echo, all on loopback in one
// process, and prints a markdown table:
//
//	cd bench/rpcbench && go run .
//
// It is a separate module so that the cloister module does not depend on
// gRPC.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

type system struct {
	name  string
	start func() (target, error)
}

var systems = []system{
	{"cloister rpc, secret-derived TLS 1.3", func() (target, error) { return newCloister(true) }},
	{"cloister rpc, insecure", func() (target, error) { return newCloister(false) }},
	{"gRPC unary, insecure", newGRPC},
	{"raw TCP echo, conn per caller", newRaw},
}

type measurement struct {
	p50, p99 time.Duration
	rate     float64
}

func main() {
	seq := flag.Int("seq", 20000, "sequential calls for the latency percentiles")
	conc := flag.Int("conc", 64, "concurrent callers for throughput")
	dur := flag.Duration("dur", 3*time.Second, "throughput window per system and round")
	size := flag.Int("size", 64, "payload bytes")
	rounds := flag.Int("rounds", 3, "rounds; each metric is the median over rounds")
	only := flag.String("only", "", "run only the systems whose name contains this (for profiling; no comparison)")
	flag.Parse()
	if *only != "" {
		profileOnly(*only, *seq, *conc, *dur, *size)
		return
	}
	start := time.Now()
	fmt.Printf("Machine: %s, %d CPUs, GOMAXPROCS %d, %s/%s, %s\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())

	targets := make([]target, len(systems))
	for i, s := range systems {
		t, err := s.start()
		if err != nil {
			fail(s.name, err)
		}
		targets[i] = t
	}
	msg := make([]byte, *size)
	for i := range msg {
		msg[i] = byte(i)
	}
	results := make([][]measurement, len(systems))
	for r := range *rounds {
		// Rotate the order so no system always runs first or last.
		for k := range systems {
			i := (k + r) % len(systems)
			runtime.GC()
			p50, p99, err := latency(targets[i], *seq, msg)
			if err != nil {
				fail(systems[i].name, err)
			}
			rate, err := throughput(targets[i], *conc, *dur, msg)
			if err != nil {
				fail(systems[i].name, err)
			}
			results[i] = append(results[i], measurement{p50, p99, rate})
		}
	}
	for _, t := range targets {
		t.close()
	}

	med := make([]measurement, len(systems))
	for i, rs := range results {
		med[i] = measurement{
			p50:  time.Duration(median(rs, func(m measurement) float64 { return float64(m.p50) })),
			p99:  time.Duration(median(rs, func(m measurement) float64 { return float64(m.p99) })),
			rate: median(rs, func(m measurement) float64 { return m.rate }),
		}
	}
	const ours, grpcRow, raw = 0, 2, 3
	fmt.Printf("%d-byte payload; latency: %d sequential calls, one caller; throughput: %d concurrent callers for %v; median of %d rounds.\n\n",
		*size, *seq, *conc, *dur, *rounds)
	fmt.Println("| system | p50 | p99 | calls/s | × gRPC | × raw TCP |")
	fmt.Println("|---|--:|--:|--:|--:|--:|")
	for i, s := range systems {
		m := med[i]
		fmt.Printf("| %s | %s | %s | %.0f | %.2f | %.2f |\n", s.name, us(m.p50), us(m.p99), m.rate,
			m.rate/med[grpcRow].rate, m.rate/med[raw].rate)
	}
	fmt.Println()
	fmt.Println("Goals for cloister rpc with TLS:")
	goal := func(ok bool, format string, args ...any) {
		mark := "met"
		if !ok {
			mark = "MISSED"
		}
		fmt.Printf("- %s: %s\n", fmt.Sprintf(format, args...), mark)
	}
	o, g, w := med[ours], med[grpcRow], med[raw]
	goal(o.rate >= 2*g.rate, "throughput ≥ 2× gRPC (%.2f×)", o.rate/g.rate)
	goal(o.rate >= 0.7*w.rate, "throughput ≥ 0.7× raw TCP (%.2f×)", o.rate/w.rate)
	goal(2*o.p50 <= g.p50, "p50 ≤ ½ gRPC's (%.2f×)", float64(o.p50)/float64(g.p50))
	fmt.Printf("\nPer round (p50 / p99 / calls/s):\n\n")
	for i, s := range systems {
		var parts []string
		for _, m := range results[i] {
			parts = append(parts, fmt.Sprintf("%s / %s / %.0f", us(m.p50), us(m.p99), m.rate))
		}
		fmt.Printf("- %s: %s\n", s.name, strings.Join(parts, "; "))
	}
	fmt.Printf("\nTotal run time %v.\n", time.Since(start).Round(time.Second))
}

func median(rs []measurement, f func(measurement) float64) float64 {
	v := make([]float64, len(rs))
	for i, m := range rs {
		v[i] = f(m)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/1e3) }

func fail(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// profileOnly measures the matching systems alone, for profiling.
func profileOnly(only string, seq, conc int, dur time.Duration, size int) {
	msg := make([]byte, size)
	for _, s := range systems {
		if !strings.Contains(s.name, only) {
			continue
		}
		t, err := s.start()
		if err != nil {
			fail(s.name, err)
		}
		if seq > 0 {
			p50, p99, err := latency(t, seq, msg)
			if err != nil {
				fail(s.name, err)
			}
			fmt.Printf("%s: p50 %s p99 %s\n", s.name, us(p50), us(p99))
		}
		if dur > 0 {
			rate, err := throughput(t, conc, dur, msg)
			if err != nil {
				fail(s.name, err)
			}
			fmt.Printf("%s: %.0f calls/s\n", s.name, rate)
		}
		t.close()
	}
}

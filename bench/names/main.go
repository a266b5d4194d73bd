package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	sizes := flag.String("n", "3,10", "cluster sizes")
	runs := flag.Int("runs", 3, "runs per size (medians and spread are over them)")
	seq := flag.Int("seq", 2000, "sequential registrations and joins")
	conc := flag.Int("conc", 20000, "concurrent registrations (cloister)")
	erlConc := flag.Int("erlang-conc", 2000, "concurrent registrations (:global)")
	workers := flag.Int("workers", 64, "concurrent workers")
	catchup := flag.Int("catchup", 100000, "names a joining node catches up with (0: skip)")
	erlang := flag.Bool("erlang", true, "measure Erlang/OTP too")
	flag.Parse()
	if err := run(*sizes, *runs, *seq, *conc, *erlConc, *workers, *catchup, *erlang); err != nil {
		fmt.Fprintln(os.Stderr, "names:", err)
		os.Exit(1)
	}
}

// samples collects a metric's values over runs.
type samples map[string][]float64

func (s samples) add(m map[string]float64) {
	for k, v := range m {
		s[k] = append(s[k], v)
	}
}

// cell is "median (min–max)", or "median" for one run, or "–".
func (s samples) cell(k string, digits int) string {
	v := slices.Clone(s[k])
	if len(v) == 0 {
		return "–"
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', digits, 64) }
	if len(v) == 1 {
		return f(med)
	}
	return fmt.Sprintf("%s (%s–%s)", f(med), f(v[0]), f(v[len(v)-1]))
}

func run(sizes string, runs, seq, conc, erlConc, workers, catchup int, erlang bool) error {
	ctx := context.Background()
	fmt.Printf("names bench: %d runs per size, %d sequential, %d (cloister) / %d (:global) concurrent registrations by %d workers, %s\n\n",
		runs, seq, conc, erlConc, workers, time.Now().UTC().Format(time.RFC3339))
	fmt.Println("| nodes | metric | cloister | Erlang/OTP | goal |")
	fmt.Println("|---|---|---|---|---|")
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad size %q", f)
		}
		cl, er := samples{}, samples{}
		for r := range runs {
			m, err := measureCloister(ctx, n, seq, conc, workers, r)
			if err != nil {
				return fmt.Errorf("cloister, %d nodes: %w", n, err)
			}
			cl.add(m)
			if erlang {
				m, err := measureErlang(ctx, n, seq, erlConc, workers)
				if err != nil {
					return err
				}
				er.add(m)
			}
		}
		type row struct {
			metric, ck, ek string
			digits         int
			goal           string
		}
		rows := []row{
			{"registration latency p50 (µs)", "register_p50_us", "global_register_p50_us", 0, ""},
			{"registration latency p99 (µs)", "register_p99_us", "global_register_p99_us", 0, ""},
			{"registrations/s, cluster-wide", "register_per_s", "global_register_per_s", 0, "≥ 10× :global"},
			{"lookup (ns/op) / whereis_name", "lookup_ns", "global_whereis_ns", 0, "≤ 100 ns"},
			{"lookup allocs/op", "lookup_allocs", "", 0, "0"},
			{"registration visible on every node p50 (µs)", "visible_p50_us", "global_register_p50_us", 0, ""},
			{"registration visible on every node p99 (µs)", "visible_p99_us", "global_register_p99_us", 0, "≤ 50 ms (10 nodes)"},
			{"group join p50 (µs)", "join_p50_us", "pg_join_p50_us", 1, ""},
			{"group join visible on every node p50 (µs)", "join_visible_p50_us", "pg_visible_p50_us", 0, ""},
			{"group join visible on every node p99 (µs)", "join_visible_p99_us", "pg_visible_p99_us", 0, ""},
			{"group members (ns/op) / get_members", "members_ns", "pg_get_members_ns", 0, ""},
			{"group members allocs/op", "members_allocs", "", 0, ""},
		}
		for _, r := range rows {
			e := "–"
			if r.ek != "" {
				e = er.cell(r.ek, r.digits)
			}
			fmt.Printf("| %d | %s | %s | %s | %s |\n", n, r.metric, cl.cell(r.ck, r.digits), e, r.goal)
		}
	}
	if catchup > 0 {
		s := samples{}
		for range runs {
			ms, err := measureCatchup(ctx, catchup, 64)
			if err != nil {
				return fmt.Errorf("catch-up: %w", err)
			}
			s.add(map[string]float64{"catchup_ms": ms})
		}
		fmt.Printf("| 3+1 | catch-up of a joining node with %d names (ms) | %s | not measured | ≤ 1000 ms |\n", catchup, s.cell("catchup_ms", 0))
	}
	return nil
}

package main

import (
	"strings"
	"testing"
	"time"
)

// Every cloister system gets a verdict row; assembly is held against
// serf's below 100 members and against memberlist's from 100 on.
func TestVerdicts(t *testing.T) {
	ms := func(d ...int) []time.Duration {
		out := make([]time.Duration, len(d))
		for i, v := range d {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	rs := []result{
		{system: "cloister-steady", n: 50, assembly: ms(200), crash: ms(100)},
		{system: "serf-lan", n: 50, assembly: ms(1000), crash: ms(9000)},
		{system: "memberlist-lan", n: 50, assembly: ms(100), crash: ms(9000)},
		{system: "cloister-steady", n: 100, assembly: ms(1500), crash: ms(500), falsePos: 2},
		{system: "cloister-lan", n: 100, assembly: ms(900), crash: ms(300)},
		{system: "serf-lan", n: 100, assembly: ms(100), crash: ms(9000)},
		{system: "memberlist-lan", n: 100, assembly: ms(1000), crash: ms(10000)},
	}
	got := verdicts(rs)
	for _, want := range []string{
		"| cloister-steady | 50 | 0.20 MET | n/a | 0.01 MET | 0 MET |",
		"| cloister-steady | 100 | 1.50 MISSED | n/a | 0.05 MET | 2 MISSED |",
		"| cloister-lan | 100 | 0.90 MET | n/a | 0.03 MET | 0 MET |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("verdicts lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "| serf-lan |") || strings.Contains(got, "| memberlist-lan |") {
		t.Errorf("a peer got a verdict row:\n%s", got)
	}
}

// A row reports, next to the assembly, when the last process had been
// started: the floor no system's assembly can beat.
func TestRowReportsLaunch(t *testing.T) {
	r := result{system: "x", n: 3, assembly: []time.Duration{3 * time.Second, time.Second, 2 * time.Second},
		assembly90: []time.Duration{1500 * time.Millisecond},
		launched:   []time.Duration{900 * time.Millisecond, 700 * time.Millisecond, 800 * time.Millisecond}}
	if got := row(r); !strings.HasPrefix(got, "| x | 3 | 2000 ms | 1500 ms | 800 ms | ") {
		t.Fatalf("row %q: want the median assembly, the median at 90%%, then the median launch", got)
	}
	if h := strings.Split(table([]result{r}), "\n"); strings.Count(h[0], "|") != strings.Count(h[2], "|") {
		t.Fatalf("header and row differ in columns:\n%s\n%s", h[0], h[2])
	}
}

// A peer whose clusters left members out within the bound has no
// assembly time: the verdict says so, with the ratio at nine members in
// ten when both systems got there.
func TestVerdictsAtNinetyPercent(t *testing.T) {
	d := func(v int) []time.Duration { return []time.Duration{time.Duration(v) * time.Millisecond} }
	rs := []result{
		{system: "cloister-steady", n: 100, assembly: d(8000), assembly90: d(5000)},
		{system: "memberlist-lan", n: 100, assembly90: d(10000)},
		{system: "cloister-steady", n: 50, assembly: d(3000), assembly90: d(2000)},
		{system: "serf-lan", n: 50},
	}
	got := verdicts(rs)
	for _, want := range []string{
		"| cloister-steady | 100 | n/a (at 90% of members: 0.50) |",
		"| cloister-steady | 50 | n/a |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("verdicts lack %q:\n%s", want, got)
		}
	}
}

func TestNinetyPercent(t *testing.T) {
	for n, want := range map[int]int{1: 1, 3: 3, 10: 9, 11: 10, 50: 45, 100: 90} {
		if got := ninetyPercent(n); got != want {
			t.Errorf("ninetyPercent(%d) = %d, want %d", n, got, want)
		}
	}
}

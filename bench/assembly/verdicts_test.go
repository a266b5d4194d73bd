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

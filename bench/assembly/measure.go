package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// result is one system at one size.
type result struct {
	system   string
	n        int
	assembly []time.Duration // one per fresh cluster
	// assembly90 is, per fresh cluster, when nine members in ten
	// (rounded up) had seen all N: recorded whether or not the rest
	// did, so that a system compares with one whose clusters leave a
	// member or two out within the bound.
	assembly90    []time.Duration
	assemblyCPU   []time.Duration // CPU time of all members when the cluster had assembled
	launched      []time.Duration // per cluster: when its last process had been started
	crash, pause  []time.Duration // per survivor
	leave         time.Duration   // until the last survivor heard
	falsePos      int
	starvedFalses int
	timeouts      []string
	traffic       []traffic // one per cluster measured

	flap, loss, cpucap faultStat // fault phases (faults.go)
	part               healStat
	faultAsmFalse      int      // false reports while the fault phases' clusters assembled
	details            []string // every false report of the fault phases
}

const phaseTimeout = 90 * time.Second

// assemble starts a cluster and waits until every member sees all N.
func (b *bench) assemble(sys system, n int, r *result) (*cluster, bool) {
	return b.assembleIn(sys, n, r, nil)
}

// assembleIn is assemble with each member started in the cgroup v2
// directory place[i] (see launch).
func (b *bench) assembleIn(sys system, n int, r *result, place []string) (*cluster, bool) {
	b.log.mark(fmt.Sprintf("%s N=%d: launching", sys.name, n))
	c, err := b.launch(sys, n, place)
	if err != nil {
		r.timeouts = append(r.timeouts, "launch: "+err.Error())
		return nil, false
	}
	ready := map[int]bool{}
	seen := make([]int, n) // members each observer reported joining, where the system reports joins
	most := ninetyPercent(n)
	ok := c.waitFor(phaseTimeout, r.countFalse(nil), func(e stamped) bool {
		switch e.kind {
		case "ready":
			if !ready[e.observer] && len(ready)+1 == most {
				r.assembly90 = append(r.assembly90, time.Since(c.start))
			}
			ready[e.observer] = true
		case "joined":
			seen[e.observer]++
		}
		return len(ready) == n
	})
	if !ok {
		r.timeouts = append(r.timeouts, fmt.Sprintf("assembly (%d of %d ready; fewest members seen %d, most %d)",
			len(ready), n, slices.Min(seen), slices.Max(seen)))
		c.stop()
		return nil, false
	}
	r.assembly = append(r.assembly, time.Since(c.start))
	r.launched = append(r.launched, c.launched)
	if cpu, err := c.cpuTime(); err == nil {
		r.assemblyCPU = append(r.assemblyCPU, cpu)
	}
	return c, true
}

// ninetyPercent is nine members in ten of n, rounded up.
func ninetyPercent(n int) int { return (9*n + 9) / 10 }

// countFalse counts failure reports about members not in targets.
func (r *result) countFalse(targets map[int]bool) func(stamped) {
	return func(e stamped) {
		if (e.kind == "failed" || e.kind == "gone") && !targets[e.subject] {
			r.falsePos++
		}
	}
}

// detect signals member victim and collects each survivor's time to report it.
func (b *bench) detect(c *cluster, victim int, sig syscall.Signal, kinds []string, r *result) []time.Duration {
	targets := map[int]bool{victim: true}
	start := time.Now()
	c.signal(victim, sig)
	var got []time.Duration
	heard := map[int]bool{}
	ok := c.waitFor(phaseTimeout, r.countFalse(targets), func(e stamped) bool {
		if e.subject == victim && e.observer != victim && slices.Contains(kinds, e.kind) && !heard[e.observer] {
			heard[e.observer] = true
			got = append(got, time.Since(start))
		}
		return len(heard) == c.n-1
	})
	if !ok {
		r.timeouts = append(r.timeouts, sig.String())
	}
	slices.Sort(got)
	return got
}

// starve stops and continues member i every 100 ms for 5 s, then lets the
// cluster settle for 2 s; failure reports about anybody in that time are
// false positives.
func (b *bench) starve(c *cluster, i int, r *result) {
	before := r.falsePos
	end := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	stopped := false
	for time.Now().Before(end) {
		<-tick.C
		if stopped {
			c.signal(i, syscall.SIGCONT)
		} else {
			c.signal(i, syscall.SIGSTOP)
		}
		stopped = !stopped
		drain(c, r)
	}
	tick.Stop()
	c.signal(i, syscall.SIGCONT)
	c.waitFor(2*time.Second, r.countFalse(nil), func(stamped) bool { return false })
	r.starvedFalses += r.falsePos - before
}

func drain(c *cluster, r *result) {
	for {
		select {
		case e := <-c.events:
			r.countFalse(nil)(e)
		default:
			return
		}
	}
}

// run measures one system at one size on fresh clusters, the phases
// selected: steady-state traffic, then starvation and leave; crash; pause;
// then each fault phase on its own (faults.go).
func (b *bench) run(sys system, n int, phases map[string]bool) result {
	r := result{system: sys.name, n: n}
	if phases["starve"] || phases["leave"] {
		if c, ok := b.assemble(sys, n, &r); ok {
			b.measureTraffic(c, &r)
			if phases["starve"] {
				b.starve(c, 1, &r)
			}
			if phases["leave"] {
				leaves := b.detect(c, n-1, sys.leave, []string{"left", "gone"}, &r)
				if len(leaves) > 0 {
					r.leave = leaves[len(leaves)-1]
				}
			}
			c.stop()
		}
	}
	if phases["crash"] {
		if c, ok := b.assemble(sys, n, &r); ok {
			r.crash = b.detect(c, n-1, syscall.SIGKILL, []string{"failed", "gone"}, &r)
			c.stop()
		}
	}
	if phases["pause"] {
		if c, ok := b.assemble(sys, n, &r); ok {
			r.pause = b.detect(c, n-1, syscall.SIGSTOP, []string{"failed", "gone"}, &r)
			c.stop()
		}
	}
	b.runFaults(sys, n, phases, &r)
	return r
}

// runTraffic measures only steady-state traffic, on repeat fresh clusters.
func (b *bench) runTraffic(sys system, n, repeat int) result {
	r := result{system: sys.name, n: n}
	for range repeat {
		shown := len(r.timeouts)
		if c, ok := b.assemble(sys, n, &r); ok {
			b.measureTraffic(c, &r)
			c.stop()
		}
		if len(r.timeouts) > shown {
			fmt.Fprintln(os.Stderr, "  timeouts: "+strings.Join(r.timeouts[shown:], ", "))
		}
		if len(r.traffic) > 0 {
			t := r.traffic[len(r.traffic)-1]
			kb, pk := t.perMember("")
			fmt.Fprintf(os.Stderr, "  %.2f KB/s, %.1f packets/s per member (false failure reports so far %d)\n",
				kb/1000, pk, r.falsePos)
		}
	}
	return r
}

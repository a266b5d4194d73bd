package main

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// traffic is what the members of one cluster sent each other in a window
// of steady state.
type traffic struct {
	n       int
	elapsed time.Duration // between the two readings of the counters
	byKind  map[string]counts
	falses  int           // failure reports about live members during the settle and the window
	cpu     time.Duration // CPU time (user and system) of all members over the window; -1 when unread
}

// cpuPerMember is the CPU the members used over the window, in percent of
// one core per member; negative when it could not be read.
func (t traffic) cpuPerMember() float64 {
	if t.cpu < 0 || t.n == 0 || t.elapsed <= 0 {
		return -1
	}
	return 100 * t.cpu.Seconds() / t.elapsed.Seconds() / float64(t.n)
}

// perMember returns bytes and packets per member per second, of one kind
// or ("") of all.
func (t traffic) perMember(kind string) (bytes, packets float64) {
	var c counts
	for k, v := range t.byKind {
		if kind == "" || k == kind {
			c = c.add(v)
		}
	}
	d := float64(t.n) * t.elapsed.Seconds()
	return float64(c.bytes) / d, float64(c.packets) / d
}

// openTraffic creates the bench's nftables table and registers its
// deletion. Without nft or root it returns the reason and no table: the
// phase is then skipped.
func (b *bench) openTraffic(cl *cleanups) error {
	nc, err := newNftCounter()
	if err != nil {
		return err
	}
	b.nft = nc
	cl.add(func() {
		if err := nc.close(); err != nil {
			fmt.Fprintln(os.Stderr, "assembly:", err)
		}
	})
	return nil
}

// measureTraffic lets an assembled cluster settle, then counts what its
// members send each other for the window. Failure reports in that time
// are false positives.
func (b *bench) measureTraffic(c *cluster, r *result) {
	if b.nft == nil {
		return
	}
	falsesBefore := r.falsePos
	never := func(stamped) bool { return false }
	c.waitFor(b.settle, r.countFalse(nil), never)
	ports := make([]int, len(c.addrs))
	for i, a := range c.addrs {
		_, p, err := net.SplitHostPort(a)
		if err == nil {
			ports[i], err = strconv.Atoi(p)
		}
		if err != nil {
			r.timeouts = append(r.timeouts, "traffic: "+err.Error())
			return
		}
	}
	if err := b.nft.count(ports); err != nil {
		r.timeouts = append(r.timeouts, "traffic: "+err.Error())
		return
	}
	before, err := b.nft.read()
	start := time.Now()
	cpuBefore, cpuErr := c.cpuTime()
	if err != nil {
		r.timeouts = append(r.timeouts, "traffic: "+err.Error())
		return
	}
	c.waitFor(b.window, r.countFalse(nil), never)
	after, err := b.nft.read()
	elapsed := time.Since(start)
	cpuAfter, cpuErr2 := c.cpuTime()
	if err != nil {
		r.timeouts = append(r.timeouts, "traffic: "+err.Error())
		return
	}
	t := traffic{n: c.n, elapsed: elapsed, byKind: map[string]counts{}, falses: r.falsePos - falsesBefore, cpu: -1}
	if cpuErr == nil && cpuErr2 == nil {
		t.cpu = cpuAfter - cpuBefore
	}
	for k, v := range after {
		t.byKind[k] = v.sub(before[k])
	}
	r.traffic = append(r.traffic, t)
}

// spread is "median (min-max)" of val over the clusters measured.
func spread(ts []traffic, val func(traffic) float64, format string) string {
	if len(ts) == 0 {
		return "-"
	}
	vs := make([]float64, len(ts))
	for i, t := range ts {
		vs[i] = val(t)
	}
	slices.Sort(vs)
	m := fmt.Sprintf(format, vs[len(vs)/2])
	if len(vs) == 1 {
		return m
	}
	return fmt.Sprintf("%s (%s-%s)", m, fmt.Sprintf(format, vs[0]), fmt.Sprintf(format, vs[len(vs)-1]))
}

// kbPerMember and packetsPerMember are the values of one kind ("" for all).
func kbPerMember(kind string) func(traffic) float64 {
	return func(t traffic) float64 { b, _ := t.perMember(kind); return b / 1000 }
}

func packetsPerMember(kind string) func(traffic) float64 {
	return func(t traffic) float64 { _, p := t.perMember(kind); return p }
}

func medianOf(ts []traffic, val func(traffic) float64) float64 {
	vs := make([]float64, len(ts))
	for i, t := range ts {
		vs[i] = val(t)
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// trafficTable reports steady-state traffic per member, medians over the
// clusters measured (min-max beside them), with the ratio of the median
// bytes and packets to memberlist-lan's at the same N.
func trafficTable(rs []result) string {
	var sb strings.Builder
	sb.WriteString("| system | N | clusters | KB/s per member | packets/s per member | UDP KB/s | UDP packets/s | TCP KB/s | TCP packets/s | KB/s, packets/s ÷ memberlist-lan's | CPU per member (% of a core) | false failure reports meanwhile |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if len(r.traffic) == 0 {
			continue
		}
		ratio := "-"
		for _, ml := range rs {
			if ml.system == "memberlist-lan" && ml.n == r.n && len(ml.traffic) > 0 {
				ratio = fmt.Sprintf("%.1fx, %.1fx",
					medianOf(r.traffic, kbPerMember(""))/medianOf(ml.traffic, kbPerMember("")),
					medianOf(r.traffic, packetsPerMember(""))/medianOf(ml.traffic, packetsPerMember("")))
			}
		}
		falses := 0
		for _, t := range r.traffic {
			falses += t.falses
		}
		fmt.Fprintf(&sb, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
			r.system, r.n, len(r.traffic),
			spread(r.traffic, kbPerMember(""), "%.2f"), spread(r.traffic, packetsPerMember(""), "%.1f"),
			spread(r.traffic, kbPerMember("udp"), "%.2f"), spread(r.traffic, packetsPerMember("udp"), "%.1f"),
			spread(r.traffic, kbPerMember("tcp"), "%.2f"), spread(r.traffic, packetsPerMember("tcp"), "%.1f"),
			ratio, cpuSpread(r.traffic), falses)
	}
	return sb.String()
}

// cpuSpread is the CPU per member over the clusters measured, "-" when it
// could not be read for one of them.
func cpuSpread(ts []traffic) string {
	for _, t := range ts {
		if t.cpuPerMember() < 0 {
			return "-"
		}
	}
	return spread(ts, traffic.cpuPerMember, "%.2f")
}

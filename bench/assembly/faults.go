package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fault phases (issue #11 item 2), each on a freshly assembled cluster:
//
//   - flap: member N-1's link is cut for 1 s, ten times, 1 s apart;
//   - loss: 20% of member N-1's packets are dropped for 10 s;
//   - cpucap: member N-1 is capped at 1% of one CPU for 10 s (cgroup v1);
//   - partition: members 0..N/2 and the rest cannot reach each other for
//     -partition (90 s), then the time every member takes to see every
//     other again is measured.
//
// The link faults are nftables rules in chains of the bench's own table.
// Loopback packets traverse the output hook, then the input hook; a packet
// dropped on output makes the sender's sendto fail (EPERM), which
// memberlist treats as a local error, not as a lost probe, so nothing is
// dropped there: fault_out (output, before the traffic counter) only marks
// the packets a faulted member sends, and fault_in (input) drops, silently
// for the sender, as a real link would. A member is matched by its
// listening port (source or destination port, UDP and TCP) and, where a
// cgroup v2 hierarchy is mounted under /sys/fs/cgroup, by the cgroup it
// was started in (socket cgroupv2), which also catches the TCP
// connections it dials from ephemeral ports: on output the socket is the
// sender's (the packet is marked), on input the receiver's (looked up).
// A packet is judged once: the first rule of fault_in that matches goes to
// fault_drop, which drops it (all, or lossPercent at random). Drops are
// counted in a named counter, read before and after a phase, so that
// removing a fault is one flush, not a listing and a flush (at a load of
// 90 the listing took up to a second, which lengthened the cuts).

const (
	faultSettle  = 5 * time.Second // after each fault, reports still count
	flapCycles   = 10
	flapCut      = time.Second
	lossPercent  = 20
	lossFor      = 10 * time.Second
	capFor       = 10 * time.Second
	capQuotaUS   = 1000            // of cpu.cfs_period_us: 1% of one CPU
	capPeriodUS  = 100000          // 100 ms
	markA        = 0x0c10b00a      // sent by a member of cgroup a (the victim, the minority)
	markB        = 0x0c10b00b      // sent by a member of cgroup b (the majority)
	faultCounter = "fault_dropped" // named counter: survives the flush of the rules
)

// faultPhases are the phases of the second table.
var faultPhases = []string{"flap", "loss", "cpucap", "partition"}

// allPhases are every phase, in the order they run.
var allPhases = []string{"crash", "pause", "starve", "leave", "flap", "loss", "cpucap", "partition"}

// parsePhases reads -phases: names from allPhases, comma-separated, or "all".
func parsePhases(s string) (map[string]bool, error) {
	got := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "all":
			for _, q := range allPhases {
				got[q] = true
			}
		case slices.Contains(allPhases, p):
			got[p] = true
		default:
			return nil, fmt.Errorf("unknown phase %q (phases: all, %s)", p, strings.Join(allPhases, ", "))
		}
	}
	return got, nil
}

// faultStat is one of the flap, loss and cpucap phases of one system at one size.
type faultStat struct {
	ran      bool
	note     string // why it did not run, or what went wrong
	falses   int    // failure reports that are false
	byVictim int    // of falses, those the victim made about others
	declared int    // observers that reported the victim failed (flap, cpucap)
	dropped  uint64 // packets the fault rules dropped
}

// healStat is the partition phase of one system at one size.
type healStat struct {
	ran     bool
	note    string
	times   []time.Duration // per member that healed, from the removal of the rules
	healed  int             // members that saw every other again
	during  int             // failure reports during the partition (expected)
	falses  int             // failure reports in faultSettle after the heal
	dropped uint64
}

// faults injects the faults: nftables chains in the bench's table, cgroups.
type faults struct {
	table    string
	ownTable bool   // created here (no traffic counter): deleted at the end
	cg2      string // cgroup v2 directory of the bench, holding a and b; "" none
	cg2nft   string // the same as nft names it: relative to /sys/fs/cgroup
	cpu      string // cgroup v1 cpu directory, capped; "" none
	cpuBack  string // cgroup.procs of the bench's own cpu cgroup
	netErr   error  // why links cannot be faulted here
	cpuErr   error  // why CPU cannot be capped here
}

// openFaults sets up what the fault phases need and registers its removal.
// What is missing is said in netErr and cpuErr: those phases are skipped.
func (b *bench) openFaults(cl *cleanups) {
	f := &faults{table: fmt.Sprintf("cloister_bench_%d", os.Getpid())}
	b.faults = f
	if _, err := exec.LookPath("nft"); err != nil || os.Geteuid() != 0 {
		f.netErr = errNoNft
	} else if err := nft(faultChainsText(f.table), "-f", "-"); err != nil {
		f.netErr = err
	} else {
		f.ownTable = b.nft == nil
		cl.add(func() {
			var err error
			if f.ownTable {
				err = nft("", "delete", "table", "inet", f.table)
			} else {
				err = nft(deleteChainsText(f.table), "-f", "-")
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "assembly:", err)
			}
		})
		if err := f.openCgroup2(cl); err != nil {
			fmt.Fprintln(os.Stderr, "link faults match members by port only (not their dialled TCP connections):", err)
		}
	}
	if os.Geteuid() != 0 {
		f.cpuErr = errors.New("not root")
	} else if err := f.openCPU(cl); err != nil {
		f.cpuErr = err
	}
}

// openCgroup2 creates the cgroup v2 directories a and b the members of a
// link fault start in.
func (f *faults) openCgroup2(cl *cleanups) error {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return err
	}
	root := ""
	for _, l := range strings.Split(string(mounts), "\n") {
		if fs := strings.Fields(l); len(fs) > 2 && fs[2] == "cgroup2" {
			root = fs[1]
			break
		}
	}
	// nft names a cgroup by its path under /sys/fs/cgroup.
	rel, err := filepath.Rel("/sys/fs/cgroup", root)
	if root == "" || err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("no cgroup v2 hierarchy under /sys/fs/cgroup (found %q)", root)
	}
	dir := filepath.Join(root, filepath.Base(f.table))
	for _, d := range []string{dir, filepath.Join(dir, "a"), filepath.Join(dir, "b")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			removeCgroups(dir, root)
			return err
		}
	}
	f.cg2, f.cg2nft = dir, filepath.Join(rel, filepath.Base(f.table))
	if rel == "." {
		f.cg2nft = filepath.Base(f.table)
	}
	cl.add(func() { removeCgroups(dir, root) })
	return nil
}

// openCPU creates the capped cgroup v1 cpu directory.
func (f *faults) openCPU(cl *cleanups) error {
	const mnt = "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(mnt, "cpu.cfs_quota_us")); err != nil {
		return fmt.Errorf("no cgroup v1 cpu controller at %s", mnt)
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	parent := mnt
	for _, l := range strings.Split(string(own), "\n") {
		// hierarchy-ID:controllers:path
		if p := strings.SplitN(l, ":", 3); len(p) == 3 && slices.Contains(strings.Split(p[1], ","), "cpu") {
			parent = filepath.Join(mnt, p[2])
		}
	}
	dir := filepath.Join(parent, f.table)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	cl.add(func() { removeCgroups(dir, parent) })
	for file, v := range map[string]int{"cpu.cfs_period_us": capPeriodUS, "cpu.cfs_quota_us": capQuotaUS} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.Itoa(v)), 0); err != nil {
			return err
		}
	}
	f.cpu, f.cpuBack = dir, filepath.Join(parent, "cgroup.procs")
	return nil
}

// removeCgroups moves any process left in dir or its subdirectories to
// parent's cgroup.procs (after SIGINT the members may still run) and
// removes the directories, deepest first.
func removeCgroups(dir, parent string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if procs, err := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs")); err == nil {
			for _, pid := range strings.Fields(string(procs)) {
				_ = os.WriteFile(filepath.Join(parent, "cgroup.procs"), []byte(pid), 0)
			}
		}
		var err error
		for try := 0; try < 20; try++ { // a process just killed leaves it a moment later
			if err = os.Remove(dirs[i]); err == nil || os.IsNotExist(err) {
				err = nil
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "assembly: removing cgroup:", err)
		}
	}
}

// faultChainsText creates the fault chains (and the table if needed).
func faultChainsText(table string) string {
	return fmt.Sprintf(`add table inet %[1]s
add counter inet %[1]s %[2]s
add chain inet %[1]s fault_drop
add chain inet %[1]s fault_out { type filter hook output priority -10; policy accept; }
add chain inet %[1]s fault_in { type filter hook input priority -10; policy accept; }
`, table, faultCounter)
}

// deleteChainsText removes the fault chains from a table the traffic counter also uses.
func deleteChainsText(table string) string {
	return fmt.Sprintf("delete chain inet %[1]s fault_out\ndelete chain inet %[1]s fault_in\ndelete chain inet %[1]s fault_drop\ndelete counter inet %[1]s %[2]s\n",
		table, faultCounter)
}

// clearText removes every fault rule.
func clearText(table string) string {
	return fmt.Sprintf("flush chain inet %[1]s fault_out\nflush chain inet %[1]s fault_in\nflush chain inet %[1]s fault_drop\n", table)
}

func portSet(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return "{ " + strings.Join(s, ", ") + " }"
}

// cutText drops lossPct% (100: all) of the packets from or to one member:
// those whose source or destination port is one of ports, and, if cg is
// not empty (a cgroup v2 path as nft names it, at level 2), those sent or
// received by a socket of a process started in cg.
func cutText(table string, ports []int, cg string, lossPct int) string {
	var sb strings.Builder
	sb.WriteString(clearText(table))
	drop := fmt.Sprintf("counter name %q drop", faultCounter)
	if lossPct < 100 {
		drop = fmt.Sprintf("numgen random mod 100 < %d %s", lossPct, drop)
	}
	fmt.Fprintf(&sb, "add rule inet %s fault_drop %s\n", table, drop)
	if cg != "" {
		fmt.Fprintf(&sb, "add rule inet %s fault_out oifname \"lo\" socket cgroupv2 level 2 %q meta mark set 0x%08x\n", table, cg, markA)
	}
	for _, dir := range []string{"sport", "dport"} {
		fmt.Fprintf(&sb, "add rule inet %s fault_in iifname \"lo\" meta l4proto { tcp, udp } th %s %s goto fault_drop\n",
			table, dir, portSet(ports))
	}
	if cg != "" {
		fmt.Fprintf(&sb, "add rule inet %s fault_in iifname \"lo\" meta mark 0x%08x goto fault_drop\n", table, markA)
		fmt.Fprintf(&sb, "add rule inet %s fault_in iifname \"lo\" socket cgroupv2 level 2 %q goto fault_drop\n", table, cg)
	}
	return sb.String()
}

// partitionText drops every packet between two sets of members: by their
// listening ports, and, if cgA and cgB are not empty, by the cgroups they
// were started in (the sender marks the packet on output, the receiving
// socket is looked up on input).
func partitionText(table string, portsA, portsB []int, cgA, cgB string) string {
	var sb strings.Builder
	sb.WriteString(clearText(table))
	if cgA != "" && cgB != "" {
		fmt.Fprintf(&sb, "add rule inet %s fault_out oifname \"lo\" socket cgroupv2 level 2 %q meta mark set 0x%08x\n", table, cgA, markA)
		fmt.Fprintf(&sb, "add rule inet %s fault_out oifname \"lo\" socket cgroupv2 level 2 %q meta mark set 0x%08x\n", table, cgB, markB)
	}
	for _, p := range [][2][]int{{portsA, portsB}, {portsB, portsA}} {
		fmt.Fprintf(&sb, "add rule inet %s fault_in iifname \"lo\" meta l4proto { tcp, udp } th sport %s th dport %s counter name %q drop\n",
			table, portSet(p[0]), portSet(p[1]), faultCounter)
	}
	if cgA != "" && cgB != "" {
		fmt.Fprintf(&sb, "add rule inet %s fault_in iifname \"lo\" meta mark 0x%08x socket cgroupv2 level 2 %q counter name %q drop\n",
			table, markA, cgB, faultCounter)
		fmt.Fprintf(&sb, "add rule inet %s fault_in iifname \"lo\" meta mark 0x%08x socket cgroupv2 level 2 %q counter name %q drop\n",
			table, markB, cgA, faultCounter)
	}
	return sb.String()
}

// apply replaces the fault rules, atomically.
func (f *faults) apply(text string) error { return nft(text, "-f", "-") }

// clear removes the fault rules.
func (f *faults) clear() error { return f.apply(clearText(f.table)) }

// dropped is how many packets the fault rules have dropped so far (0 if
// the counter cannot be read).
func (f *faults) dropped() uint64 {
	out, err := exec.Command("nft", "-j", "list", "counter", "inet", f.table, faultCounter).Output()
	if err != nil {
		return 0
	}
	n, _ := parseNamedCounter(out)
	return n
}

// parseNamedCounter reads the packets of the counter object in `nft -j
// list counter` output.
func parseNamedCounter(js []byte) (uint64, error) {
	var doc struct {
		Nftables []struct {
			Counter *struct{ Packets uint64 }
		}
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return 0, err
	}
	for _, item := range doc.Nftables {
		if item.Counter != nil {
			return item.Counter.Packets, nil
		}
	}
	return 0, errors.New("nft -j output: no counter object")
}

// group is member placement for a link fault: members in a (the victim,
// or the minority) and the others in b. nil without cgroup v2.
func (f *faults) group(n int, inA func(int) bool) []string {
	if f.cg2 == "" {
		return nil
	}
	place := make([]string, n)
	for i := range place {
		place[i] = filepath.Join(f.cg2, "b")
		if inA(i) {
			place[i] = filepath.Join(f.cg2, "a")
		}
	}
	return place
}

// nftGroup is the nft name of cgroup a or b, "" without cgroup v2.
func (f *faults) nftGroup(g string) string {
	if f.cg2 == "" {
		return ""
	}
	return filepath.Join(f.cg2nft, g)
}

func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

func portsOf(addrs []string, pick func(int) bool) ([]int, error) {
	var ps []int
	for i, a := range addrs {
		if !pick(i) {
			continue
		}
		p, err := portOf(a)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// faultWatch classifies the failure reports of a fault phase.
type faultWatch struct {
	phase    string
	sys      string
	n        int
	start    time.Time
	victim   int  // -1: none
	anyFalse bool // reports about the victim are false too (loss)
	st       *faultStat
	declared map[int]bool
	state    func() string // what the fault is doing now, for the details
	details  *[]string
}

func (w *faultWatch) see(e stamped) {
	if e.kind != "failed" && e.kind != "gone" {
		return
	}
	if e.subject == w.victim && !w.anyFalse {
		if !w.declared[e.observer] {
			w.declared[e.observer] = true
			w.st.declared++
		}
		return
	}
	w.st.falses++
	if e.observer == w.victim {
		w.st.byVictim++
	}
	d := fmt.Sprintf("%s N=%d %s: n%d reported n%d %s at %s (+%.3f s, %s)", w.sys, w.n, w.phase, e.observer, e.subject,
		e.kind, e.at.UTC().Format("15:04:05.000"), e.at.Sub(w.start).Seconds(), w.state())
	*w.details = append(*w.details, d)
	fmt.Fprintln(os.Stderr, "  false failure: "+d)
}

func never(stamped) bool { return false }

// faultCluster assembles a fresh cluster for a fault phase; its assembly
// is not one of the three measured, but its false reports count.
func (b *bench) faultCluster(sys system, n int, r *result, place []string) (*cluster, bool) {
	var s result
	c, ok := b.assembleIn(sys, n, &s, place)
	r.faultAsmFalse += s.falsePos
	for _, t := range s.timeouts {
		r.timeouts = append(r.timeouts, "fault cluster "+t)
	}
	return c, ok
}

// runFaults runs the selected fault phases, each on a fresh cluster.
func (b *bench) runFaults(sys system, n int, phases map[string]bool, r *result) {
	f := b.faults
	victim := n - 1
	isVictim := func(i int) bool { return i == victim }
	for _, p := range []struct {
		name string
		st   *faultStat
	}{{"flap", &r.flap}, {"loss", &r.loss}, {"cpucap", &r.cpucap}} {
		if !phases[p.name] {
			continue
		}
		if p.name == "cpucap" && f.cpuErr != nil {
			p.st.note = "skipped: " + f.cpuErr.Error()
			fmt.Fprintf(os.Stderr, "  %s %s\n", p.name, p.st.note)
			continue
		}
		if p.name != "cpucap" && f.netErr != nil {
			p.st.note = "skipped: " + f.netErr.Error()
			fmt.Fprintf(os.Stderr, "  %s %s\n", p.name, p.st.note)
			continue
		}
		var place []string
		if p.name != "cpucap" {
			place = f.group(n, isVictim)
		}
		c, ok := b.faultCluster(sys, n, r, place)
		if !ok {
			p.st.note = "cluster did not assemble"
			continue
		}
		w := &faultWatch{phase: p.name, sys: sys.name, n: n, victim: victim, anyFalse: p.name == "loss",
			st: p.st, declared: map[int]bool{}, details: &r.details}
		var err error
		switch p.name {
		case "flap":
			err = b.flap(c, w)
		case "loss":
			err = b.loss(c, w)
		case "cpucap":
			err = b.cpucap(c, w)
		}
		c.stop()
		if err != nil {
			p.st.note = err.Error()
			fmt.Fprintf(os.Stderr, "  %s: %v\n", p.name, err)
			continue
		}
		p.st.ran = true
		how := fmt.Sprintf("%d packets dropped", p.st.dropped)
		if p.st.note != "" {
			how += "; " + p.st.note
		}
		if p.name == "cpucap" {
			how = p.st.note
		}
		p.st.note = ""
		fmt.Fprintf(os.Stderr, "  %s: %d false failure reports (%d by the victim), victim declared failed by %d; %s\n",
			p.name, p.st.falses, p.st.byVictim, p.st.declared, how)
	}
	if phases["partition"] {
		if f.netErr != nil {
			r.part.note = "skipped: " + f.netErr.Error()
			fmt.Fprintf(os.Stderr, "  partition %s\n", r.part.note)
			return
		}
		minority := func(i int) bool { return i > n/2 }
		c, ok := b.faultCluster(sys, n, r, f.group(n, minority))
		if !ok {
			r.part.note = "cluster did not assemble"
			return
		}
		err := b.partition(c, minority, r)
		c.stop()
		if err != nil {
			r.part.note = err.Error()
			fmt.Fprintf(os.Stderr, "  partition: %v\n", err)
			return
		}
		r.part.ran = true
		fmt.Fprintf(os.Stderr, "  partition: healed %d of %d, median %s, max %s; %d failure reports during it, %d after the heal; %d packets dropped\n",
			r.part.healed, n, ms(median(r.part.times)), ms(maxOf(r.part.times)), r.part.during, r.part.falses, r.part.dropped)
	}
}

// flap cuts the victim's link for flapCut, flapCycles times, flapCut apart.
func (b *bench) flap(c *cluster, w *faultWatch) error {
	ports, err := portsOf(c.addrs, func(i int) bool { return i == w.victim })
	if err != nil {
		return err
	}
	f := b.faults
	cut, cycle := false, 0
	w.state = func() string {
		if cycle == 0 {
			return "settle after the last cycle"
		}
		if cut {
			return fmt.Sprintf("cycle %d, link cut", cycle)
		}
		return fmt.Sprintf("cycle %d, link up", cycle)
	}
	w.start = time.Now()
	before := f.dropped()
	var longest time.Duration
	for k := 1; k <= flapCycles; k++ {
		on := time.Now()
		if err := f.apply(cutText(f.table, ports, f.nftGroup("a"), 100)); err != nil {
			return err
		}
		cut, cycle = true, k
		b.log.mark(fmt.Sprintf("flap: cycle %d: n%d cut", k, w.victim))
		c.waitFor(flapCut, w.see, never)
		if err := f.clear(); err != nil {
			return err
		}
		cut = false
		// From the start of the rules' insertion to the end of their
		// removal: at most this long, at least about flapCut.
		longest = max(longest, time.Since(on))
		b.log.mark(fmt.Sprintf("flap: cycle %d: n%d up (cut at most %v)", k, w.victim, time.Since(on).Round(time.Millisecond)))
		c.waitFor(flapCut, w.see, never)
	}
	cycle = 0
	w.st.dropped = f.dropped() - before
	w.st.note = fmt.Sprintf("longest cut at most %v", longest.Round(time.Millisecond))
	c.waitFor(faultSettle, w.see, never)
	b.log.mark("flap: end")
	return nil
}

// loss drops lossPercent of the victim's packets for lossFor.
func (b *bench) loss(c *cluster, w *faultWatch) error {
	ports, err := portsOf(c.addrs, func(i int) bool { return i == w.victim })
	if err != nil {
		return err
	}
	f := b.faults
	on := true
	w.state = func() string {
		if on {
			return fmt.Sprintf("%d%% loss on", lossPercent)
		}
		return "settle after the loss"
	}
	before := f.dropped()
	if err := f.apply(cutText(f.table, ports, f.nftGroup("a"), lossPercent)); err != nil {
		return err
	}
	w.start = time.Now()
	b.log.mark(fmt.Sprintf("loss: %d%% on n%d", lossPercent, w.victim))
	c.waitFor(lossFor, w.see, never)
	if err := f.clear(); err != nil {
		return err
	}
	w.st.dropped, on = f.dropped()-before, false
	b.log.mark(fmt.Sprintf("loss: off (%d packets dropped)", w.st.dropped))
	c.waitFor(faultSettle, w.see, never)
	b.log.mark("loss: end")
	return nil
}

// cpucap caps the victim at capQuotaUS/capPeriodUS of one CPU for capFor.
func (b *bench) cpucap(c *cluster, w *faultWatch) error {
	f := b.faults
	pid := []byte(strconv.Itoa(c.cmds[w.victim].Process.Pid))
	capped := true
	w.state = func() string {
		if capped {
			return "capped"
		}
		return "settle after the cap"
	}
	if err := os.WriteFile(filepath.Join(f.cpu, "cgroup.procs"), pid, 0); err != nil {
		return fmt.Errorf("capping: %w", err)
	}
	w.start = time.Now()
	b.log.mark(fmt.Sprintf("cpucap: n%d capped", w.victim))
	before, _ := os.ReadFile(filepath.Join(f.cpu, "cpu.stat"))
	c.waitFor(capFor, w.see, never)
	after, _ := os.ReadFile(filepath.Join(f.cpu, "cpu.stat"))
	if err := os.WriteFile(f.cpuBack, pid, 0); err != nil {
		return fmt.Errorf("uncapping: %w", err)
	}
	capped = false
	// Proof the cap bit: periods throttled and time throttled meanwhile.
	w.st.note = fmt.Sprintf("throttled in %s", throttled(before, after))
	b.log.mark(fmt.Sprintf("cpucap: n%d uncapped (%s)", w.victim, w.st.note))
	c.waitFor(faultSettle, w.see, never)
	b.log.mark("cpucap: end")
	return nil
}

// throttled compares two readings of a cgroup v1 cpu.stat.
func throttled(before, after []byte) string {
	field := func(b []byte, name string) int64 {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == name {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
		return 0
	}
	return fmt.Sprintf("%d of %d periods, %.1f s",
		field(after, "nr_throttled")-field(before, "nr_throttled"), field(after, "nr_periods")-field(before, "nr_periods"),
		float64(field(after, "throttled_time")-field(before, "throttled_time"))/1e9)
}

// partition splits the cluster for b.partitionFor, removes the rules and
// measures the heal, then counts failure reports for faultSettle.
func (b *bench) partition(c *cluster, minority func(int) bool, r *result) error {
	f := b.faults
	pa, err := portsOf(c.addrs, minority)
	if err != nil {
		return err
	}
	pb, err := portsOf(c.addrs, func(i int) bool { return !minority(i) })
	if err != nil {
		return err
	}
	h := newHealTracker(c.n, strings.HasPrefix(c.sys.name, "cloister"))
	during := func(e stamped) {
		h.see(e)
		if e.kind == "failed" || e.kind == "gone" {
			r.part.during++
		}
	}
	before := f.dropped()
	if err := f.apply(partitionText(f.table, pa, pb, f.nftGroup("a"), f.nftGroup("b"))); err != nil {
		return err
	}
	b.log.mark(fmt.Sprintf("partition: on, %d | %d members, for %v", len(pb), len(pa), b.partitionFor))
	c.waitFor(b.partitionFor, during, never)
	if err := f.clear(); err != nil {
		return err
	}
	healStart := time.Now()
	h.heal(healStart)
	r.part.dropped = f.dropped() - before
	b.log.mark(fmt.Sprintf("partition: removed (%d packets dropped)", r.part.dropped))
	healed := h.done() || c.waitFor(b.healTimeout, func(e stamped) {
		h.see(e)
		if e.kind == "failed" || e.kind == "gone" {
			r.part.during++ // still reporting the partition
		}
	}, func(stamped) bool { return h.done() })
	r.part.times = h.times()
	r.part.healed = len(r.part.times)
	if !healed {
		b.log.mark(fmt.Sprintf("partition: not healed in %v: %s", b.healTimeout, h.pending()))
		r.part.note = fmt.Sprintf("not healed: %d of %d in %v", r.part.healed, c.n, b.healTimeout)
		return nil
	}
	b.log.mark("partition: healed")
	healedAt := time.Now()
	w := &faultWatch{phase: "after partition heal", sys: c.sys.name, n: c.n, victim: -1, anyFalse: true,
		st: &faultStat{}, declared: map[int]bool{}, details: &r.details, start: healedAt,
		state: func() string { return "after the heal" }}
	c.waitFor(faultSettle, w.see, never)
	r.part.falses = w.st.falses
	b.log.mark("partition: end")
	return nil
}

// healTracker follows, per member, which members it has reported down and
// not seen again, and (cloister) whether it is Ready on the full view.
// Once heal is called, a member is healed when it has seen every member
// it reported down come back and, for cloister, is Ready on all N.
type healTracker struct {
	n        int
	whole    bool // also wait for Ready on the full view (cloister)
	down     []map[int]bool
	ready    []bool
	start    time.Time // the heal began; zero before
	healedAt []time.Time
}

func newHealTracker(n int, whole bool) *healTracker {
	h := &healTracker{n: n, whole: whole, down: make([]map[int]bool, n), ready: make([]bool, n), healedAt: make([]time.Time, n)}
	for i := range h.down {
		h.down[i] = map[int]bool{}
		h.ready[i] = true // the cluster was assembled
	}
	return h
}

func (h *healTracker) see(e stamped) {
	o := e.observer
	if o < 0 || o >= h.n {
		return
	}
	switch e.kind {
	case "failed", "gone", "left", "replaced":
		if e.subject >= 0 && e.subject != o {
			h.down[o][e.subject] = true
		}
	case "up", "joined":
		delete(h.down[o], e.subject)
	case "whole": // Ready with all N: it sees every member
		h.ready[o] = true
		clear(h.down[o])
	case "partial":
		h.ready[o] = false
	}
	if h.start.IsZero() {
		return
	}
	switch {
	case !h.healed(o):
		h.healedAt[o] = time.Time{}
	case h.healedAt[o].IsZero():
		h.healedAt[o] = e.at
		if e.at.Before(h.start) {
			h.healedAt[o] = h.start
		}
	}
}

func (h *healTracker) healed(o int) bool { return len(h.down[o]) == 0 && (!h.whole || h.ready[o]) }

// heal starts the clock: members already healed are healed at once.
func (h *healTracker) heal(at time.Time) {
	h.start = at
	for o := range h.n {
		if h.healed(o) {
			h.healedAt[o] = at
		}
	}
}

func (h *healTracker) done() bool {
	return !h.start.IsZero() && !slices.ContainsFunc(h.healedAt, time.Time.IsZero)
}

// times are the heal times of the members healed so far.
func (h *healTracker) times() []time.Duration {
	var ts []time.Duration
	for _, at := range h.healedAt {
		if !at.IsZero() {
			ts = append(ts, at.Sub(h.start))
		}
	}
	return ts
}

// pending says which members have not healed and what they miss.
func (h *healTracker) pending() string {
	var sb strings.Builder
	for o := range h.n {
		if !h.healedAt[o].IsZero() {
			continue
		}
		var miss []int
		for s := range h.down[o] {
			miss = append(miss, s)
		}
		slices.Sort(miss)
		fmt.Fprintf(&sb, " n%d(misses %v", o, miss)
		if h.whole && !h.ready[o] {
			sb.WriteString(", not ready on all")
		}
		sb.WriteString(")")
	}
	return strings.TrimSpace(sb.String())
}

// faultCell formats a flap or cpucap cell: false reports / victim declared.
func faultCell(s faultStat, declared bool) string {
	if !s.ran {
		if s.note == "" {
			return "-"
		}
		return s.note
	}
	v := strconv.Itoa(s.falses)
	if s.byVictim > 0 {
		v += fmt.Sprintf(" (%d by the victim)", s.byVictim)
	}
	if declared {
		v += fmt.Sprintf(" / %d", s.declared)
	}
	return v
}

func partitionCells(h healStat) (string, string) {
	if !h.ran {
		if h.note == "" {
			return "-", "-"
		}
		return h.note, "-"
	}
	if h.note != "" { // not healed
		t := "-"
		if len(h.times) > 0 {
			t = fmt.Sprintf("%s / %s of those healed", ms(median(h.times)), ms(maxOf(h.times)))
		}
		return h.note + "; " + t, "-"
	}
	return fmt.Sprintf("%s / %s", msZero(median(h.times)), msZero(maxOf(h.times))), strconv.Itoa(h.falses)
}

// msZero is ms with 0 shown as such.
func msZero(d time.Duration) string {
	if d == 0 {
		return "0 ms"
	}
	return ms(d)
}

// faultTable is the second table: the fault phases.
func faultTable(rs []result) string {
	var sb strings.Builder
	sb.WriteString("| system | N | flap: false failures / victim declared failed by | loss: false failures | CPU cap: false failures / capped member declared failed by | partition: failure reports during it (expected) | heal median / max | false failures after heal | fault clusters: false failures while assembling |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		heal, after := partitionCells(r.part)
		during := "-"
		if r.part.ran {
			during = strconv.Itoa(r.part.during)
		}
		fmt.Fprintf(&sb, "| %s | %d | %s | %s | %s | %s | %s | %s | %d |\n", r.system, r.n,
			faultCell(r.flap, true), faultCell(r.loss, false), faultCell(r.cpucap, true), during, heal, after, r.faultAsmFalse)
	}
	return sb.String()
}

// faultFalses is every false failure report of the fault phases that ran,
// and whether any ran.
func (r result) faultFalses() (int, bool) {
	total, ran := r.faultAsmFalse, false
	for _, s := range []faultStat{r.flap, r.loss, r.cpucap} {
		if s.ran {
			total += s.falses
			ran = true
		}
	}
	if r.part.ran && r.part.note == "" {
		total += r.part.falses
		ran = true
	}
	return total, ran
}

// details lists the false failure reports of the fault phases.
func details(rs []result) string {
	var sb strings.Builder
	for _, r := range rs {
		for _, d := range r.details {
			sb.WriteString("- " + d + "\n")
		}
	}
	return sb.String()
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsePhases(t *testing.T) {
	got, err := parsePhases("flap, partition")
	if err != nil || !reflect.DeepEqual(got, map[string]bool{"flap": true, "partition": true}) {
		t.Errorf("parsePhases(flap, partition) = %v, %v", got, err)
	}
	got, err = parsePhases("all")
	if err != nil || len(got) != len(allPhases) {
		t.Errorf("parsePhases(all) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "flap,", "flop", "crash,cpu"} {
		if got, err := parsePhases(bad); err == nil {
			t.Errorf("parsePhases(%q) = %v, want an error", bad, got)
		}
	}
}

func TestCutText(t *testing.T) {
	got := cutText("cloister_bench_1", []int{7001}, "unified/cloister_bench_1/a", 100)
	want := `flush chain inet cloister_bench_1 fault_out
flush chain inet cloister_bench_1 fault_in
flush chain inet cloister_bench_1 fault_drop
add rule inet cloister_bench_1 fault_drop counter name "fault_dropped" drop
add rule inet cloister_bench_1 fault_out oifname "lo" socket cgroupv2 level 2 "unified/cloister_bench_1/a" meta mark set 0x0c10b00a
add rule inet cloister_bench_1 fault_in iifname "lo" meta l4proto { tcp, udp } th sport { 7001 } goto fault_drop
add rule inet cloister_bench_1 fault_in iifname "lo" meta l4proto { tcp, udp } th dport { 7001 } goto fault_drop
add rule inet cloister_bench_1 fault_in iifname "lo" meta mark 0x0c10b00a goto fault_drop
add rule inet cloister_bench_1 fault_in iifname "lo" socket cgroupv2 level 2 "unified/cloister_bench_1/a" goto fault_drop
`
	if got != want {
		t.Errorf("cutText:\n%s\nwant:\n%s", got, want)
	}
	// Random loss: one draw per packet, in fault_drop; no cgroup: ports
	// only. Nothing is dropped on output (the sender would see EPERM).
	got = cutText("t", []int{7001, 7002}, "", 20)
	if !strings.Contains(got, "add rule inet t fault_drop numgen random mod 100 < 20 counter name \"fault_dropped\" drop\n") ||
		!strings.Contains(got, "th sport { 7001, 7002 } goto fault_drop") || strings.Contains(got, "cgroupv2") ||
		strings.Count(got, "numgen") != 1 {
		t.Errorf("cutText with 20%% loss, no cgroup:\n%s", got)
	}
	for _, text := range []string{got, want, partitionText("t", []int{3}, []int{1, 2}, "cg/a", "cg/b")} {
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, " fault_out ") && strings.Contains(l, "drop") {
				t.Errorf("drops on output: %s", l)
			}
		}
	}
}

func TestPartitionText(t *testing.T) {
	got := partitionText("t", []int{3}, []int{1, 2}, "cg/a", "cg/b")
	want := `flush chain inet t fault_out
flush chain inet t fault_in
flush chain inet t fault_drop
add rule inet t fault_out oifname "lo" socket cgroupv2 level 2 "cg/a" meta mark set 0x0c10b00a
add rule inet t fault_out oifname "lo" socket cgroupv2 level 2 "cg/b" meta mark set 0x0c10b00b
add rule inet t fault_in iifname "lo" meta l4proto { tcp, udp } th sport { 3 } th dport { 1, 2 } counter name "fault_dropped" drop
add rule inet t fault_in iifname "lo" meta l4proto { tcp, udp } th sport { 1, 2 } th dport { 3 } counter name "fault_dropped" drop
add rule inet t fault_in iifname "lo" meta mark 0x0c10b00a socket cgroupv2 level 2 "cg/b" counter name "fault_dropped" drop
add rule inet t fault_in iifname "lo" meta mark 0x0c10b00b socket cgroupv2 level 2 "cg/a" counter name "fault_dropped" drop
`
	if got != want {
		t.Errorf("partitionText:\n%s\nwant:\n%s", got, want)
	}
	if got := partitionText("t", []int{3}, []int{1, 2}, "", ""); strings.Contains(got, "cgroupv2") {
		t.Errorf("partitionText without cgroups:\n%s", got)
	}
}

// TestNftAcceptsRules checks the generated rules with nft -c (nothing is
// changed); it needs root and nft.
func TestNftAcceptsRules(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs nft and root")
	}
	table := "cloister_bench_test"
	cg := ""
	if dir, err := os.MkdirTemp("/sys/fs/cgroup/unified", "cloister_bench_test"); err == nil {
		defer os.Remove(dir)
		cg = filepath.Join("unified", filepath.Base(dir))
	}
	for _, text := range []string{
		cutText(table, []int{7001}, cg, 100),
		cutText(table, []int{7001}, cg, 20),
		partitionText(table, []int{7001}, []int{7002, 7003}, cg, cg),
	} {
		text = faultChainsText(table) + text
		if err := nft(text, "-c", "-f", "-"); err != nil {
			t.Errorf("%v\n%s", err, text)
		}
	}
}

func ev(kind string, observer, subject int, at time.Time) stamped {
	return stamped{event: event{kind: kind, subject: subject}, observer: observer, at: at}
}

func TestHealTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := func(d float64) time.Time { return t0.Add(time.Duration(d * float64(time.Second))) }

	// serf or memberlist, 3 members: 0,1 | 2.
	h := newHealTracker(3, false)
	for _, e := range []stamped{
		ev("failed", 0, 2, s(-5)), ev("failed", 1, 2, s(-5)), ev("gone", 2, 0, s(-5)), ev("failed", 2, 1, s(-4)),
		ev("up", 0, 2, s(-1)), // before the heal: not healed, but not down either
	} {
		h.see(e)
	}
	if h.done() {
		t.Fatal("done before heal")
	}
	h.heal(t0)
	if h.done() {
		t.Fatal("done at once")
	}
	for _, e := range []stamped{
		ev("up", 1, 2, s(1)), ev("up", 2, 0, s(2)),
		ev("failed", 1, 2, s(2.5)), // reported down again: not healed
		ev("up", 1, 2, s(3)),
	} {
		h.see(e)
		if h.done() {
			t.Fatalf("done after %v", e)
		}
	}
	h.see(ev("up", 2, 1, s(4)))
	if !h.done() {
		t.Fatalf("not done: %s", h.pending())
	}
	if got, want := h.times(), []time.Duration{0, 3 * time.Second, 4 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("times = %v, want %v", got, want)
	}

	// cloister: also Ready on the full view, which means every member is seen.
	h = newHealTracker(2, true)
	for _, e := range []stamped{
		ev("failed", 0, 1, s(-5)), ev("partial", 0, -1, s(-5)), ev("failed", 1, 0, s(-5)), ev("partial", 1, -1, s(-5)),
	} {
		h.see(e)
	}
	h.heal(t0)
	h.see(ev("up", 0, 1, s(0.5)))
	h.see(ev("up", 1, 0, s(0.5)))
	if h.done() {
		t.Fatal("done without Ready")
	}
	h.see(ev("whole", 0, 0, s(1)))
	h.see(ev("partial", 1, 0, s(1)))
	h.see(ev("whole", 1, 0, s(2)))
	if !h.done() {
		t.Fatalf("not done: %s", h.pending())
	}
	if got, want := h.times(), []time.Duration{time.Second, 2 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("times = %v, want %v", got, want)
	}
	// Ready on the full view without an up event first.
	h = newHealTracker(2, true)
	h.see(ev("failed", 0, 1, s(-1)))
	h.see(ev("partial", 0, -1, s(-1)))
	h.heal(t0)
	if h.pending() != "n0(misses [1], not ready on all)" {
		t.Errorf("pending = %q", h.pending())
	}
	h.see(ev("whole", 0, 0, s(0.25)))
	if !h.done() || !reflect.DeepEqual(h.times(), []time.Duration{time.Second / 4, 0}) {
		t.Errorf("done %v, times %v", h.done(), h.times())
	}
}

func TestFaultWatch(t *testing.T) {
	var details []string
	st := &faultStat{}
	w := &faultWatch{phase: "flap", sys: "x", n: 3, victim: 2, st: st, declared: map[int]bool{}, details: &details,
		start: time.Unix(0, 0), state: func() string { return "cut" }}
	for _, e := range []stamped{
		ev("failed", 0, 2, time.Unix(1, 0)), ev("failed", 0, 2, time.Unix(2, 0)), ev("gone", 1, 2, time.Unix(2, 0)), // the victim: declared by 2
		ev("failed", 2, 0, time.Unix(3, 0)),                                // by the victim: false
		ev("failed", 1, 0, time.Unix(3, 0)),                                // false
		ev("left", 1, 0, time.Unix(3, 0)), ev("up", 1, 0, time.Unix(3, 0)), // not failures
	} {
		w.see(e)
	}
	if *st != (faultStat{falses: 2, byVictim: 1, declared: 2}) || len(details) != 2 {
		t.Errorf("stat %+v, details %q", *st, details)
	}
	st.ran = true
	if got := faultCell(*st, true); got != "2 (1 by the victim) / 2" {
		t.Errorf("faultCell = %q", got)
	}
	// Loss: reports about the victim are false too.
	st = &faultStat{}
	w = &faultWatch{victim: 2, anyFalse: true, st: st, declared: map[int]bool{}, details: &details, state: func() string { return "" }}
	w.see(ev("failed", 0, 2, time.Unix(1, 0)))
	if st.falses != 1 || st.declared != 0 {
		t.Errorf("loss: %+v", *st)
	}
}

func TestParseNamedCounter(t *testing.T) {
	// nft -j list counter inet t fault_dropped, nftables 1.0.6.
	js := `{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, {"counter": {"family": "inet", "name": "fault_dropped", "table": "t", "handle": 1, "packets": 42, "bytes": 4200}}]}`
	if n, err := parseNamedCounter([]byte(js)); err != nil || n != 42 {
		t.Errorf("parseNamedCounter = %d, %v, want 42", n, err)
	}
	if _, err := parseNamedCounter([]byte(`{"nftables": []}`)); err == nil {
		t.Error("no counter: want an error")
	}
}

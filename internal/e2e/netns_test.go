package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

const (
	zone      = "cloister.test"
	app       = "app"
	bindPort  = 4747
	httpPort  = 8080
	consensus = 3

	// formBound is how long three fresh hosts get to form a Ready cluster.
	formBound = 30 * time.Second
	// leaveBound is how long a graceful leave gets to be reported.
	leaveBound = 10 * time.Second
)

// TestNetnsDNSCluster is the deployment story end to end: three hosts on
// one bridge, a DNS server answering app.cloister.test with all three, and
// the same `cloister agent` command and environment on every host. All
// three must reach Ready under their own names; a host that crashes and
// comes back with a new IP must be back in the cluster within the LAN
// detection budget; a graceful leave must be reported as such.
func TestNetnsDNSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test in network namespaces: skipped with -short")
	}
	ipCmd := requireNetns(t)
	bin := buildAgent(t)

	l := newLab(t, ipCmd, 3, zone)
	h1, h2, h3 := l.hosts[0], l.hosts[1], l.hosts[2]
	srv := startDNS(t, l.gateway, zone, app)
	srv.set(h1.Addr, h2.Addr, h3.Addr)
	t.Cleanup(func() { t.Logf("DNS server: %s", srv.stats()) })

	f := newFleet(t, l, []string{bin, "agent", "--json"}, agentEnv(t))
	nameOf := func(h *host) string { return memberNameAt(h.Addr) }

	// 1. Three hosts form a cluster, each under its own name.
	a1, a2, a3 := f.start(h1, "h1"), f.start(h2, "h2"), f.start(h3, "h3")
	hosts := []*host{h1, h2, h3}
	formed, err := waitFor(formBound, func() (bool, string) {
		requireRunning(t, a1, a2, a3)
		return agreement(addrsOf(hosts), httpPort, namesOf(hosts, nameOf))
	})
	if err != nil {
		t.Fatalf("three hosts never agreed: %v", err)
	}
	t.Logf("formation: all three Ready with one view %v after start", formed.Round(time.Millisecond))
	for _, a := range []*agent{a1, a2, a3} {
		e, ok, err := a.findEvent(func(e event) bool { return e.Event == "started" })
		if err != nil || !ok || e.Name != nameOf(a.host) {
			t.Errorf("%s: started event %+v (found %v, %v), want name %s", a.label, e, ok, err, nameOf(a.host))
		}
	}

	// 2. Host 3 crashes and comes back with a new IP. DNS follows it.
	oldName := nameOf(h3)
	killed := time.Now()
	a3.kill(t)
	l.setAddr(h3, l.addr(23))
	srv.set(h1.Addr, h2.Addr, h3.Addr)
	newName := nameOf(h3)
	restarted := time.Now()
	a3b := f.start(h3, "h3-restarted")
	lan := cloister.LANDetection()
	budget := lan.Budget(consensus)
	suspicion := budget - lan.ProbeInterval - lan.ProbeTimeout
	worst := budget + time.Duration(lan.SuspicionMaxTimeoutMult-1)*suspicion
	// The bound: the worst-case suspicion (no confirmation: stretched by
	// SuspicionMaxTimeoutMult, 1 for LAN) plus a probe, a discovery poll
	// and the view agreement, rounded up generously.
	const restartBound = 15 * time.Second
	back, err := waitFor(restartBound+5*time.Second, func() (bool, string) {
		requireRunning(t, a1, a2, a3b)
		return agreement(addrsOf(hosts), httpPort, namesOf(hosts, nameOf))
	})
	if err != nil {
		t.Fatalf("host 3 (now %s, was %s) not back in the cluster: %v", newName, oldName, err)
	}
	t.Logf("restart with a new IP: %s replaced %s; all three Ready with one view %v after the restart (%v after the crash; LAN detection budget for 3 members %v, %v with suspicion ×%d without confirmations)",
		newName, oldName, back.Round(time.Millisecond), restarted.Sub(killed).Round(time.Millisecond)+back.Round(time.Millisecond), budget, worst, lan.SuspicionMaxTimeoutMult)
	if back > restartBound {
		t.Errorf("restart with a new IP took %v, want below %v", back, restartBound)
	}
	for _, a := range []*agent{a1, a2} {
		e, ok, err := a.findEvent(func(e event) bool { return e.Event == "down" && e.Member == oldName })
		switch {
		case err != nil:
			t.Error(err)
		case !ok:
			t.Errorf("%s: no down event for %s", a.label, oldName)
		case e.Reason != "failed":
			t.Errorf("%s: %s down with reason %q, want failed (it was SIGKILLed)", a.label, oldName, e.Reason)
		default:
			t.Logf("%s: %s declared failed %v after the SIGKILL", a.label, oldName, e.Time().Sub(killed).Round(time.Millisecond))
		}
	}
	if e, ok, _ := a3b.findEvent(func(e event) bool { return e.Event == "state" && e.To == "ready" }); ok {
		t.Logf("h3-restarted: first Ready %v after its start", e.Time().Sub(restarted).Round(time.Millisecond))
	}

	// 3. Host 2 leaves gracefully: the others report it down, reason "left".
	leaving := nameOf(h2)
	termed := time.Now()
	if err := a2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	for _, a := range []*agent{a1, a3b} {
		var left event
		_, err = waitFor(leaveBound, func() (bool, string) {
			e, ok, err := a.findEvent(func(e event) bool { return e.Event == "down" && e.Member == leaving })
			if err != nil {
				return false, err.Error()
			}
			left = e
			return ok, "no down event for " + leaving + " on " + a.label
		})
		if err != nil {
			t.Fatalf("graceful leave: %v", err)
		}
		if left.Reason != "left" {
			t.Errorf("%s: %s down with reason %q, want left", a.label, leaving, left.Reason)
		}
		t.Logf("graceful leave: %s printed %s down (%s) %v after the SIGTERM", a.label, leaving, left.Reason, left.Time().Sub(termed).Round(time.Millisecond))
	}
	if !a2.exited(15 * time.Second) {
		t.Fatal("h2 still running 15s after SIGTERM")
	}
	if a2.err != nil {
		t.Errorf("h2 exited with %v after SIGTERM, want status 0", a2.err)
	}
	if _, ok, _ := a2.findEvent(func(e event) bool { return e.Event == "exited" }); !ok {
		t.Error("h2 printed no exited event")
	}
}

// agentEnv is the one environment of every agent, as in a compose file:
// the sentry is the short name, which goes through the search list; the
// secret is drawn per test.
func agentEnv(t *testing.T) []string {
	return append(withoutCloisterVars(os.Environ()),
		cloister.EnvApp+"="+app,
		cloister.EnvSentry+"="+app,
		cloister.EnvConsensus+"="+fmt.Sprint(consensus),
		cloister.EnvSecret+"="+randomHex(t, 16),
		"CLOISTER_HTTP=:"+fmt.Sprint(httpPort),
		cloister.EnvDetection+"=lan",
		cloister.EnvBind+"=:"+fmt.Sprint(bindPort),
	)
}

// memberNameAt is the name an agent bound to :bindPort takes at ip.
func memberNameAt(ip netip.Addr) string {
	return app + "@" + netip.AddrPortFrom(ip, bindPort).String()
}

func addrsOf(hosts []*host) []netip.Addr {
	out := make([]netip.Addr, len(hosts))
	for i, h := range hosts {
		out[i] = h.Addr
	}
	return out
}

func namesOf(hosts []*host, name func(*host) string) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = name(h)
	}
	return out
}

// withoutCloisterVars drops CLOISTER_* variables from env, so that the
// caller's environment cannot change the agents' configuration.
func withoutCloisterVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CLOISTER_") {
			out = append(out, kv)
		}
	}
	return out
}

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	// partitionBound is how long each side of a cut gets to reach its
	// state: the LAN detection budget for five members (950 ms), a view
	// agreement, and room for five race-built agents on a shared machine.
	partitionBound = 15 * time.Second
	// healTarget is how soon after a heal the cluster should be whole
	// again (issue #10); it is measured and logged, not asserted.
	healTarget = 2 * time.Second
	// healBound is the generous bound that is asserted.
	healBound = 20 * time.Second
)

// TestNetnsPartitionHeal is issue #10's partition story end to end: five
// hosts, consensus 3, the same agent everywhere, a DNS name answering all
// five. A cut {h1,h2} | {h3,h4,h5} must leave the three-host side Ready on
// its own view under a new, higher term, and the two-host side in
// "noquorum", never Ready. With the DNS server down (no answers at all)
// the cut is healed: the nodes must find each other again through the
// addresses of the members they lost, and all five must be Ready on one
// view with one term, higher again.
//
// The contract it checks (node state "noquorum", and "term" and "quorate"
// in GET /cluster) is being implemented; until it lands the test fails.
func TestNetnsPartitionHeal(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test in network namespaces: skipped with -short")
	}
	ipCmd := requireNetns(t)
	l := newLab(t, ipCmd, 5, zone)
	l.requireNft()
	bin := buildAgent(t)

	hosts := l.hosts
	minority, majority := hosts[:2], hosts[2:]
	srv := startDNS(t, l.gateway, zone, app)
	srv.set(addrsOf(hosts)...)
	t.Cleanup(func() { t.Logf("DNS server: %s", srv.stats()) })

	f := newFleet(t, l, []string{bin, "agent", "--json"}, agentEnv(t))
	nameOf := func(h *host) string { return memberNameAt(h.Addr) }
	agents := make([]*agent, len(hosts))
	for i, h := range hosts {
		agents[i] = f.start(h, fmt.Sprintf("h%d", i+1))
	}

	// 1. All five Ready on one view, with one term.
	var formTerm uint64
	formed, err := waitFor(formBound, func() (bool, string) {
		requireRunning(t, agents...)
		ok, why, snaps := agreementSnaps(addrsOf(hosts), httpPort, namesOf(hosts, nameOf))
		if !ok {
			return false, why
		}
		for _, s := range snaps {
			if !s.HasTerm {
				t.Fatalf("GET /cluster on %s has no \"term\" and \"quorate\": the library does not implement issue #10 yet", s.Self.Name)
			}
		}
		formTerm, why = quorateTerm(snaps)
		return why == "", why
	})
	if err != nil {
		t.Fatalf("five hosts never agreed: %v", err)
	}
	t.Logf("formation: all five Ready with one view, term %d, %v after start", formTerm, formed.Round(time.Millisecond))

	// 2. Cut {h1,h2} | {h3,h4,h5}. The majority shrinks to its own view
	// under a higher term; the minority loses quorum.
	cutting := time.Now()
	l.partition(minority, majority)
	cut := time.Now()
	t.Logf("partition {h1,h2} | {h3,h4,h5}: nftables rules in place in %v", cut.Sub(cutting).Round(time.Millisecond))
	var majorityAfter, minorityAfter time.Duration
	var majorityTerm uint64
	_, err = waitFor(partitionBound, func() (bool, string) {
		requireRunning(t, agents...)
		var why []string
		if majorityAfter == 0 {
			ok, w, snaps := agreementSnaps(addrsOf(majority), httpPort, namesOf(majority, nameOf))
			if ok {
				var term uint64
				term, w = quorateTerm(snaps)
				switch {
				case w != "":
				case term <= formTerm:
					w = fmt.Sprintf("term %d, want above the formation's %d", term, formTerm)
				default:
					majorityAfter, majorityTerm = time.Since(cut), term
				}
			}
			if majorityAfter == 0 {
				why = append(why, "majority: "+w)
			}
		}
		if minorityAfter == 0 {
			if ok, w := inState(minority, "noquorum", false); ok {
				minorityAfter = time.Since(cut)
			} else {
				why = append(why, "minority: "+w)
			}
		}
		return majorityAfter > 0 && minorityAfter > 0, strings.Join(why, "; ")
	})
	if majorityAfter == 0 {
		t.Fatalf("after the partition: %v", err)
	}
	t.Logf("partition: h3..h5 Ready on their 3-member view, term %d, %v after the cut", majorityTerm, majorityAfter.Round(time.Millisecond))
	if minorityAfter == 0 {
		// Go on: how the heal goes is worth knowing all the same.
		t.Errorf("after the partition: %v", err)
	} else {
		t.Logf("partition: h1, h2 noquorum %v after the cut", minorityAfter.Round(time.Millisecond))
	}
	checkReadyz(t, "majority during the partition", majority, http.StatusOK)
	checkReadyz(t, "minority during the partition", minority, http.StatusServiceUnavailable)

	// 3. DNS down, then heal. Nobody gets a DNS answer from now on, and
	// the heal waits until every agent has seen a lookup fail, so that no
	// answer received just before the outage helps.
	stopped := time.Now()
	srv.stop()
	if err := srv.probe(l.gateway); err == nil {
		t.Fatal("DNS down: the server still answers")
	}
	seen, err := waitDiscoveryFailed(t, agents, stopped)
	if err != nil {
		t.Fatalf("DNS down: %v", err)
	}
	t.Logf("DNS down (no answers): every agent reported a failed lookup within %v", seen.Round(time.Millisecond))
	// The heal removes each host's rules in turn, and traffic between
	// hosts already healed flows at once: a minority Ready while the
	// rules go is no fault, one before they began to go is.
	healing := time.Now()
	l.heal()
	healed := time.Now()
	for i, a := range agents[:len(minority)] {
		e, ok, err := a.findEvent(func(e event) bool {
			return e.Event == "state" && e.To == "ready" && !e.Time().Before(cutting) && e.Time().Before(healing)
		})
		if err != nil {
			t.Error(err)
		}
		if ok {
			t.Errorf("h%d (minority) went Ready %v after the cut, before the heal: %+v", i+1, e.Time().Sub(cut).Round(time.Millisecond), e)
		}
	}
	var healTerm uint64
	var healAfter time.Duration // from the heal, not from the wait's start
	healTerm, healAfter, err = quorateAbove(t, agents, hosts, majorityTerm, healed)
	if err != nil {
		t.Fatalf("after the heal with DNS down: %v", err)
	}
	t.Logf("heal (DNS down): all five Ready with one view, term %d, %v after the heal (target %v)", healTerm, healAfter.Round(time.Millisecond), healTarget)
	if healAfter > healTarget {
		t.Logf("heal (DNS down): %v is above the %v target", healAfter.Round(time.Millisecond), healTarget)
	}
	checkReadyz(t, "all after the heal", hosts, http.StatusOK)
	srv.restart()
	if err := srv.probe(l.gateway); err != nil {
		t.Errorf("DNS restarted: %v", err)
	}
	t.Logf("partition: majority ready after %d ms, minority noquorum after %s; heal (DNS down): one view after %d ms",
		majorityAfter.Milliseconds(), msOrNever(minorityAfter), healAfter.Milliseconds())

	// 4. The same cut again, healed with DNS up, for the comparison.
	l.partition(minority, majority)
	cut = time.Now()
	var secondTerm uint64
	_, err = waitFor(partitionBound, func() (bool, string) {
		requireRunning(t, agents...)
		ok, why, snaps := agreementSnaps(addrsOf(majority), httpPort, namesOf(majority, nameOf))
		if !ok {
			return false, why
		}
		if secondTerm, why = quorateTerm(snaps); why == "" && secondTerm <= healTerm {
			why = fmt.Sprintf("term %d, want above %d", secondTerm, healTerm)
		}
		if why != "" {
			return false, "majority: " + why
		}
		return inState(minority, "noquorum", false)
	})
	if err != nil {
		t.Fatalf("second partition: %v", err)
	}
	l.heal()
	healed = time.Now()
	if _, healAfter, err = quorateAbove(t, agents, hosts, secondTerm, healed); err != nil {
		t.Fatalf("after the heal with DNS up: %v", err)
	}
	t.Logf("heal (DNS up): one view after %d ms", healAfter.Milliseconds())
}

// quorateAbove waits until the hosts are Ready on one view with one term
// above floor, and returns that term and how long after since it held.
func quorateAbove(t *testing.T, agents []*agent, hosts []*host, floor uint64, since time.Time) (uint64, time.Duration, error) {
	t.Helper()
	var term uint64
	var after time.Duration
	_, err := waitFor(healBound, func() (bool, string) {
		requireRunning(t, agents...)
		ok, why, snaps := agreementSnaps(addrsOf(hosts), httpPort, namesOf(hosts, func(h *host) string { return memberNameAt(h.Addr) }))
		if !ok {
			return false, why
		}
		term, why = quorateTerm(snaps)
		if why == "" && term <= floor {
			why = fmt.Sprintf("term %d, want above %d", term, floor)
		}
		after = time.Since(since)
		return why == "", why
	})
	return term, after, err
}

// dnsDownBound is how long the agents get to report a failed lookup once
// the DNS server stops answering: a poll interval (1 s, ±20%) and the
// lookup's timeout (2 s), with room.
const dnsDownBound = 10 * time.Second

// waitDiscoveryFailed waits until every agent has printed a
// discovery_failed event stamped at or after since, and returns how long
// that took.
func waitDiscoveryFailed(t *testing.T, agents []*agent, since time.Time) (time.Duration, error) {
	t.Helper()
	return waitFor(dnsDownBound, func() (bool, string) {
		requireRunning(t, agents...)
		var why []string
		for _, a := range agents {
			_, ok, err := a.findEvent(func(e event) bool { return e.Event == "discovery_failed" && !e.Time().Before(since) })
			switch {
			case err != nil:
				why = append(why, err.Error())
			case !ok:
				why = append(why, a.label+" has reported no failed lookup yet")
			}
		}
		return len(why) == 0, strings.Join(why, "; ")
	})
}

// quorateTerm checks that every snapshot says quorate, with one term, and
// returns the term; if not, it says why.
func quorateTerm(snaps []*snapshot) (uint64, string) {
	var why []string
	terms := map[uint64]bool{}
	var term uint64
	for _, s := range snaps {
		if !s.Quorate {
			why = append(why, "not quorate: "+s.String())
		}
		terms[s.Term] = true
		term = s.Term
	}
	if len(terms) != 1 {
		var all []string
		for _, s := range snaps {
			all = append(all, fmt.Sprintf("%s term %d", s.Self.Name, s.Term))
		}
		why = append(why, "terms differ: "+strings.Join(all, ", "))
	}
	return term, strings.Join(why, "; ")
}

// inState checks that the agents on hosts all say state, with quorate as
// given; if not, it says why.
func inState(hosts []*host, state string, quorate bool) (bool, string) {
	var why []string
	for _, h := range hosts {
		s, err := getCluster(h.Addr, httpPort)
		switch {
		case err != nil:
			why = append(why, fmt.Sprintf("%s: %v", h.Addr, err))
		case s.State != state || s.Quorate != quorate:
			why = append(why, s.String())
		}
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// checkReadyz fails the test unless GET /readyz answers want on every host.
func checkReadyz(t *testing.T, what string, hosts []*host, want int) {
	t.Helper()
	for _, h := range hosts {
		code, err := getReadyz(h.Addr, httpPort)
		if err != nil || code != want {
			t.Errorf("%s: GET /readyz on %s: %d, %v; want %d", what, h.Addr, code, err, want)
		}
	}
}

// msOrNever is d in whole milliseconds, or "never" for zero.
func msOrNever(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

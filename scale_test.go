package cloister_test

import (
	"cmp"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// The harness at scale (issue #11): CLOISTER_SCALE nodes in one process on
// real loopback sockets, with the harness's default profile, all started
// at once with a consensus of all of them; reports the time until all are
// Ready and the failure reports on the way (none is right: nobody fails).
// CLOISTER_SCALE_PROFILE picks another profile ("lan", "local").
func TestHarnessScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CLOISTER_SCALE"))
	if n == 0 {
		t.Skip("set CLOISTER_SCALE to the number of nodes")
	}
	rs := newRecorders(n)
	opts := []cloistertest.Option{cloistertest.WithTimeout(5 * time.Minute), withRecorders(rs)}
	name := os.Getenv("CLOISTER_SCALE_PROFILE")
	if name != "" {
		d, ok := cloister.DetectionByName(name)
		if !ok {
			t.Fatalf("no profile %q", name)
		}
		opts = append(opts, cloistertest.WithConfig(func(i int, c *cloister.Config) {
			c.Detection = d
			c.Listeners = append(c.Listeners, rs[i])
		}))
	}
	start := time.Now()
	c := cloistertest.New(t, n, opts...)
	ready := time.Since(start)
	downs := 0
	reasons := map[string]int{}
	for _, r := range rs {
		for _, d := range r.downs() {
			downs++
			reasons[d.Reason.String()]++
		}
	}
	t.Logf("failure reports by reason: %v", reasons)
	var refuted, hinted uint64
	for _, nd := range c.Nodes() {
		s := nd.Stats()
		refuted += s.FailuresNotConfirmed
		hinted += s.FailuresHinted
	}
	t.Logf("%d nodes (profile %s): all Ready after %v; %d failure reports, %d failures not confirmed, %d hinted",
		n, cmp.Or(name, "harness default"), ready, downs, refuted, hinted)
}

// Sixty nodes on the in-memory network, all started at once with a
// consensus of all of them: above 50 members the loop drains in batches
// (drainGap), discovery paces its joins by the view and the core refreshes
// only the members whose adverts changed, so this is the smallest cluster
// that runs all of that. Nobody is declared failed on the way; then five
// members killed at once are removed in at most two view changes, and
// nobody else is declared failed; then a 35|20 split leaves only the
// majority Ready, and the heal merges everybody into one view.
func TestSixtyNodesAssembleLoseFiveAndHealASplit(t *testing.T) {
	if testing.Short() {
		t.Skip("60 nodes: not with -short")
	}
	if raceEnabled {
		// Under the race detector the harness's default for 60 nodes is
		// the crowded host's profile (cloistertest.DetectionFor), which
		// assembles (TestSixtyNodesAssembleWithTheHarnessDefault) and
		// removes the five kills in one view change, but takes more than
		// the harness's 30 s to leave the split's minority without
		// quorum; with two minutes the whole test took 85-88 s in three
		// runs, too close to risk in CI. CI runs it without the race
		// detector (.ci/run).
		t.Skip("60 nodes through kills and a split: run without -race")
	}
	n := 60
	c, rs := assembleSixty(t)
	// The watches open once Ready: a kill in the moment before leaves
	// some victims to probing, and their removals then spread over more
	// views (3 in one CI run that killed as the last node became Ready).
	waitWatches(c)
	marks := eventMarks(rs)
	victims := []int{7, 19, 31, 43, 55}
	c.Kill(victims...)
	took := c.WaitFor("one view without the killed", func() bool {
		return c.Agreed() && len(c.Node(0).Members()) == n-len(victims)
	})
	views := viewsSince(rs, marks, victims)
	t.Logf("%d nodes: %d killed at once, removed after %v in %d view changes", n, len(victims), took, len(views))
	if len(views) > 2 {
		t.Fatalf("the survivors went through %d views, want at most 2", len(views))
	}
	if f := falseDowns(c, rs, victims...); len(f) > 0 {
		t.Fatalf("others declared down: %v", f)
	}

	// Then a 35|20 split of the 55 left: the majority carries on at a new
	// term, the minority has no quorum (keep-majority), and after the heal
	// the two sides merge through paced joins and reconnects into one view
	// of all 55.
	var major, minor []int
	for i := range n {
		switch {
		case slices.Contains(victims, i):
		case len(major) < 35:
			major = append(major, i)
		default:
			minor = append(minor, i)
		}
	}
	c.Partition(major, minor)
	c.WaitFor("the majority Ready on its 35, the minority without quorum", func() bool {
		return inState(c, cloister.Ready, len(major), major...) && inState(c, cloister.NoQuorum, 0, minor...)
	})
	c.Heal()
	healed := c.WaitFor("one view of all 55 after the heal", func() bool {
		return c.Agreed() && len(c.Node(0).Members()) == n-len(victims)
	})
	t.Logf("35|20 split: healed into one view after %v", healed)
}

// Sixty nodes on the in-memory network assemble with the harness's default
// profile, with or without the race detector, and nobody is declared
// failed on the way. Under the race detector a node costs several times
// the CPU, and with the LAN profile 60 of them were still Rehashing on
// their one view after 5 minutes: the harness counts each as five nodes
// there (cloistertest.DetectionFor).
func TestSixtyNodesAssembleWithTheHarnessDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("60 nodes: not with -short")
	}
	assembleSixty(t)
	t.Logf("race detector %v: profile %s", raceEnabled, cloistertest.DetectionFor(60).Name)
}

// assembleSixty starts 60 nodes on the in-memory network with the
// harness's default profile and a consensus of all of them, and fails t
// unless every one is Ready on the view of all 60 with nobody declared
// failed on the way.
func assembleSixty(t *testing.T) (*cloistertest.Cluster, []*recorder) {
	t.Helper()
	const n = 60
	c, rs := detectCluster(t, n, cloistertest.DetectionFor(n), seed())
	if got := len(c.Node(0).View().Members); got != n {
		t.Fatalf("view of %d members after the start, want %d", got, n)
	}
	if f := falseDowns(c, rs); len(f) > 0 {
		t.Fatalf("declared down while assembling: %v", f)
	}
	return c, rs
}

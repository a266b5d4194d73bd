package cloister_test

import (
	"cmp"
	"os"
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

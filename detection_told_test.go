package cloister_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// A survivor that gets nothing from the members that found a row of kills
// (everything they send it is blocked) is told by the others: each member
// that confirmed a notice passes on what the notice named, together, and
// gossips it. The survivor still hears every kill at once, not by
// probing, and the survivors apply the row in at most two view changes.
func TestSurvivorToldOnlyByOthers(t *testing.T) {
	n, k := 12, 4
	d, c, rs, order := watchingCluster(t, n)
	victims := order[4 : 4+k]
	watchers := order[2:4] // each node watches the two after it in ID order
	deaf := order[9]
	for _, w := range watchers {
		c.Block(w, deaf)
	}
	marks := eventMarks(rs)
	c.Kill(victims...)
	took := heardAtOnce(t, c, d, rs, victims, []int{deaf})
	t.Logf("%d neighbours killed: the survivor the watchers cannot reach heard them after %v (detection budget %v)", k, took, d.Budget(n))
	removedInTwoViews(t, c, rs, marks, victims, deaf)
}

// IDs sort as strings, so a row of members killed together often has a
// live member between them in ID order (198.18.1.23 sorts between .239 and
// .240). The sweep steps over it: the watcher finds the whole row in one
// sweep and announces it as one notice.
func TestSweepStepsOverALiveMember(t *testing.T) {
	n := 12
	_, c, rs, order := watchingCluster(t, n)
	victims := []int{order[4], order[5], order[6], order[8], order[9]} // order[7] lives
	marks := eventMarks(rs)
	c.Kill(victims...)
	removedInTwoViews(t, c, rs, marks, victims, order[0])
	var most uint64
	for i := range n {
		if !slices.Contains(victims, i) {
			most = max(most, c.Node(i).Stats().FailuresSwept)
		}
	}
	if want := uint64(len(victims) - 1); most < want {
		t.Fatalf("the most any survivor swept after its first finding: %d, want %d (the whole row past the live member)", most, want)
	}
}

// A live member inside a row of kills (its ID sorts between them) watches
// only the part of the row after it, and its sweep walks back too, so that
// it announces the whole row: here the watchers of the row's first half
// can tell nobody, and every survivor still hears the whole row at once
// from the member inside it, not the first half by probing.
func TestSweepWalksBackFromAMemberInsideTheRow(t *testing.T) {
	n := 12
	d, c, rs, order := watchingCluster(t, n)
	victims := []int{order[4], order[5], order[6], order[8], order[9]}
	inside := order[7] // watches order[8] and order[9]
	silent := order[2:4]
	for _, w := range silent {
		for i := range n {
			if i != w && !slices.Contains(silent, i) {
				c.Block(w, i)
			}
		}
	}
	var hearers []int
	for i := range n {
		if !slices.Contains(victims, i) && !slices.Contains(silent, i) {
			hearers = append(hearers, i)
		}
	}
	c.Kill(victims...)
	took := heardAtOnce(t, c, d, rs, victims, hearers)
	t.Logf("the survivors heard the row of %d after %v (detection budget %v); the member inside it swept %d", len(victims), took, d.Budget(n), c.Node(inside).Stats().FailuresSwept)
	if swept := c.Node(inside).Stats().FailuresSwept; swept != uint64(len(victims)-1) {
		t.Fatalf("the member inside the row swept %d after its first finding, want %d: the row went out in parts", swept, len(victims)-1)
	}
	c.Heal()
	c.WaitFor("one view without them", func() bool { return c.Agreed() && len(c.Node(inside).Members()) == n-len(victims) })
	if f := falseDowns(c, rs, victims...); len(f) > 0 {
		t.Fatalf("others declared down: %v", f)
	}
}

// heardAtOnce waits until every node of hearers has reported every victim
// down, and fails the test unless that took less than half the detection
// budget: told by a down notice, not found by probing. It returns how long
// it took.
func heardAtOnce(t *testing.T, c *cloistertest.Cluster, d cloister.Detection, rs []*recorder, victims, hearers []int) time.Duration {
	t.Helper()
	var ids []string
	for _, v := range victims {
		ids = append(ids, c.Node(v).Self().ID)
	}
	took := c.WaitFor("every hearer reported every victim down", func() bool {
		for _, i := range hearers {
			for _, id := range ids {
				if downs, _ := rs[i].count(id); downs == 0 {
					return false
				}
			}
		}
		return true
	})
	if limit := d.Budget(c.Len()) / 2; took > limit {
		t.Fatalf("the kills were heard after %v, want under %v: found by probing, not told", took, limit)
	}
	return took
}

// removedInTwoViews waits until the survivors agree on one view without
// the victims (as the survivor observer sees it), and fails the test if
// the survivors reported more than two views since marks or anybody
// reported a live member down.
func removedInTwoViews(t *testing.T, c *cloistertest.Cluster, rs []*recorder, marks []int, victims []int, observer int) {
	t.Helper()
	agreedWithout(t, c, rs, victims, observer)
	if views := viewsSince(rs, marks, victims); len(views) > 2 {
		t.Fatalf("the survivors went through %d views, want at most 2", len(views))
	}
}

// agreedWithout waits until the survivors agree on one view without the
// victims (as the survivor observer sees it), and fails the test if
// anybody reported a live member down.
func agreedWithout(t *testing.T, c *cloistertest.Cluster, rs []*recorder, victims []int, observer int) {
	t.Helper()
	c.WaitFor("one view without them", func() bool { return c.Agreed() && len(c.Node(observer).Members()) == c.Len()-len(victims) })
	if f := falseDowns(c, rs, victims...); len(f) > 0 {
		t.Fatalf("others declared down: %v", f)
	}
}

// News of a kill does not cross a partition, and a sweep that reaches the
// other side finds nothing there: its dials time out, and only a refused
// dial counts. The members on the victims' side hear the kills at once;
// on the other side nobody hears of them or reports anybody during the
// cut. Healed before the detection budget, the cluster agrees on the view
// without the victims and nobody else is reported down.
func TestKillNewsStaysOnItsSideOfAPartition(t *testing.T) {
	n := 12
	_, c, rs, order := watchingCluster(t, n)
	near, far := order[:n/2], order[n/2:]
	victims := []int{order[2], order[3]} // watched by order[0] and order[1]
	var hearers []int
	for _, i := range near {
		if !slices.Contains(victims, i) {
			hearers = append(hearers, i)
		}
	}
	d := cloister.LANDetection()
	c.Partition(near, far)
	c.Kill(victims...)
	took := heardAtOnce(t, c, d, rs, victims, hearers)
	for _, i := range far {
		if h := c.Node(i).Stats().FailuresHinted; h > 0 {
			t.Fatalf("node %d across the partition found %d members ended", i, h)
		}
		for _, v := range victims {
			if downs, _ := rs[i].count(c.Node(v).Self().ID); downs > 0 {
				t.Fatalf("node %d across the partition heard of a kill within %v", i, took)
			}
		}
	}
	for _, i := range hearers {
		if h := c.Node(i).Stats().FailuresHinted; h > uint64(len(victims)) {
			t.Fatalf("node %d found %d members ended, only %d were killed: its sweep counted the far side", i, h, len(victims))
		}
	}
	// The far side finds the victims by probing once healed: the notices
	// and their gossip were spent during the cut, so it may remove them
	// one view at a time; the views are not counted here.
	c.Heal()
	agreedWithout(t, c, rs, victims, far[0])
}

// A survivor that lost every notice of a row of kills, every pass-on and
// every gossiped copy (everything sent to it was blocked while they went
// round) asks the members that moved on which members they found ended,
// once it hears their adverts again, and removes the whole row in one
// view change, long before memberlist's own verdict (its suspicion is
// stretched to half a minute here).
func TestDeafSurvivorAsksWhoEnded(t *testing.T) {
	n, k := 12, 3
	d := cloister.SteadyDetection()
	d.SuspicionMult = 30             // memberlist's own verdict: over 30 s
	d.PushPullInterval = time.Second // how the deaf node hears the others' adverts again
	c, rs := detectCluster(t, n, d, seed())
	waitWatches(c)
	order := idOrder(c)
	victims := order[4 : 4+k] // found by order[2] and order[3] (and their sweeps)
	deaf := order[10]         // watches order[11] and order[0]
	for i := range n {
		if i != deaf {
			c.Block(i, deaf)
		}
	}
	marks := eventMarks(rs)
	c.Kill(victims...)
	var others []int
	for i := range n {
		if i != deaf && !slices.Contains(victims, i) {
			others = append(others, i)
		}
	}
	heardAtOnce(t, c, d, rs, victims, others)
	// The notices' gossip goes on for RetransmitMult × log10(N+1) gossip
	// rounds (five of 200 ms) after the last member confirmed them: the
	// deaf node stays deaf well past that.
	time.Sleep(3 * time.Second)
	for _, v := range victims {
		if downs, _ := rs[deaf].count(c.Node(v).Self().ID); downs > 0 {
			t.Fatalf("the deaf node heard of a kill while deaf")
		}
	}
	c.Heal()
	healed := time.Now()
	c.WaitFor("the deaf node reported every victim down", func() bool {
		for _, v := range victims {
			if downs, _ := rs[deaf].count(c.Node(v).Self().ID); downs == 0 {
				return false
			}
		}
		return true
	})
	took := time.Since(healed)
	t.Logf("the deaf node heard of the %d kills %v after it could hear again (memberlist's verdict: over %v)", k, took, d.Budget(n))
	if limit := d.Budget(n) / 2; took > limit {
		t.Fatalf("the deaf node heard of the kills after %v, want under %v: found by probing, not by asking", took, limit)
	}
	var answered uint64
	for _, i := range others {
		answered += c.Node(i).Stats().EndedPullsAnswered
	}
	if sent := c.Node(deaf).Stats().EndedPullsSent; sent == 0 || answered == 0 {
		t.Fatalf("the deaf node asked %d members who ended, %d answers; want some of each", sent, answered)
	}
	agreedWithout(t, c, rs, victims, deaf)
	if views := viewsSince(rs[deaf:deaf+1], marks[deaf:deaf+1], nil); len(views) != 1 {
		t.Fatalf("the deaf node went through %d views, want 1", len(views))
	}
}

package cloistertest

import (
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

func TestDetectionForCrowdedProcess(t *testing.T) {
	if d := detectionForLoad(100); d != cloister.LANDetection() {
		t.Fatalf("100 nodes: %+v, want the LAN profile", d)
	}
	ml := MemberlistDetection()
	if ml.ProbeInterval != time.Second || ml.ProbeTimeout != 500*time.Millisecond || ml.GossipInterval != 200*time.Millisecond {
		t.Fatalf("memberlist's timings: %+v", ml)
	}
	for _, c := range []struct {
		n              int
		probe, timeout time.Duration
	}{
		{101, time.Second, 500 * time.Millisecond},
		{200, time.Second, 500 * time.Millisecond},
		{500, 2500 * time.Millisecond, 1250 * time.Millisecond},
		{800, 6400 * time.Millisecond, 3200 * time.Millisecond},
		{1000, 10 * time.Second, 5 * time.Second},
	} {
		d := detectionForLoad(c.n)
		if d.ProbeInterval != c.probe || d.ProbeTimeout != c.timeout || d.GossipInterval != ml.GossipInterval || d.Name != "shared-host" {
			t.Errorf("%d nodes: %+v, want probes every %v with a %v timeout, memberlist's other timings", c.n, d, c.probe, c.timeout)
		}
	}
}

// Under the race detector a node counts as raceNodeCost nodes: the
// harness's default for 60 nodes is then the shared host's, not LAN.
func TestDetectionForCountsTheRaceDetector(t *testing.T) {
	lan := DetectionFor(100/raceNodeCost) == cloister.LANDetection()
	if !lan {
		t.Fatalf("%d nodes: %+v, want LAN with or without the race detector", 100/raceNodeCost, DetectionFor(100/raceNodeCost))
	}
	if shared := DetectionFor(60).Name == "shared-host"; shared != (nodeCost > 1) {
		t.Fatalf("60 nodes, race detector %v: profile %q", nodeCost > 1, DetectionFor(60).Name)
	}
}

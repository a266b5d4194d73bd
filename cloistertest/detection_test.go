package cloistertest

import (
	"testing"
	"time"

	"github.com/cloister-go/cloister"
)

func TestDetectionForCrowdedProcess(t *testing.T) {
	if d := DetectionFor(100); d != cloister.LANDetection() {
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
		d := DetectionFor(c.n)
		if d.ProbeInterval != c.probe || d.ProbeTimeout != c.timeout || d.GossipInterval != ml.GossipInterval || d.Name != "shared-host" {
			t.Errorf("%d nodes: %+v, want probes every %v with a %v timeout, memberlist's other timings", c.n, d, c.probe, c.timeout)
		}
	}
}

package cloister_test

import (
	"errors"
	"testing"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// Issue #12, item 7: Self reports what the node is, not its starting values.
func TestSelfReportsStateAndView(t *testing.T) {
	c := cloistertest.New(t, 1)
	n := c.Node(0)
	self := n.Self()
	if self.State != cloister.Ready || self.StateName != "ready" || self.ViewID != n.View().ID || self.ViewID == 0 {
		t.Fatalf("Self() = state %v (%q) view %016x, want ready with view %016x", self.State, self.StateName, self.ViewID, n.View().ID)
	}
}

// Issue #12, item 7: a zero Ring and a zero RingChanged answer, never panic.
func TestZeroRingAndRingChanged(t *testing.T) {
	for name, r := range map[string]*cloister.Ring{"var": new(cloister.Ring), "literal": {}} {
		if _, err := r.Whois("k"); !errors.Is(err, cloister.ErrNotReady) {
			t.Errorf("%s: Whois = %v, want ErrNotReady", name, err)
		}
		if _, err := r.WhoisN("k", 2); !errors.Is(err, cloister.ErrNotReady) {
			t.Errorf("%s: WhoisN = %v, want ErrNotReady", name, err)
		}
		if r.Mine("k") || r.Checksum() != 0 || r.Members() != nil || !errors.Is(r.Err(), cloister.ErrNotReady) {
			t.Errorf("%s: Mine/Checksum/Members/Err answered on a zero ring", name)
		}
	}
	var e cloister.RingChanged
	if s := e.String(); s == "" {
		t.Error("RingChanged{}.String() is empty")
	}
	if e.Gained("k") || e.Lost("k") {
		t.Error("a zero RingChanged gained or lost a key")
	}
	if _, err := e.Handoff(); err == nil {
		t.Error("a zero RingChanged has a handoff")
	}
}

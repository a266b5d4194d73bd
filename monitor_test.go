package cloister_test

import (
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

func TestMonitorFiresOnceOnCrashAndLeave(t *testing.T) {
	c := cloistertest.New(t, 4, cloistertest.WithConsensus(2))
	watcher := c.Node(0)
	crashed, leaving := c.Node(1).Self(), c.Node(2).Self()
	crashDown, _ := watcher.Monitor(crashed)
	leaveDown, _ := watcher.Monitor(leaving)
	cancelledDown, cancel := watcher.Monitor(crashed)
	cancel()

	c.Kill(1)
	c.Stop(2)
	for _, tc := range []struct {
		ch     <-chan cloister.MemberDown
		id     string
		reason cloister.Reason
	}{{crashDown, crashed.ID, cloister.Failed}, {leaveDown, leaving.ID, cloister.Left}} {
		select {
		case d := <-tc.ch:
			if d.Member.ID != tc.id || d.Reason != tc.reason {
				t.Fatalf("monitor got %s %v, want %s %v", d.Member.ID, d.Reason, tc.id, tc.reason)
			}
		case <-time.After(cloistertest.DefaultTimeout):
			t.Fatalf("no notification for %s", tc.id)
		}
	}
	c.WaitAllReady()
	select {
	case d := <-cancelledDown:
		t.Fatalf("cancelled monitor fired: %v", d)
	default:
	}
	// A member that is already gone is reported at once.
	again, _ := watcher.Monitor(crashed)
	select {
	case d := <-again:
		if d.Reason != cloister.Failed {
			t.Fatalf("reason %v", d.Reason)
		}
	default:
		t.Fatal("monitor of an absent member did not fire at once")
	}
}

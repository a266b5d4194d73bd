package cloister

import (
	"testing"
	"time"

	"github.com/cloister-go/cloister/internal/core"
)

func TestAdvertDelay(t *testing.T) {
	const quiet = 10 * time.Millisecond
	snap := func(view uint64, state State, members, consensus int) *Snapshot {
		return &Snapshot{State: state, Consensus: consensus, View: View{ID: ViewID(view), Members: make([]Member, members)},
			advert: core.Advert{View: view, State: state}}
	}
	pub := func(view uint64, state State, members int) published {
		return published{advert: core.Advert{View: view, State: state}, members: members}
	}
	voting := func(s *Snapshot, q core.QuorumAdvert) *Snapshot {
		s.advert.Quorum = q
		return s
	}
	tests := []struct {
		name    string
		snap    *Snapshot
		last    published
		publish bool
		delay   time.Duration
	}{
		{"unchanged", snap(7, Ready, 3, 3), pub(7, Ready, 3), false, 0},
		{"view below consensus while assembling", snap(8, Assembling, 2, 3), pub(7, Assembling, 1), false, 0},
		{"first view reaching consensus goes at once", snap(9, Rehashing, 3, 3), pub(7, Assembling, 2), true, 0},
		{"later view change settles", snap(10, Rehashing, 4, 3), pub(9, Ready, 3), true, quiet},
		{"view change with consensus 1 settles", snap(10, Rehashing, 2, 1), pub(9, Ready, 1), true, quiet},
		{"state only change waits longest", snap(9, Ready, 3, 3), pub(9, Rehashing, 3), true, stateOnlyQuiets * quiet},
		{"falling below consensus is advertised", snap(11, Assembling, 2, 3), pub(9, Ready, 3), true, quiet},
		{"shrinking further below consensus is not", snap(12, Assembling, 1, 3), pub(11, Assembling, 2), false, 0},
		{"a vote goes at once", voting(snap(9, Rehashing, 3, 3), core.QuorumAdvert{OK: true}), pub(9, Rehashing, 3), true, 0},
		{"an acceptance goes at once", voting(snap(9, Rehashing, 3, 3), core.QuorumAdvert{Accept: 2, Floor: 2}), pub(9, Rehashing, 3), true, 0},
		{"a commit waits like a state change", voting(snap(9, Ready, 3, 3), core.QuorumAdvert{Term: 2, Accept: 2, Floor: 2, Committed: true}), published{advert: core.Advert{View: 9, State: Rehashing, Quorum: core.QuorumAdvert{Accept: 2, Floor: 2}}, members: 3}, true, stateOnlyQuiets * quiet},
		{"a view below consensus after a start is advertised", voting(snap(12, Assembling, 1, 3), core.QuorumAdvert{Floor: 1}), pub(11, Assembling, 2), true, quiet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := advertDelay(tt.snap, tt.last, quiet)
			if ok != tt.publish || (ok && d != tt.delay) {
				t.Fatalf("advertDelay = %v, %v; want %v, %v", d, ok, tt.delay, tt.publish)
			}
		})
	}
}

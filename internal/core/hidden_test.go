package core

import "testing"

// A hidden core is Ready when the members on its view are Ready at one
// term, and stays Ready while a member advertises another view on which it
// accepted nothing since, as a member's core does; a member that accepted
// something newer, or votes no, makes it Rehashing.
func TestHiddenObserverFollowsTheReadyRule(t *testing.T) {
	a, b, c3 := member("a", 1), member("b", 1), member("c", 1)
	ready := func(m Member, view, term uint64) Member {
		m.State = Ready
		return advertised(m, view, QuorumAdvert{Term: term, Accept: term, Floor: term, OK: true, Committed: true})
	}
	elsewhere := func(m Member, q QuorumAdvert) Member {
		m.State = Rehashing
		m.AdvertSeq++ // after its Ready advert
		return advertised(m, 0xfeed, q)
	}
	observing := func(t *testing.T) (*Core, uint64) {
		t.Helper()
		h := New(member("h", 1), 3)
		h.SetHidden()
		h.Start()
		h.Apply([]Input{{Kind: Alive, Member: a}, {Kind: Alive, Member: b}, {Kind: Alive, Member: c3}})
		v := h.View().ID
		h.Apply([]Input{{Kind: Alive, Member: ready(a, v, 1)}, {Kind: Alive, Member: ready(b, v, 1)}, {Kind: Alive, Member: ready(c3, v, 1)}})
		if h.State() != Ready || h.Term() != 1 {
			t.Fatalf("observing a Ready cluster: %v term %d, want ready at 1", h.State(), h.Term())
		}
		return h, v
	}

	t.Run("a member on another view that accepted nothing", func(t *testing.T) {
		h, _ := observing(t)
		h.Update(elsewhere(b, QuorumAdvert{Term: 1, Floor: 1, OK: true}))
		if h.State() != Ready {
			t.Fatalf("state %v, want still ready", h.State())
		}
	})
	t.Run("a member that accepted a newer view", func(t *testing.T) {
		h, _ := observing(t)
		h.Update(elsewhere(b, QuorumAdvert{Term: 1, Accept: 2, Floor: 2, OK: true}))
		if h.State() != Rehashing {
			t.Fatalf("state %v, want rehashing", h.State())
		}
	})
	t.Run("a member on another view that votes no", func(t *testing.T) {
		h, _ := observing(t)
		h.Update(elsewhere(b, QuorumAdvert{Term: 1, Floor: 1}))
		if h.State() != Rehashing {
			t.Fatalf("state %v, want rehashing", h.State())
		}
	})
	t.Run("a member on its view not Ready", func(t *testing.T) {
		h, v := observing(t)
		m := ready(b, v, 1)
		m.State, m.AdvertSeq = Rehashing, 5
		h.Update(m)
		if h.State() != Rehashing {
			t.Fatalf("state %v, want rehashing", h.State())
		}
	})
	t.Run("nobody on its view", func(t *testing.T) {
		h, _ := observing(t)
		h.Apply([]Input{
			{Kind: Alive, Member: elsewhere(a, QuorumAdvert{Term: 1, Floor: 1, OK: true})},
			{Kind: Alive, Member: elsewhere(b, QuorumAdvert{Term: 1, Floor: 1, OK: true})},
			{Kind: Alive, Member: elsewhere(c3, QuorumAdvert{Term: 1, Floor: 1, OK: true})},
		})
		if h.State() != Rehashing {
			t.Fatalf("state %v, want rehashing", h.State())
		}
	})
}

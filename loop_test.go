package cloister

import (
	"log/slog"
	"net/netip"
	"testing"

	"github.com/cloister-go/cloister/internal/core"
	"github.com/cloister-go/cloister/internal/membership"
)

// memberlist hands a departure its own copy of the member's advert, which
// can be older than the stopping advert sent straight to us: the member
// still left.
func TestDepartureAfterDirectStoppingAdvertIsALeave(t *testing.T) {
	self := core.Member{ID: "app@127.0.0.1:1#1", Name: "app@127.0.0.1:1", Incarnation: 1, Weight: 1}
	n := &Node{core: core.New(self, 2), logger: slog.New(slog.DiscardHandler)}
	n.core.Start()
	peer := func(st State, seq uint64) membership.Member {
		return membership.Member{ID: "app@127.0.0.1:2#1", Addr: netip.MustParseAddrPort("127.0.0.1:2"),
			Meta: encodeMeta(meta{State: st, Weight: 1, Seq: seq})}
	}
	feed := func(events ...membership.Event) []core.Change {
		in, _ := n.inputs(events, false)
		return n.core.Apply(in)
	}
	feed(membership.Event{Kind: membership.Joined, Member: peer(Assembling, 0)})
	changes := feed(
		membership.Event{Kind: membership.Updated, Member: peer(Stopping, 2)}, // the direct copy
		membership.Event{Kind: membership.Departed, Member: peer(Assembling, 0)},
	)
	for _, c := range changes {
		if down, ok := c.(core.MemberDown); ok {
			if down.Reason != core.Left {
				t.Fatalf("departure reported %v, want left", down.Reason)
			}
			return
		}
	}
	t.Fatalf("no MemberDown in %v", changes)
}

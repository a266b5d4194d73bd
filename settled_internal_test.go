package cloister

import (
	"testing"

	"github.com/cloister-go/cloister/internal/core"
)

// A node is settled once it is Ready and every other member of its view
// advertises that view, Ready (its own entry is not consulted).
func TestSettled(t *testing.T) {
	n := &Node{self: core.Member{ID: "a"}}
	view := View{ID: 7, Members: []Member{
		{ID: "a", ViewID: 1, State: Assembling},
		{ID: "b", ViewID: 7, State: Ready},
		{ID: "c", ViewID: 7, State: Ready},
	}}
	for _, tc := range []struct {
		name  string
		state State
		edit  func(ms []Member)
		want  bool
	}{
		{"all Ready on the view", Ready, func([]Member) {}, true},
		{"this node Rehashing", Rehashing, func([]Member) {}, false},
		{"a member Rehashing", Ready, func(ms []Member) { ms[2].State = Rehashing }, false},
		{"a member on another view", Ready, func(ms []Member) { ms[1].ViewID = 8 }, false},
	} {
		v := view
		v.Members = append([]Member(nil), view.Members...)
		tc.edit(v.Members)
		n.snap.Store(&Snapshot{State: tc.state, View: v})
		if got := n.settled(); got != tc.want {
			t.Errorf("%s: settled() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

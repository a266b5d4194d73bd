package main

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// One leader at a time; the leader's pause hands over to another node at
// a higher term; the old leader's late write is rejected by the members
// that saw the newer term; it rejoins without a restart.
func TestLeaderExample(t *testing.T) {
	var mu sync.Mutex
	apps := map[int]*App{}
	tc := cloistertest.New(t, 3, cloistertest.WithMemNet(11), cloistertest.WithConfig(func(i int, c *cloister.Config) {
		a := NewApp(slog.New(slog.DiscardHandler))
		a.Interval = 50 * 1e6 // 50 ms
		c.Services = append(c.Services, a.Services()...)
		mu.Lock()
		apps[i] = a
		mu.Unlock()
	}))
	app := func(i int) *App {
		mu.Lock()
		defer mu.Unlock()
		return apps[i]
	}
	leaderIndex := func(among []int) int {
		at := -1
		for _, i := range among {
			if app(i).Leader.IsLeader() && app(i).Leader.Running("ticker") {
				if at >= 0 {
					t.Fatalf("nodes %d and %d both run the ticker", at, i)
				}
				at = i
			}
		}
		return at
	}
	ticked := func(i int, by string) bool {
		for _, e := range app(i).Entries() {
			if strings.Contains(e, "by "+by) {
				return true
			}
		}
		return false
	}
	var first int
	tc.WaitFor("one node ticking into every ledger", func() bool {
		first = leaderIndex([]int{0, 1, 2})
		if first < 0 {
			return false
		}
		name := tc.Node(first).Self().Name
		return ticked(0, name) && ticked(1, name) && ticked(2, name)
	})
	tc.Pause(first)
	var others []int
	for i := range 3 {
		if i != first {
			others = append(others, i)
		}
	}
	tc.WaitFor("another node ticking", func() bool {
		at := leaderIndex(others)
		return at >= 0 && ticked(others[0], tc.Node(at).Self().Name) && ticked(others[1], tc.Node(at).Self().Name)
	})
	tc.Unpause(first)
	tc.WaitFor("the old leader's late write rejected", func() bool { return app(first).Rejected() > 0 })
	tc.WaitAllReady()
}

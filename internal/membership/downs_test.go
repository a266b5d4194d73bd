package membership

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// A batch names every member it was given, in order, and a row too long
// for one datagram is cut into batches that each fit.
func TestDownBatchesRoundTrip(t *testing.T) {
	ids := []string{"a@198.18.0.1:4747#1", "b@198.18.0.2:4747#2"}
	batches := encodeDowns(ids)
	if len(batches) != 1 {
		t.Fatalf("two IDs went into %d batches, want 1", len(batches))
	}
	if got, ok := decodeDowns(batches[0]); !ok || !slices.Equal(got, ids) {
		t.Fatalf("decoded %v (%v), want %v", got, ok, ids)
	}

	long := make([]string, 12)
	for i := range long {
		long[i] = fmt.Sprintf("%d%s", i, strings.Repeat("x", maxIDLen-3))
	}
	batches = encodeDowns(long)
	var got []string
	for _, b := range batches {
		if len(b) > maxDownsBytes {
			t.Fatalf("a batch of %d bytes, bound %d", len(b), maxDownsBytes)
		}
		ids, ok := decodeDowns(b)
		if !ok {
			t.Fatalf("batch %x does not decode", b[:8])
		}
		got = append(got, ids...)
	}
	if !slices.Equal(got, long) {
		t.Fatalf("%d long IDs came back as %d", len(long), len(got))
	}
}

// A batch reaches OnDown in one call with the live members it names
// (never a stranger, one gone, or this member); a malformed batch is
// counted and dropped whole.
func TestDownBatchesOnlyAboutLiveMembers(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	var got [][]string // the IDs of each call
	d.onDown = func(ms []Member) {
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		got = append(got, ids)
	}
	for i, id := range []string{"b", "c", "d"} {
		d.NotifyJoin(&memberlist.Node{Name: id, Addr: net.IPv4(127, 0, 0, 1), Port: uint16(7001 + i)})
	}
	d.NotifyLeave(&memberlist.Node{Name: "d", Addr: net.IPv4(127, 0, 0, 1), Port: 7003})
	d.NotifyMsg(encodeDowns([]string{"b", "a", "zz", "d", "c"})[0])
	for _, bad := range [][]byte{
		{downsKind},            // names nobody
		{downsKind, 1, 'b', 9}, // truncated after a good ID
		{downsKind, 0},         // an empty ID
		append([]byte{downsKind}, make([]byte, maxDownsBytes)...), // over the bound
	} {
		d.NotifyMsg(bad)
	}
	if len(got) != 1 || !slices.Equal(got[0], []string{"b", "c"}) {
		t.Fatalf("OnDown got %v, want one call with [b c]", got)
	}
	if n := d.badAdverts.Load(); n != 4 {
		t.Fatalf("%d bad batches counted, want 4", n)
	}
}

func FuzzDecodeDowns(f *testing.F) {
	f.Add(encodeDowns([]string{"app@127.0.0.1:7000#1", "app@127.0.0.1:7001#2"})[0])
	f.Add([]byte{downsKind, 1, 'a', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, ok := decodeDowns(b)
		if !ok {
			return
		}
		if len(ids) == 0 {
			t.Fatalf("accepted %x naming nobody", b)
		}
		for _, id := range ids {
			if id == "" || len(id) > maxIDLen {
				t.Fatalf("accepted %x with the ID %q", b, id)
			}
		}
	})
}

// SendDown sends a receiver that reads batches one batch, and a receiver
// from before batches a notice per member, which it reads as before: both
// are told of every member, and the older one never gets a batch it
// cannot read.
func TestDownBatchesOnlyToNodesThatReadThem(t *testing.T) {
	var told downsTold
	start := func(id string, before bool) (*Membership, netip.AddrPort) {
		return startMemberWith(t, id, silentProfile(), func(c *Config) {
			c.OnDown, c.beforeDowns = told.onDown(id), before
		})
	}
	a, _ := start("a", false)
	b, bAddr := start("b", false)
	old, oldAddr := start("old", true)
	_, cAddr := start("c", false)
	_, dAddr := start("d", false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all := []netip.AddrPort{bAddr, oldAddr, cAddr, dAddr}
	for _, m := range []*Membership{a, b, old} {
		if _, err := m.Join(ctx, all); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*Membership{a, b, old} {
		waitFor(t, "everybody alive", 10*time.Second, func() bool {
			return m.Alive("c") && m.Alive("d") && (m == b || m.Alive("b")) && (m == old || m.Alive("old"))
		})
	}
	waitKnowsOld(t, a, 4, "batches", func(p Member) bool { return p.downs })

	a.SendDown([]string{"c", "d"}, 0)
	has := func(id string) bool { return told.was(id, "c") && told.was(id, "d") }
	waitFor(t, "b and old told of c and d", 10*time.Second, func() bool { return has("b") && has("old") })
	if n := old.Stats().BadAdverts; n != 0 {
		t.Fatalf("the node from before batches counted %d unreadable messages", n)
	}
}

// waitKnowsOld waits until m holds n other members alive and knows, of
// the feature named what, that has says it of every one of them but the
// member "old".
func waitKnowsOld(t *testing.T, m *Membership, n int, what string, has func(Member) bool) {
	t.Helper()
	waitFor(t, "knowing who reads "+what, 10*time.Second, func() bool {
		peers := m.d.somePeers(0, nil)
		for _, p := range peers {
			if has(p) != (p.ID != "old") {
				return false
			}
		}
		return len(peers) == n
	})
}

// downsTold records, per receiving member, the members OnDown was told
// ended. Safe for concurrent use.
type downsTold struct {
	mu   sync.Mutex
	told map[string][]string
}

// onDown returns the OnDown of the member self.
func (r *downsTold) onDown(self string) func([]Member) {
	return func(ms []Member) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.told == nil {
			r.told = map[string][]string{}
		}
		for _, m := range ms {
			r.told[self] = append(r.told[self], m.ID)
		}
	}
}

// was reports whether self was told that id ended.
func (r *downsTold) was(self, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.told[self], id)
}

// any reports whether self was told of any ending.
func (r *downsTold) any(self string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.told[self]) > 0
}

// A down notice is handled as the transport reads it, not behind the
// side queue: it reaches OnDown while the queue's reader is stuck.
func TestDownNoticeIsTakenWhileTheSideQueueIsStuck(t *testing.T) {
	g := newStuckGossip()
	var told downsTold
	a, b, _, ctx := startAlivePair(t, silentProfile(), func(c *Config) { c.Services, c.OnDown = g, told.onDown("b") })
	defer g.unstick() // before the cleanups shut b down
	peers := a.d.peers()
	if len(peers) != 1 || !peers[0].side {
		t.Fatalf("a's peers %+v: want b, reading side datagrams", peers)
	}
	a.sendTo(peers[0], []byte{serviceKind, 1})
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("b never took the service message")
	}
	a.SendDown([]string{"a"}, 0) // a is the one member b holds alive
	waitFor(t, "b told of a's ending while its side queue is stuck", 10*time.Second, func() bool { return told.was("b", "a") })
	if n := b.Stats().BadAdverts; n != 0 {
		t.Fatalf("b counted %d unreadable messages", n)
	}
}

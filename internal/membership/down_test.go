package membership

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// A down notice reaches OnDown at once, only about a member memberlist
// holds alive (never about a stranger, one gone, or this member), and
// garbage is counted, not passed on.
func TestDownNoticesOnlyAboutLiveMembers(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	var got []Member
	d.onDown = func(m Member) { got = append(got, m) }
	b := &memberlist.Node{Name: "b", Addr: net.IPv4(127, 0, 0, 1), Port: 7001}
	c := &memberlist.Node{Name: "c", Addr: net.IPv4(127, 0, 0, 1), Port: 7002}

	d.NotifyMsg(encodeDown("b")) // not a member yet
	d.NotifyJoin(b)
	d.NotifyJoin(c)
	d.NotifyMsg(encodeDown("b"))
	d.NotifyMsg(encodeDown("a"))          // this member
	d.NotifyMsg(encodeDown("zz"))         // a stranger
	d.NotifyMsg([]byte{downKind, 9, 'c'}) // truncated
	d.NotifyLeave(c)
	d.NotifyMsg(encodeDown("c")) // gone

	want := []Member{{ID: "b", Addr: netip.MustParseAddrPort("127.0.0.1:7001")}}
	if !slices.EqualFunc(got, want, func(x, y Member) bool { return x.ID == y.ID && x.Addr == y.Addr }) {
		t.Fatalf("OnDown got %+v, want %+v", got, want)
	}
	if n := d.badAdverts.Load(); n != 1 {
		t.Fatalf("%d bad messages counted, want 1", n)
	}
	for _, e := range d.q.drain() {
		if e.Kind != Joined && e.Kind != Departed {
			t.Fatalf("a notice was queued as an event: %+v", e)
		}
	}
}

func FuzzDecodeDown(f *testing.F) {
	f.Add(encodeDown("app@127.0.0.1:7000#1"))
	f.Add([]byte{downKind, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := decodeDown(b)
		if !ok {
			return
		}
		if id == "" || len(id) > maxIDLen {
			t.Fatalf("accepted %x as %q", b, id)
		}
		// A length written in more bytes than it needs reads the same.
		if b[1] < 0x80 && !slices.Equal(encodeDown(id), b) {
			t.Fatalf("round trip changed %x into %x", b, encodeDown(id))
		}
	})
}

// A notice passed on goes to a few live members, never to the members it
// is about; the watcher's goes to every other live member.
func TestDownNoticeReceivers(t *testing.T) {
	d := newDelegate(newQueue(), "self")
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = string(rune('a' + i))
		d.NotifyJoin(&memberlist.Node{Name: ids[i], Addr: net.IPv4(127, 0, 0, 1), Port: uint16(7000 + i)})
	}
	about := []string{"a", "b", "c"}
	for range 50 { // map order varies: the ones left out must be left out every time
		some := d.somePeers(3, about)
		if len(some) != 3 {
			t.Fatalf("somePeers(3) gave %d members, want 3", len(some))
		}
		for _, m := range some {
			if slices.Contains(about, m.ID) || m.ID == "self" {
				t.Fatalf("a notice about %v passed on to %s", about, m.ID)
			}
		}
	}
	all := d.somePeers(0, about)
	got := make([]string, 0, len(all))
	for _, m := range all {
		got = append(got, m.ID)
	}
	slices.Sort(got)
	if want := ids[3:]; !slices.Equal(got, want) {
		t.Fatalf("every receiver: %v, want %v", got, want)
	}
	if n := len(d.somePeers(100, nil)); n != len(ids) {
		t.Fatalf("somePeers(100) of %d live members gave %d", len(ids), n)
	}
}

// A down notice gossiped by one member reaches every other member by
// gossip alone, when each member that hears it gossips it too (as a node
// does once its check finds the member ended): the repair for a direct
// copy lost on the way.
func TestDownNoticesSpreadByGossip(t *testing.T) {
	const size = 8
	p := Local()
	p.ProbeInterval, p.ProbeTimeout = time.Hour, time.Minute // gossip only
	p.PushPullInterval = time.Hour
	members := make([]*Membership, size)
	addrs := make([]netip.AddrPort, size)
	for i := range members {
		members[i], addrs[i] = startMember(t, fmt.Sprintf("m%d", i), p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, m := range members {
		if _, err := m.Join(ctx, slices.Concat(addrs[:i], addrs[i+1:])); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "everybody knows everybody", 10*time.Second, func() bool {
		for _, m := range members {
			if len(m.d.peers()) != size-1 {
				return false
			}
		}
		return true
	})
	const about = "m7"
	var mu sync.Mutex
	heard := map[string]bool{}
	for i, m := range members[:size-1] {
		id := fmt.Sprintf("m%d", i)
		m.d.mu.Lock()
		m.d.onDown = func(got Member) {
			if got.ID != about {
				return
			}
			mu.Lock()
			first := !heard[id]
			heard[id] = true
			mu.Unlock()
			if first {
				m.GossipDown([]string{got.ID}) // found ended: pass it on
			}
		}
		m.d.mu.Unlock()
	}
	members[0].GossipDown([]string{about}) // no direct copy at all
	waitFor(t, "every member heard the notice by gossip", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := 1; i < size-1; i++ {
			if !heard[fmt.Sprintf("m%d", i)] {
				return false
			}
		}
		return true
	})
}

// Queued down notices go out before service broadcasts and within the
// space memberlist offers; a newer notice about a member replaces the
// queued one, and the queue is bounded.
func TestGossipedDownNotices(t *testing.T) {
	d := newDelegate(newQueue(), "self")
	for i := range 5 {
		d.NotifyJoin(&memberlist.Node{Name: fmt.Sprintf("p%d", i), Addr: net.IPv4(127, 0, 0, 1), Port: uint16(7000 + i)})
	}
	d.broadcasts = &memberlist.TransmitLimitedQueue{RetransmitMult: 4, NumNodes: d.numAlive}
	d.broadcasts.QueueBroadcast(serviceBroadcast(append([]byte{serviceKind}, bytes.Repeat([]byte{1}, 100)...)))
	m := &Membership{d: d}
	m.GossipDown([]string{"p1", "p2"})
	m.GossipDown([]string{"p1"})
	if n := d.downs.NumQueued(); n != 2 {
		t.Fatalf("%d notices queued, want 2 (p1's replaced)", n)
	}
	got := d.GetBroadcasts(2, 1400)
	if len(got) != 3 {
		t.Fatalf("%d messages gossiped, want 2 notices and 1 broadcast", len(got))
	}
	for _, b := range got[:2] {
		if _, ok := decodeDown(b); !ok {
			t.Fatalf("a notice did not come first: %x", b[:1])
		}
	}
	if got[2][0] != serviceKind {
		t.Fatalf("the service broadcast came as kind %d", got[2][0])
	}
	small := d.GetBroadcasts(2, 40) // room for the notices only
	for _, b := range small {
		if b[0] == serviceKind {
			t.Fatalf("the service broadcast went past the space given")
		}
	}
	ids := make([]string, 2*maxQueuedDowns)
	for i := range ids {
		ids[i] = fmt.Sprintf("x%d", i)
	}
	m.GossipDown(ids)
	if n := d.downs.NumQueued(); n > maxQueuedDowns {
		t.Fatalf("%d notices queued, bound %d", n, maxQueuedDowns)
	}
}

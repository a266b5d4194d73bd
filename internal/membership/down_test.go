package membership

import (
	"context"
	"net"
	"net/netip"
	"slices"
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
	d.onDown = func(ms []Member) { got = append(got, ms...) }
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

// A member found ended gets nothing more: no advert, pull or notice, and
// it is nobody's relay; memberlist's departure of it ends the record, and
// a member memberlist does not hold alive is never recorded.
func TestEndedMembersAreSentNothing(t *testing.T) {
	a, _ := startMember(t, "a", silentProfile())
	_, bAddr := startMember(t, "b", silentProfile())
	_, cAddr := startMember(t, "c", silentProfile())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Join(ctx, []netip.AddrPort{bAddr, cAddr}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a holds b and c alive", 10*time.Second, func() bool { return a.Alive("b") && a.Alive("c") })

	a.Ended([]string{"c", "stranger"})
	if got := memberIDs(a.d.peers()); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("peers after c ended: %v, want [b]", got)
	}
	if relays, _ := pickRelays("x", a.d.peers()); slices.ContainsFunc(relays, func(p Member) bool { return p.ID == "c" }) {
		t.Fatalf("c, found ended, picked as a relay: %v", relays)
	}
	sent := a.tr.sideOut.Load()
	if err := a.SetMeta([]byte("a1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := a.Pull([]string{"b", "c"}); n != 1 {
		t.Fatalf("pulled %d members, want 1 (b)", n)
	}
	a.SendDown([]string{"b"}, 0) // to everybody but b: nobody is left
	if n := a.tr.sideOut.Load() - sent; n != 2 {
		t.Fatalf("%d side datagrams sent, want 2 (the advert and the pull to b)", n)
	}
	a.d.mu.Lock()
	recorded := len(a.d.ended)
	a.d.mu.Unlock()
	if recorded != 1 {
		t.Fatalf("%d members recorded ended, want 1 (a stranger is not recorded)", recorded)
	}

	a.d.NotifyLeave(&memberlist.Node{Name: "c", Addr: cAddr.Addr().AsSlice(), Port: cAddr.Port()})
	a.d.mu.Lock()
	recorded = len(a.d.ended)
	a.d.mu.Unlock()
	if recorded != 0 {
		t.Fatalf("c still recorded ended after its departure")
	}
}

func memberIDs(ms []Member) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return ids
}

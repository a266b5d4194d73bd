package membership

import (
	"net"
	"net/netip"
	"slices"
	"testing"

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

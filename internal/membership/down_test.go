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

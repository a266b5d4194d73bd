package membership

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cloister-go/cloister/transport"
)

// With gossip and probes too slow to carry anything during the test, a
// metadata update can only arrive by the direct copy.
func TestDirectAdvertArrivesWithoutGossip(t *testing.T) {
	a, b, _, ctx := startPair(t, silentProfile())
	waitMeta := func(m *Membership, id, want string) {
		t.Helper()
		for {
			for _, e := range m.Drain() {
				if e.Member.ID == id && string(e.Member.Meta) == want {
					return
				}
			}
			select {
			case <-m.Signal():
			case <-ctx.Done():
				t.Fatalf("%s never heard %s advertise %q", m.d.self, id, want)
			}
		}
	}
	waitMeta(a, "b", "b0") // the join's state exchange
	waitMeta(b, "a", "a0")
	if err := b.SetMeta([]byte("b1"), 0); err != nil {
		t.Fatal(err)
	}
	waitMeta(a, "b", "b1")
	if err := a.SetMetaAndWait([]byte("a1"), time.Millisecond); err == nil {
		t.Log("the gossiped copy went out too") // not expected with gossip silent, not required
	}
	waitMeta(b, "a", "a1")
}

func TestHeldAdvertsAreBounded(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	for i := range 10 * maxHeld {
		d.NotifyMsg(encodeAdvert(fmt.Sprintf("m%d", i), []byte("x")))
	}
	if len(d.held) != maxHeld {
		t.Fatalf("%d adverts held, limit %d", len(d.held), maxHeld)
	}
	if _, ok := d.held[fmt.Sprintf("m%d", 10*maxHeld-1)]; !ok {
		t.Fatal("the newest advert was dropped")
	}
	if len(d.q.drain()) != 0 {
		t.Fatal("adverts from strangers were queued as events")
	}
}

func TestDirectAdvertOnlyFromLiveMembers(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	b := &memberlist.Node{Name: "b", Addr: net.IPv4(127, 0, 0, 1), Port: 7001, Meta: []byte("b0")}

	d.NotifyMsg(encodeAdvert("b", []byte("b1"))) // not a member yet: held until it joins
	d.NotifyJoin(b)
	d.NotifyMsg(encodeAdvert("b", []byte("b2")))
	d.NotifyMsg([]byte{advertKind, 200}) // garbage
	d.NotifyLeave(b)
	d.NotifyMsg(encodeAdvert("b", []byte("b3"))) // gone
	d.NotifyMsg(encodeAdvert("a", []byte("a1"))) // self is not a peer

	var got []string
	for _, e := range d.q.drain() {
		got = append(got, e.Kind.String()+":"+string(e.Member.Meta))
		if e.Member.Addr != netip.MustParseAddrPort("127.0.0.1:7001") {
			t.Fatalf("event %+v lacks the member's address", e)
		}
	}
	want := []string{"joined:b0", "updated:b1", "updated:b2", "departed:b0"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if n := d.badAdverts.Load(); n != 1 {
		t.Fatalf("%d bad adverts counted, want 1", n)
	}
}

// An advert arrives twice, sent straight and gossiped: the copy that
// repeats the member's last metadata is not queued again, while an older
// one, and the newer one after it, are (the caller orders them), and so
// is everything after a rejoin.
func TestRepeatedAdvertsAreNotQueued(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	b := &memberlist.Node{Name: "b", Addr: net.IPv4(127, 0, 0, 1), Port: 7001, Meta: []byte("b0")}
	update := func(meta string) {
		n := *b
		n.Meta = []byte(meta)
		d.NotifyUpdate(&n)
	}

	d.NotifyJoin(b)
	update("b0")                                 // nothing new since the join
	d.NotifyMsg(encodeAdvert("b", []byte("b1"))) // straight
	update("b1")                                 // gossiped: a repeat
	d.NotifyMsg(encodeAdvert("b", []byte("b1"))) // a repeat
	update("b0")                                 // an older one: queued
	d.NotifyMsg(encodeAdvert("b", []byte("b1"))) // newer than that: queued
	d.NotifyLeave(b)
	d.NotifyJoin(b)
	update("b0") // a repeat of the rejoin's
	d.NotifyMsg(encodeAdvert("b", []byte("b1")))

	var got []string
	for _, e := range d.q.drain() {
		got = append(got, e.Kind.String()+":"+string(e.Member.Meta))
	}
	want := []string{"joined:b0", "updated:b1", "updated:b0", "updated:b1", "departed:b0", "joined:b0", "updated:b1"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if n := d.dupAdverts.Load(); n != 4 {
		t.Fatalf("%d repeats counted, want 4", n)
	}
}

func FuzzDecodeAdvert(f *testing.F) {
	f.Add(encodeAdvert("app@127.0.0.1:7000#1", []byte(`{"v":1}`)))
	f.Add([]byte{advertKind, 0})
	f.Add(encodeRelay("app@127.0.0.1:7001#2", []byte("x")))
	f.Add([]byte{advertKind, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, meta, err := decodeAdvert(b)
		if err != nil {
			if !errors.Is(err, errBadAdvert) {
				t.Fatalf("error %v does not wrap errBadAdvert", err)
			}
			return
		}
		if id == "" || len(id) > maxIDLen || len(meta) > MaxMetaSize {
			t.Fatalf("accepted id %q (%d bytes of metadata)", id, len(meta))
		}
		if again := encodeOwn(b[0], id, meta); !bytes.Equal(again, b) && len(b) > 0 && b[1] < 0x80 {
			t.Fatalf("round trip changed %x into %x", b, again)
		}
	})
}

// SetMeta gossips only after gossipAfter (the direct copy goes at once),
// SetMetaAndWait gossips at once, and nothing is gossiped after Leave: an
// alive message then would revive the member.
func TestDeferredGossipAndNoneAfterLeave(t *testing.T) {
	a, b, _, ctx := startPair(t, Local())
	// b sends direct copies to the members it knows: wait until it knows a.
	for known := false; !known; {
		for _, e := range b.Drain() {
			known = known || e.Kind == Joined && e.Member.ID == "a"
		}
		if known {
			break
		}
		select {
		case <-b.Signal():
		case <-ctx.Done():
			t.Fatal("b never heard of a")
		}
	}
	gossiped := func() string {
		// memberlist writes its local node's metadata only in UpdateNode,
		// which Membership calls under gossipMu.
		b.gossipMu.Lock()
		defer b.gossipMu.Unlock()
		return string(b.ml.LocalNode().Meta)
	}

	if err := b.SetMetaAndWait([]byte("b1"), time.Second); err != nil {
		t.Logf("b1 broadcast not confirmed: %v", err)
	}
	if got := gossiped(); got != "b1" {
		t.Fatalf("after SetMetaAndWait memberlist holds %q, want b1", got)
	}
	if err := b.SetMeta([]byte("b2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := gossiped(); got != "b1" {
		t.Fatalf("SetMeta with an hour's deferral gossiped %q at once", got)
	}
	for { // the direct copy still arrives at once
		var seen bool
		for _, e := range a.Drain() {
			seen = seen || e.Member.ID == "b" && string(e.Member.Meta) == "b2"
		}
		if seen {
			break
		}
		select {
		case <-a.Signal():
		case <-ctx.Done():
			t.Fatal("a never got b2")
		}
	}
	if err := b.SetMeta([]byte("b3"), 0); err != nil {
		t.Fatal(err)
	}
	for gossiped() != "b3" { // gossiped at once: poll, bounded by ctx
		select {
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("b3 never gossiped; memberlist holds %q", gossiped())
		}
	}
	if err := b.GossipMeta([]byte("b3g")); err != nil {
		t.Fatal(err)
	}
	if got := gossiped(); got != "b3g" {
		t.Fatalf("GossipMeta left memberlist holding %q", got)
	}
	if err := b.SetMeta([]byte("b4"), time.Hour); err != nil {
		t.Fatal(err)
	}
	b.Leave(time.Second)
	b.gossipMeta() // as the deferred broadcast would if it fired now
	b.GossipMeta([]byte("b5"))
	if got := gossiped(); got != "b3g" {
		t.Fatalf("metadata %q gossiped after Leave", got)
	}
}

// startMember starts a membership on its own loopback transport, with
// metadata id+"0", shut down at the end of the test.
// silentProfile gossips, probes and exchanges state too rarely to carry
// anything during a test: metadata arrives only by direct copies.
func silentProfile() Profile {
	p := Local()
	p.GossipInterval = time.Hour
	p.ProbeInterval, p.ProbeTimeout = time.Hour, time.Minute
	p.PushPullInterval = time.Hour
	return p
}

func startMember(t testing.TB, id string, p Profile) (*Membership, netip.AddrPort) {
	t.Helper()
	return startMemberWire(t, id, p, false)
}

// startMemberWire is startMember; with olderWire, the member behaves as
// one from before relays.
func startMemberWire(t testing.TB, id string, p Profile, olderWire bool) (*Membership, netip.AddrPort) {
	t.Helper()
	return startMemberWith(t, id, p, func(c *Config) { c.olderWire = olderWire })
}

// startMemberWith is startMember, its config changed by edit first.
func startMemberWith(t testing.TB, id string, p Profile, edit func(*Config)) (*Membership, netip.AddrPort) {
	t.Helper()
	tr, err := transport.Listen(transport.NetConfig{Bind: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	cfg := Config{ID: id, Advertise: tr.Addr(), Transport: tr, Key: bytes.Repeat([]byte{7}, 32),
		Label: "test", Profile: p, Meta: []byte(id + "0")}
	edit(&cfg)
	m, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m, tr.Addr()
}

// startPair starts members a and b and joins a to b; it returns b's
// address and a context that bounds the test's waits.
func startPair(t *testing.T, p Profile) (a, b *Membership, bAddr netip.AddrPort, ctx context.Context) {
	t.Helper()
	return startPairWith(t, p, func(*Config) {})
}

// startPairWith is startPair, b's config changed by editB first.
func startPairWith(tb testing.TB, p Profile, editB func(*Config)) (a, b *Membership, bAddr netip.AddrPort, ctx context.Context) {
	tb.Helper()
	a, _ = startMember(tb, "a", p)
	b, bAddr = startMemberWith(tb, "b", p, editB)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	if _, err := a.Join(ctx, []netip.AddrPort{bAddr}); err != nil {
		tb.Fatal(err)
	}
	return a, b, bAddr, ctx
}

// startAlivePair is startPairWith, returning once each member holds the
// other alive.
func startAlivePair(tb testing.TB, p Profile, editB func(*Config)) (a, b *Membership, bAddr netip.AddrPort, ctx context.Context) {
	tb.Helper()
	a, b, bAddr, ctx = startPairWith(tb, p, editB)
	waitFor(tb, "a and b alive to each other", 10*time.Second, func() bool { return a.Alive("b") && b.Alive("a") })
	return a, b, bAddr, ctx
}

// A member heard of by its advert before memberlist holds it alive is
// listed (HeardOf), with a signal the first time; joining takes it off.
// Each is listed with when its last advert came.
func TestHeardOfListsMembersAdvertisedBeforeAlive(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	m := &Membership{d: d}
	d.NotifyMsg(encodeAdvert("b", []byte("b1")))
	select {
	case <-m.HeardSignal():
	default:
		t.Fatal("no signal for the first advert of a member not known yet")
	}
	d.NotifyMsg(encodeAdvert("b", []byte("b2"))) // held again: no new signal
	select {
	case <-m.HeardSignal():
		t.Fatal("signalled again for a member already held")
	default:
	}
	d.NotifyMsg(encodeAdvert("c", []byte("c1")))
	got := heardIDs(t, m)
	slices.Sort(got)
	if !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("HeardOf = %v, want [b c]", got)
	}
	d.NotifyJoin(&memberlist.Node{Name: "b", Addr: net.IPv4(127, 0, 0, 1), Port: 7001, Meta: []byte("b0")})
	if got := heardIDs(t, m); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("HeardOf after b joined = %v, want [c]", got)
	}
	d.NotifyMsg(encodeAdvert("b", []byte("b3"))) // a live member's advert is not held
	if got := heardIDs(t, m); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("HeardOf after a live member's advert = %v, want [c]", got)
	}
	// b leaves; its last advert comes after: held, but not news of a
	// member to fetch (it may still be stopping).
	select {
	case <-m.HeardSignal(): // c's
	default:
		t.Fatal("no signal for c's first advert")
	}
	d.NotifyLeave(&memberlist.Node{Name: "b", Addr: net.IPv4(127, 0, 0, 1), Port: 7001})
	d.NotifyMsg(encodeAdvert("b", []byte("b4")))
	if got := heardIDs(t, m); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("HeardOf after b departed and advertised = %v, want [c]", got)
	}
	select {
	case <-m.HeardSignal():
		t.Fatal("signalled for a departed member's advert")
	default:
	}
	if _, held := d.held["b"]; !held {
		t.Fatal("the departed member's advert was not held (it is queued if the member comes back)")
	}
}

// heardIDs is the IDs HeardOf lists, checking that each came with the
// time of its advert.
func heardIDs(t *testing.T, m *Membership) []string {
	t.Helper()
	var ids []string
	for _, h := range m.HeardOf() {
		if h.At.IsZero() || time.Since(h.At) > time.Minute {
			t.Fatalf("heard of %s at %v, not when its advert came", h.ID, h.At)
		}
		ids = append(ids, h.ID)
	}
	return ids
}

package membership

import (
	"bytes"
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// pingProfile is silentProfile with pings that time out in 200 ms.
func pingProfile() Profile {
	p := silentProfile()
	p.ProbeTimeout = 200 * time.Millisecond
	return p
}

// A member that answers side pings is pinged with them: one datagram
// each way, answered by the incarnation named and nobody else, and no
// memberlist ping goes out.
func TestSidePingIsAnsweredByThatIncarnation(t *testing.T) {
	a, b, bAddr, ctx := startAlivePair(t, pingProfile(), func(*Config) {})
	mlBefore := a.tr.packetsOut.Load() - a.tr.sideOut.Load()
	aSide, bSide := a.tr.sideOut.Load(), b.tr.sideOut.Load()

	if !a.Ping(ctx, Member{ID: "b", Addr: bAddr}, 1) {
		t.Fatal("b did not answer a side ping")
	}
	// b counts its answer, and the ack as a side datagram sent once its
	// write returned, which may be after a read it.
	waitFor(t, "b counts its answer", 10*time.Second, func() bool {
		return b.Stats().PingsAnswered > 0 && b.tr.sideOut.Load() != bSide
	})
	if as, bs := a.Stats(), b.Stats(); as.PingsSent != 1 || as.PingsAcked != 1 || bs.PingsAnswered != 1 || as.AcksUnmatched+bs.AcksUnmatched != 0 {
		t.Fatalf("a sent %d side pings and had %d acked, b answered %d, %d acks unmatched; want 1, 1, 1, 0",
			as.PingsSent, as.PingsAcked, bs.PingsAnswered, as.AcksUnmatched+bs.AcksUnmatched)
	}
	if n := a.tr.packetsOut.Load() - a.tr.sideOut.Load() - mlBefore; n != 0 {
		t.Fatalf("a sent %d memberlist datagrams for a side ping", n)
	}
	// The ping and the ack count as side traffic, as every side datagram.
	if a.tr.sideOut.Load() == aSide || b.tr.sideOut.Load() == bSide {
		t.Fatalf("side datagrams sent: a %d, b %d; want the ping and the ack counted",
			a.tr.sideOut.Load()-aSide, b.tr.sideOut.Load()-bSide)
	}

	// Another incarnation at b's address (a process restarted there) is
	// not b: b does not answer for it. (Its Member says it answers side
	// pings: memberlist holds no record of it.)
	start := time.Now()
	if a.Ping(ctx, Member{ID: "b-restarted", Addr: bAddr, wire: wireOf(pingWire)}, 2) {
		t.Fatal("b answered a ping for another incarnation")
	}
	if took := time.Since(start); took < 2*pingProfile().ProbeTimeout {
		t.Fatalf("two unanswered pings ended after %v, before two probe timeouts", took)
	}
	if n := b.pings.answered.Load(); n != 1 {
		t.Fatalf("b answered %d pings, want only the one for itself", n)
	}
	if n := a.pings.pending(); n != 0 {
		t.Fatalf("%d pings still wait for an ack after they ended", n)
	}
}

// A ping is answered while the member's handlers are stuck: memberlist's
// and the side datagrams' readers both wait on a service message, and the
// ack still comes at once, as memberlist's own ping is answered from its
// packet reader.
func TestSidePingIsAnsweredWhileTheHandlersAreStuck(t *testing.T) {
	g := newStuckGossip()
	a, _, bAddr, ctx := startAlivePair(t, pingProfile(), func(c *Config) { c.Services = g })
	defer g.unstick() // before the cleanups shut b down
	a.sendTo(Member{ID: "b", Addr: bAddr, wire: wireOf(pingWire)}, []byte{serviceKind, 1})
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("b never took the service message")
	}
	if !a.Ping(ctx, Member{ID: "b", Addr: bAddr}, 1) {
		t.Fatal("b did not answer a side ping while its handlers were stuck")
	}
	if n := a.pings.acked.Load(); n != 1 {
		t.Fatalf("%d side pings acked, want 1", n)
	}
}

// A member from before side pings gets memberlist's, and answers them; it
// never sees a side ping.
func TestMembersBeforeSidePingsGetMemberlistPings(t *testing.T) {
	a, b, bAddr, ctx := startAlivePair(t, pingProfile(), func(c *Config) { c.beforePings = true })
	if b.pings != nil {
		t.Fatal("a member from before side pings has a pinger")
	}
	waitFor(t, "a knows b reads side datagrams but not pings", 10*time.Second, func() bool {
		peers := a.d.somePeers(0, nil)
		return len(peers) == 1 && peers[0].side && !peers[0].pings
	})
	if !a.Ping(ctx, Member{ID: "b", Addr: bAddr}, 1) {
		t.Fatal("the member from before side pings did not answer memberlist's ping")
	}
	if n := a.pings.sent.Load(); n != 0 {
		t.Fatalf("a sent %d side pings to a member from before them", n)
	}
	if s := b.Stats(); s.BadAdverts != 0 {
		t.Fatalf("the member from before side pings read %d unreadable messages", s.BadAdverts)
	}

	// A target whose Member says it answers side pings gets them without
	// memberlist's record of it (a member held dead is pinged so): a,
	// never in its own member list, answers its own.
	if !a.Ping(ctx, Member{ID: "a", Addr: a.tr.advertise, wire: wireOf(pingWire)}, 1) {
		t.Fatal("a did not answer its own side ping")
	}
	if n := a.pings.sent.Load(); n != 1 {
		t.Fatalf("a sent %d side pings to a member whose event says it answers them, want 1", n)
	}
}

// Acks nobody waits for (late, forged in clear, replayed) and unreadable
// pings and acks are dropped without an answer, a wait woken or a panic.
func TestStrayPingsAndAcksCostNothing(t *testing.T) {
	p := newPinger("self")
	pw := &pingWaiter{done: make(chan struct{}), seqs: []uint64{42}}
	p.waiting[42] = pw
	w := pw.done
	for _, msg := range [][]byte{
		encodeAck(41),
		append(encodeAck(42), 0),      // trailing byte
		{ackKind},                     // no sequence number
		{ackKind, 0x80},               // sequence number cut short
		{pingKind},                    // nothing after the kind
		{pingKind, 1},                 // no ID
		append(encodePing(1, "x"), 0), // trailing byte
		encodePing(1, "someone else"), // not for this member
	} {
		if reply, took := p.take(msg); !took || reply != nil {
			t.Errorf("%x: taken %v, answered %x; want taken, no answer", msg, took, reply)
		}
	}
	select {
	case <-w:
		t.Fatal("a stray ack woke a waiting ping")
	default:
	}
	if n := p.unmatched.Load(); n != 4 {
		t.Fatalf("%d acks counted as unmatched, want 4", n)
	}
	if _, took := p.take([]byte{advertKind}); took {
		t.Fatal("an advert was taken as a ping")
	}
	if _, took := p.take(nil); took {
		t.Fatal("an empty message was taken as a ping")
	}
	if reply, _ := p.take(encodePing(7, "self")); !bytes.Equal(reply, encodeAck(7)) {
		t.Fatalf("a ping for this member answered %x, want its ack", reply)
	}
	if _, took := p.take(encodeAck(42)); !took {
		t.Fatal("the ack was not taken")
	}
	select {
	case <-w:
	default:
		t.Fatal("the ack did not wake its ping")
	}
	if p.take(encodeAck(42)); p.unmatched.Load() != 5 {
		t.Fatal("a replayed ack was not counted as unmatched")
	}
}

// A starved member answers late: its ack to the first ping of a
// confirmation, arriving while the second waits, or while the pause
// between them runs, still counts. Acks after the confirmation ended do
// not, and cost nothing; those to a confirmation that ended unanswered
// are counted as too late (the member was alive).
func TestLateAckStillCounts(t *testing.T) {
	const timeout = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name         string
		pause, grace time.Duration
		tries        int
		after        int // the ack of the first ping is taken after this many pings were sent
	}{
		{"during the second ping", 0, 0, 3, 2},
		{"during the pause", 4 * timeout, 0, 3, 1},
		{"during the grace after the last ping", 0, 4 * timeout, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPinger("self")
			pinged := make(chan uint64, 3)
			send := func(msg []byte, _ netip.AddrPort) error {
				seq, _, _ := decodePing(msg)
				pinged <- seq
				return nil
			}
			go func() {
				first := <-pinged
				for range tc.after - 1 {
					<-pinged
				}
				if late := tc.pause + tc.grace; late > 0 {
					time.Sleep(timeout + late/4) // the first ping's own wait is over: the pause or the grace runs
				}
				p.take(encodeAck(first))
			}()
			if !p.ping(ctx, "b", netip.MustParseAddrPort("127.0.0.1:1"), tc.tries, timeout, tc.grace, func() time.Duration { return tc.pause }, send) {
				t.Fatal("the first ping's late ack did not count")
			}
			if n := p.unmatched.Load(); n != 0 {
				t.Fatalf("%d acks unmatched, want 0", n)
			}
			if n := p.pending(); n != 0 {
				t.Fatalf("%d pings still wait after the confirmation ended", n)
			}
		})
	}
	t.Run("after the confirmation", func(t *testing.T) {
		p := newPinger("self")
		var seqs []uint64
		send := recordPings(&seqs)
		if p.ping(ctx, "b", netip.MustParseAddrPort("127.0.0.1:1"), 2, time.Millisecond, 0, func() time.Duration { return 0 }, send) {
			t.Fatal("an unanswered confirmation succeeded")
		}
		for _, seq := range seqs {
			if reply, took := p.take(encodeAck(seq)); !took || reply != nil {
				t.Fatalf("a late ack: taken %v, answered %x", took, reply)
			}
		}
		if late, unmatched := p.tooLate.Load(), p.unmatched.Load(); late != 2 || unmatched != 0 {
			t.Fatalf("acks after an unanswered confirmation: %d too late, %d unmatched; want 2, 0", late, unmatched)
		}
		p.take(encodeAck(seqs[0])) // replayed
		if late, unmatched := p.tooLate.Load(), p.unmatched.Load(); late != 2 || unmatched != 1 {
			t.Fatalf("a replayed late ack: %d too late, %d unmatched; want 2, 1", late, unmatched)
		}

		// A confirmation answered by its first ping's ack: the second
		// ping's ack is unmatched, not too late.
		seqs = nil
		answer := func(msg []byte, to netip.AddrPort) error {
			send(msg, to)
			if len(seqs) == 2 {
				p.take(encodeAck(seqs[0]))
			}
			return nil
		}
		if !p.ping(ctx, "b", netip.MustParseAddrPort("127.0.0.1:1"), 3, time.Millisecond, 0, func() time.Duration { return 0 }, answer) {
			t.Fatal("the first ping's ack did not count")
		}
		p.take(encodeAck(seqs[1]))
		if late, unmatched := p.tooLate.Load(), p.unmatched.Load(); late != 2 || unmatched != 2 {
			t.Fatalf("a second ack to an answered confirmation: %d too late, %d unmatched; want 2, 2", late, unmatched)
		}
	})
}

func TestPingCodec(t *testing.T) {
	for _, seq := range []uint64{0, 1, 1 << 40, ^uint64(0)} {
		s, id, ok := decodePing(encodePing(seq, "bench@198.18.0.1:7946#1"))
		if !ok || s != seq || id != "bench@198.18.0.1:7946#1" {
			t.Errorf("ping %d read back as %d %q %v", seq, s, id, ok)
		}
		if s, ok := decodeAck(encodeAck(seq)); !ok || s != seq {
			t.Errorf("ack %d read back as %d %v", seq, s, ok)
		}
	}
}

// An ack that comes after its confirmation ended unanswered is counted
// too late, and timed from the confirmation's base deadline; so is an ack
// taken in the time a starved node made up (TestWaitSleptThroughIsMadeUp).
func TestLateAcksAreTimed(t *testing.T) {
	const timeout, late = 50 * time.Millisecond, 400 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := newPinger("self")
	var seqs []uint64
	send := recordPings(&seqs)
	if p.ping(ctx, "b", netip.MustParseAddrPort("127.0.0.1:1"), 2, timeout, timeout, func() time.Duration { return 0 }, send) {
		t.Fatal("an unanswered confirmation succeeded")
	}
	time.Sleep(late) // the member answers this late
	p.take(encodeAck(seqs[0]))
	if n := p.tooLate.Load(); n != 1 {
		t.Fatalf("%d acks too late, want 1", n)
	}
	h := p.lateness()
	if lateTotal(h) != 1 || h.Sum < late || h.Sum > 10*late {
		t.Fatalf("lateness %+v: want one ack about %v late", h, late)
	}
	p.take(encodeAck(seqs[1]))
	if h := p.lateness(); lateTotal(h) != 2 || p.tooLate.Load() != 2 {
		t.Fatalf("lateness %+v, %d too late: want the second ack counted too", h, p.tooLate.Load())
	}
}

// A wait the node slept through is made up for: when the pinger's clock
// shows its timer fired long after it was due (the process starved), it
// waits as long again, up to the wait itself, and an ack in that time
// counts; on a clock that kept time the same ack comes too late.
func TestWaitSleptThroughIsMadeUp(t *testing.T) {
	const timeout = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, starved := range []bool{true, false} {
		p := newPinger("self")
		var skew atomic.Int64
		p.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		pinged := make(chan uint64, 1)
		send := func(msg []byte, _ netip.AddrPort) error {
			seq, _, _ := decodePing(msg)
			pinged <- seq
			return nil
		}
		acked := make(chan struct{})
		go func() {
			defer close(acked)
			seq := <-pinged
			if starved {
				time.Sleep(timeout / 10)
				skew.Store(int64(5 * time.Second)) // the node was not scheduled for seconds
			}
			time.Sleep(timeout * 14 / 10)
			p.take(encodeAck(seq))
		}()
		got := p.ping(ctx, "b", netip.MustParseAddrPort("127.0.0.1:1"), 1, timeout, 0, func() time.Duration { return 0 }, send)
		<-acked
		if got != starved {
			t.Fatalf("starved %v: the ack %.1f timeouts after the ping counted %v, want %v", starved, 1.4, got, starved)
		}
		if h := p.lateness(); lateTotal(h) != 1 {
			t.Fatalf("starved %v: lateness %+v, want the ack counted late", starved, h)
		}
	}
}

// recordPings is a send that records the sequence numbers of the pings
// it is handed, and sends nothing.
func recordPings(seqs *[]uint64) func([]byte, netip.AddrPort) error {
	return func(msg []byte, _ netip.AddrPort) error {
		seq, _, _ := decodePing(msg)
		*seqs = append(*seqs, seq)
		return nil
	}
}

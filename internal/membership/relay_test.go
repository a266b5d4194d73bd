package membership

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatchesRoundTrip(t *testing.T) {
	in := map[string][]byte{}
	for i := range 100 {
		in[fmt.Sprintf("app@10.0.%d.%d:7946#%016x", i/250, i%250, rand.Uint64())] = []byte(fmt.Sprintf("meta-%d-%s", i, "0123456789abcdef"))
	}
	in["empty-meta"] = nil
	batches := encodeBatches(in)
	if len(batches) < 2 {
		t.Fatalf("100 adverts in %d batch(es): expected several", len(batches))
	}
	out := map[string][]byte{}
	for _, b := range batches {
		if len(b) > maxBatchBytes {
			t.Fatalf("batch of %d bytes, limit %d", len(b), maxBatchBytes)
		}
		if err := decodeBatch(b, func(id string, meta []byte) { out[id] = meta }); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != len(in) {
		t.Fatalf("%d adverts decoded of %d", len(out), len(in))
	}
	for id, meta := range in {
		if string(out[id]) != string(meta) {
			t.Fatalf("%s: %q, want %q", id, out[id], meta)
		}
	}
	for _, bad := range [][]byte{nil, {advertKind}, {batchKind, 0}, {batchKind, 3, 'a'}, {batchKind, 1, 'a', 5, 'x'}} {
		if err := decodeBatch(bad, func(string, []byte) {}); err == nil {
			t.Fatalf("%v decoded", bad)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatches(map[string][]byte{"a": []byte("x"), "b": nil})[0])
	f.Add([]byte{batchKind, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = decodeBatch(b, func(id string, meta []byte) {
			if id == "" || len(id) > maxIDLen || len(meta) > MaxMetaSize {
				t.Fatalf("entry %q with %d bytes of metadata passed", id, len(meta))
			}
		})
	})
}

// Every member of a group picks the same relays, whatever order it knows
// the members in; the relays of 1,000 members are about relayCopies per
// group, and no member carries much more than its share.
func TestRelaysAreSharedByGroup(t *testing.T) {
	const n = 1000
	all := make([]Member, n)
	for i := range all {
		all[i] = Member{ID: fmt.Sprintf("app@10.1.%d.%d:7946#%016x", i/250, i%250, rand.Uint64())}
	}
	others := func(i int) []Member {
		o := slices.Concat(all[:i], all[i+1:])
		rand.Shuffle(len(o), func(a, b int) { o[a], o[b] = o[b], o[a] })
		return o
	}
	load := map[string]int{}       // senders per relay
	bySet := map[string][]int{}    // senders per relay set
	groups := max(1, n/relayGroup) // as pickRelays computes it
	for i := range all {
		relays, viaSelf := pickRelays(all[i].ID, others(i))
		ids := []string{}
		for _, r := range relays {
			ids = append(ids, r.ID)
		}
		if viaSelf {
			ids = append(ids, all[i].ID)
		}
		if len(ids) != relayCopies {
			t.Fatalf("%d relays, want %d", len(ids), relayCopies)
		}
		again, _ := pickRelays(all[i].ID, others(i))
		if len(again) != len(relays) || (len(relays) > 0 && !slices.ContainsFunc(again, func(m Member) bool { return m.ID == relays[0].ID })) {
			t.Fatal("relays depend on the order the members are known in")
		}
		slices.Sort(ids)
		for _, id := range ids {
			load[id]++
		}
		key := fmt.Sprint(ids)
		bySet[key] = append(bySet[key], i)
	}
	if len(bySet) > groups {
		t.Fatalf("%d relay sets for %d groups", len(bySet), groups)
	}
	busiest := 0
	for _, l := range load {
		busiest = max(busiest, l)
	}
	t.Logf("%d members: %d relay sets, %d relays, the busiest relays for %d members", n, len(bySet), len(load), busiest)
	if busiest > 6*relayGroup {
		t.Fatalf("a relay serves %d members (groups of about %d)", busiest, relayGroup)
	}
}

// With relays on and gossip silent, every member's new metadata reaches
// every other member through the relays: each member sends its advert
// to relayCopies members, not to all, and the relays pass several adverts
// on per datagram.
func TestAdvertsGoThroughRelays(t *testing.T) {
	const size = 7
	members, ctx := startRelaying(t, size, 30*time.Millisecond)
	for _, m := range members { // the joins' events; none of the new adverts may be among them
		m.Drain()
	}
	advertiseAndHearAll(t, ctx, members)
	var relayed, batches, relays uint64
	for { // the second relay's batch may still be on its way
		relayed, batches, relays = 0, 0, 0
		for _, m := range members {
			s := m.Stats()
			relayed += s.AdvertsRelayed
			batches += s.RelayBatches
			if s.AdvertsRelayed > 0 {
				relays++
			}
		}
		if relayed >= size*relayCopies {
			break
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("%d adverts relayed, want %d (each to %d relays)", relayed, size*relayCopies, relayCopies)
		}
	}
	for _, m := range members {
		m.gossipMu.Lock()
		direct := len(m.direct.rest)
		m.gossipMu.Unlock()
		if direct != 0 {
			t.Fatalf("%d direct copies pending: adverts went straight", direct)
		}
	}
	t.Logf("%d adverts relayed by %d relays in %d datagrams", relayed, relays, batches)
	if relayed != size*relayCopies {
		t.Fatalf("%d adverts relayed, want %d (each to %d relays)", relayed, size*relayCopies, relayCopies)
	}
	// Sent one by one, every relayed advert would be size-1 datagrams.
	if batches >= relayed*(size-1) {
		t.Fatalf("%d batches for %d adverts to %d members: nothing batched", batches, relayed, size-1)
	}
}

// A relay passes on only the adverts of members it holds alive, and a
// batch is taken entry by entry like direct adverts: from this member,
// ignored; from a member not known yet, held; unreadable, counted.
func TestBatchesAndRelayRequests(t *testing.T) {
	d := newDelegate(newQueue(), "a")
	var passed []string
	d.relay = newRelayer(func(to Member, _ []byte) { passed = append(passed, to.ID) }, d.peers, time.Hour)
	d.record(Joined, Member{ID: "b", Meta: []byte("b0")})
	d.q.drain()

	d.NotifyMsg(encodeRelay("c", []byte("c1"))) // not a member yet
	d.NotifyMsg(encodeRelay("b", []byte("b1")))
	d.NotifyMsg(encodeRelay("a", []byte("a9"))) // this member's own name
	d.q.drain()
	d.relay.mu.Lock()
	pending := slices.Sorted(func(yield func(string) bool) {
		for id := range d.relay.pending {
			if !yield(id) {
				return
			}
		}
	})
	d.relay.mu.Unlock()
	if !slices.Equal(pending, []string{"b"}) {
		t.Fatalf("pending relays %v, want [b]", pending)
	}
	if _, ok := d.held["c"]; !ok {
		t.Fatal("an advert of a member not known yet was not held")
	}

	d.record(Joined, Member{ID: "c", Meta: []byte("c0")}) // c's held request is passed on now
	d.relay.mu.Lock()
	_, cPending := d.relay.pending["c"]
	d.relay.mu.Unlock()
	if !cPending {
		t.Fatal("a relay request held until its member joined was not passed on")
	}
	d.q.drain()

	d.NotifyMsg(encodeBatches(map[string][]byte{"b": []byte("b2"), "a": []byte("a9"), "e": []byte("e1")})[0])
	var got []string
	for _, e := range d.q.drain() {
		got = append(got, e.Member.ID+":"+string(e.Member.Meta))
	}
	if !slices.Equal(got, []string{"b:b2"}) {
		t.Fatalf("events %v, want [b:b2]", got)
	}
	if _, ok := d.held["e"]; !ok {
		t.Fatal("a batched advert of a member not known yet was not held")
	}
	before := d.badAdverts.Load()
	d.NotifyMsg([]byte{batchKind, 1, 'b', 9})
	if d.badAdverts.Load() != before+1 {
		t.Fatal("an unreadable batch was not counted")
	}
	d.relay.stop()
	d.relay.add("b", []byte("b3"))
	if len(d.relay.pending) != 0 || len(passed) != 0 {
		t.Fatal("a stopped relay took an advert")
	}
}

// WaitAlive returns as soon as the member is held alive again, false at
// its deadline or when ctx ends, and leaves no waiter behind.
func TestWaitAlive(t *testing.T) {
	m := &Membership{d: newDelegate(newQueue(), "a")}
	ctx := context.Background()
	if m.WaitAlive(ctx, "b", time.Millisecond) {
		t.Fatal("an unknown member is alive")
	}
	done := make(chan bool)
	go func() { done <- m.WaitAlive(ctx, "b", time.Minute) }()
	for { // the waiter is registered before b joins
		m.d.mu.Lock()
		n := len(m.d.revived["b"])
		m.d.mu.Unlock()
		if n == 1 {
			break
		}
		select {
		case <-time.After(time.Millisecond):
		case <-done:
			t.Fatal("WaitAlive returned before b joined")
		}
	}
	m.d.record(Joined, Member{ID: "b"})
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("b joined but WaitAlive said no")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitAlive did not return when b joined")
	}
	if !m.WaitAlive(ctx, "b", 0) {
		t.Fatal("a live member is not alive")
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- m.WaitAlive(cctx, "c", time.Minute) }()
	cancel()
	if <-done {
		t.Fatal("WaitAlive said yes when its context ended")
	}
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	if len(m.d.revived) != 0 {
		t.Fatalf("waiters left behind: %v", m.d.revived)
	}
}

// In a view with relays, an advert is not gossiped: it goes through the
// relays again, maxRepairs times, and a newer advert stops the repairs of
// the older one.
func TestRelayedAdvertsAreRepairedNotGossiped(t *testing.T) {
	const size = 3
	members, ctx := startRelaying(t, size, 5*time.Millisecond)
	relayed := func() (n uint64) {
		for _, m := range members {
			n += m.Stats().AdvertsRelayed
		}
		return n
	}
	a := members[0]
	if err := a.SetMeta([]byte("m0-1"), 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := uint64(relayCopies * (1 + maxRepairs))
	for relayed() < want {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("%d adverts relayed, want %d: the repairs did not go", relayed(), want)
		}
	}
	if got := string(a.ml.LocalNode().Meta); got != "m00" {
		t.Fatalf("memberlist gossiped %q: a relayed advert was gossiped", got)
	}
	a.gossipMu.Lock()
	pending := a.gossipTimer != nil
	a.gossipMu.Unlock()
	if pending {
		t.Fatal("a repair is still scheduled after the last one")
	}
}

// Until the cluster has settled (Config.Settled), a relayed advert keeps
// being repaired past maxRepairs, each repair twice as late as the one
// before; once it has, the repairs stop.
func TestRelayedAdvertsRepairedUntilSettled(t *testing.T) {
	members, ctx := startRelaying(t, 3, 5*time.Millisecond)
	var settled atomic.Bool
	a := members[0]
	a.gossipMu.Lock()
	a.settled = settled.Load
	a.gossipMu.Unlock()
	relayed := func() (n uint64) {
		for _, m := range members {
			n += m.Stats().AdvertsRelayed
		}
		return n
	}
	if err := a.SetMeta([]byte("m0-1"), 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := uint64(relayCopies * (1 + maxRepairs + 2)) // two repairs past maxRepairs
	for relayed() < want {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("%d adverts relayed, want %d: the repairs stopped before the cluster settled", relayed(), want)
		}
	}
	settled.Store(true)
	for {
		a.gossipMu.Lock()
		pending := a.gossipTimer != nil
		a.gossipMu.Unlock()
		if !pending {
			break
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the repairs went on after the cluster settled")
		}
	}
}

// advertiseAndHearAll has every member advertise new metadata (gossip
// deferred for an hour) and waits until every member heard every other's.
func advertiseAndHearAll(t *testing.T, ctx context.Context, members []*Membership) {
	t.Helper()
	for i, m := range members {
		if err := m.SetMeta([]byte(fmt.Sprintf("m%d-new", i)), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	heard := make([]map[string]bool, len(members))
	for i := range heard {
		heard[i] = map[string]bool{}
	}
	for {
		missing := 0
		for i, m := range members {
			for _, e := range m.Drain() {
				if string(e.Member.Meta) == e.Member.ID+"-new" {
					heard[i][e.Member.ID] = true
				}
			}
			missing += len(members) - 1 - len(heard[i])
		}
		if missing == 0 {
			return
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("%d adverts never arrived: %v", missing, heard)
		}
	}
}

// startRelaying starts size members with silent gossip and relays on
// whatever the view's size (each relay waiting pace), every one joined to
// every other, and returns them with a context that bounds the test's
// waits.
func startRelaying(t *testing.T, size int, pace time.Duration) ([]*Membership, context.Context) {
	t.Helper()
	return startRelayingWith(t, size, 0, pace)
}

// startRelayingWith is startRelaying, the last older of the members
// behaving as nodes from before relays.
func startRelayingWith(t *testing.T, size, older int, pace time.Duration) ([]*Membership, context.Context) {
	t.Helper()
	return startRelayingEdited(t, size, pace, func(i int, c *Config) { c.olderWire = i >= size-older })
}

// startRelayingEdited is startRelaying, the config of member i changed by
// edit(i) first.
func startRelayingEdited(t *testing.T, size int, pace time.Duration, edit func(int, *Config)) ([]*Membership, context.Context) {
	t.Helper()
	members := make([]*Membership, size)
	addrs := make([]netip.AddrPort, size)
	for i := range members {
		var isOlder bool
		m, addr := startMemberWith(t, fmt.Sprintf("m%d", i), silentProfile(), func(c *Config) {
			edit(i, c)
			isOlder = c.olderWire
		})
		if !isOlder { // an older node sends its adverts straight, as before relays
			m.gossipMu.Lock()
			m.relayFrom = 1
			m.gossipMu.Unlock()
		}
		m.relay.mu.Lock()
		m.relay.pace = pace
		m.relay.mu.Unlock()
		members[i], addrs[i] = m, addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	for i, m := range members { // everybody knows everybody: gossip is silent
		if _, err := m.Join(ctx, slices.Concat(addrs[:i], addrs[i+1:])); err != nil {
			t.Fatal(err)
		}
	}
	return members, ctx
}

// A node from before relays reads neither relay requests nor batches: it
// is never picked as a relay, gets no batch, and gets every advert
// straight, so a cluster above RelayFrom with such nodes still agrees.
func TestOlderNodesGetAdvertsStraight(t *testing.T) {
	const size, older = 6, 2
	members, ctx := startRelayingWith(t, size, older, 10*time.Millisecond)
	for _, m := range members {
		m.Drain()
	}
	advertiseAndHearAll(t, ctx, members)
	for _, m := range members[size-older:] {
		if s := m.Stats(); s.BadAdverts != 0 || s.AdvertsRelayed != 0 {
			t.Fatalf("%s, from before relays, got %d messages it cannot read and relayed %d adverts", m.d.self, s.BadAdverts, s.AdvertsRelayed)
		}
	}
}

// In a cluster where some members are from before side datagrams, every
// advert still reaches everybody, through relays of both kinds: those
// members get memberlist user messages only (and refuse none), the others
// side datagrams.
func TestNodesBeforeSideDatagramsHearEveryAdvert(t *testing.T) {
	const size, before = 6, 2
	members, ctx := startRelayingEdited(t, size, 10*time.Millisecond, func(i int, c *Config) { c.beforeSide = i >= size-before })
	for _, m := range members {
		m.Drain()
	}
	advertiseAndHearAll(t, ctx, members)
	var relayed, sideIn uint64
	for i, m := range members {
		s := m.Stats()
		relayed += s.AdvertsRelayed
		if i >= size-before {
			if s.BadAdverts != 0 || s.PacketsAuthFailed != 0 || s.PacketsMalformed != 0 || m.tr.sideIn.Load() != 0 || m.tr.sideOut.Load() != 0 {
				t.Fatalf("%s, from before side datagrams: %d side datagrams in, %d out, stats %+v", m.d.self, m.tr.sideIn.Load(), m.tr.sideOut.Load(), s)
			}
			continue
		}
		// Not each of them: a member whose relays are both from before
		// side datagrams hears every advert as a user message.
		sideIn += m.tr.sideIn.Load()
	}
	if sideIn == 0 {
		t.Fatal("the members that read side datagrams read none")
	}
	if relayed == 0 {
		t.Fatal("no advert went through a relay")
	}
}

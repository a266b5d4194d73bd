package cloister

import (
	"net/netip"
	"testing"
	"time"
)

func TestReconnectBackoffAndTimeout(t *testing.T) {
	var r reconnectSet
	a := netip.MustParseAddrPort("198.18.0.1:4747")
	t0 := time.Unix(1000, 0)
	none := func(netip.AddrPort) bool { return false }
	r.failed(a, t0)
	if got := r.due(t0, time.Minute, none, 8); len(got) != 0 {
		t.Fatalf("due at once: %v", got)
	}
	at := t0.Add(reconnectFirst)
	if got := r.due(at, time.Minute, none, 8); len(got) != 1 {
		t.Fatalf("not due after %v: %v", reconnectFirst, got)
	}
	if got := r.due(at.Add(time.Hour), time.Hour+time.Minute, none, 8); len(got) != 0 {
		t.Fatal("an address being tried was handed out twice")
	}
	// Backoff doubles up to reconnectMax (±20%).
	now := at
	for range 10 {
		r.tried(a, now)
		e := r.addrs[a]
		if e.backoff > reconnectMax || e.next.Sub(now) > reconnectMax*12/10 {
			t.Fatalf("backoff %v, next in %v: over the cap", e.backoff, e.next.Sub(now))
		}
		now = e.next
		if got := r.due(now, time.Hour, none, 8); len(got) != 1 {
			t.Fatalf("not due at its next try")
		}
	}
	if r.addrs[a].backoff != reconnectMax {
		t.Fatalf("backoff %v, want the cap %v", r.addrs[a].backoff, reconnectMax)
	}
	// A member again, or past the timeout: dropped.
	r.tried(a, now)
	if got := r.due(now.Add(time.Hour), time.Minute, none, 8); len(got) != 0 || len(r.addrs) != 0 {
		t.Fatalf("kept past the timeout: %v", r.addrs)
	}
	r.failed(a, now)
	if got := r.due(now.Add(time.Second), time.Minute, func(netip.AddrPort) bool { return true }, 8); len(got) != 0 || len(r.addrs) != 0 {
		t.Fatal("a member again is still retried")
	}
}

func TestReconnectSetIsBounded(t *testing.T) {
	var r reconnectSet
	t0 := time.Unix(1000, 0)
	for i := range maxReconnects + 10 {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 4747)
		r.failed(a, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if len(r.addrs) != maxReconnects {
		t.Fatalf("%d addresses kept, want %d", len(r.addrs), maxReconnects)
	}
	if _, ok := r.addrs[netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, 0}), 4747)]; ok {
		t.Fatal("the oldest failure was kept")
	}
	limited := r.due(t0.Add(time.Minute), time.Hour, func(netip.AddrPort) bool { return false }, 8)
	if len(limited) != 8 {
		t.Fatalf("%d due at once, want the limit 8", len(limited))
	}
}

func TestAddrBackoff(t *testing.T) {
	var b addrBackoff
	a := netip.MustParseAddrPort("198.18.0.9:4747")
	t0 := time.Unix(1000, 0)
	if b.skip(a, t0) {
		t.Fatal("an address never refused is skipped")
	}
	b.refused(a, t0)
	if !b.skip(a, t0.Add(backoffFirst/2)) || b.skip(a, t0.Add(backoffFirst)) {
		t.Fatal("the first pause is not backoffFirst")
	}
	now := t0
	for range 20 {
		b.refused(a, now)
	}
	if got := b.addrs[a].backoff; got != backoffMax {
		t.Fatalf("backoff %v, want the cap %v", got, backoffMax)
	}
	for i := range maxBackoffAddrs + 5 {
		b.refused(netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), 1), now)
	}
	if len(b.addrs) > maxBackoffAddrs {
		t.Fatalf("%d addresses remembered, over %d", len(b.addrs), maxBackoffAddrs)
	}
}

// A node that is not one of an address's fan-out members puts its try off
// by reconnectSlow once, then tries (the safety net), then puts it off
// again.
func TestReconnectDeferOnceIsASafetyNet(t *testing.T) {
	var r reconnectSet
	a := netip.MustParseAddrPort("198.18.0.1:4747")
	t0 := time.Unix(1000, 0)
	none := func(netip.AddrPort) bool { return false }
	r.failed(a, t0)
	now := t0.Add(reconnectFirst)
	if got := r.due(now, time.Hour, none, 8); len(got) != 1 {
		t.Fatalf("not due: %v", got)
	}
	if !r.deferOnce(a, now, reconnectSlow) {
		t.Fatal("the first due try was not put off")
	}
	if got := r.due(now.Add(reconnectSlow/2), time.Hour, none, 8); len(got) != 0 {
		t.Fatalf("due before the slow pace: %v", got)
	}
	now = now.Add(reconnectSlow * 12 / 10)
	if got := r.due(now, time.Hour, none, 8); len(got) != 1 {
		t.Fatalf("not due at the slow pace: %v", got)
	}
	if r.deferOnce(a, now, reconnectSlow) {
		t.Fatal("put off twice in a row: the safety net never tries")
	}
	r.tried(a, now)
	now = r.addrs[a].next
	if got := r.due(now, time.Hour, none, 8); len(got) != 1 || !r.deferOnce(a, now, reconnectSlow) {
		t.Fatal("after a try, the next due one is not put off again")
	}
}

// The loop sleeps while no address is waiting and is woken by a failure
// and by the end of a try; nextAt says when to look next.
func TestReconnectSetWakesTheLoopOnlyWithWork(t *testing.T) {
	var r reconnectSet
	wake := r.wakeup()
	woken := func() bool {
		select {
		case <-wake:
			return true
		default:
			return false
		}
	}
	if _, ok := r.nextAt(); ok || woken() {
		t.Fatal("an empty set has work")
	}
	a := netip.MustParseAddrPort("198.18.0.1:4747")
	t0 := time.Unix(1000, 0)
	none := func(netip.AddrPort) bool { return false }
	r.failed(a, t0)
	if !woken() {
		t.Fatal("a failure did not wake the loop")
	}
	if next, ok := r.nextAt(); !ok || !next.Equal(t0.Add(reconnectFirst)) {
		t.Fatalf("next look at %v, %v; want the first retry %v", next, ok, t0.Add(reconnectFirst))
	}
	if got := r.due(t0.Add(reconnectFirst), time.Minute, none, 8); len(got) != 1 {
		t.Fatalf("not due: %v", got)
	}
	if _, ok := r.nextAt(); ok {
		t.Fatal("an address being tried counts as waiting: the loop would spin on it")
	}
	r.tried(a, t0.Add(time.Second))
	if !woken() {
		t.Fatal("the end of a try did not wake the loop")
	}
	if _, ok := r.nextAt(); !ok {
		t.Fatal("the next try is not scheduled")
	}
	r.forget(a)
	if _, ok := r.nextAt(); ok {
		t.Fatal("a forgotten address still wakes the loop")
	}
}

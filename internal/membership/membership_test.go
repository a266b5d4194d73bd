package membership

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestProfiles(t *testing.T) {
	for _, name := range []string{"lan", "steady", "local", "wan"} {
		p, ok := ProfileByName(name)
		if !ok || p.Name != name {
			t.Fatalf("ProfileByName(%q) = %v, %v", name, p.Name, ok)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if p := Steady(); p.PaceInterval() != 20*time.Millisecond || p.GossipInterval != 200*time.Millisecond {
		t.Fatalf("steady paces at %v and gossips every %v, want LAN's pace and memberlist's gossip", p.PaceInterval(), p.GossipInterval)
	}
	if p := LAN(); p.Pace != 0 || p.PaceInterval() != p.GossipInterval {
		t.Fatalf("LAN's pace %v is not its gossip interval %v", p.PaceInterval(), p.GossipInterval)
	}
	negative := Steady()
	negative.Pace = -time.Millisecond
	if negative.Validate() == nil {
		t.Fatal("negative pace accepted")
	}
	if _, ok := ProfileByName("fast"); ok {
		t.Fatal("unknown profile accepted")
	}
	bad := LAN()
	bad.ProbeTimeout = bad.ProbeInterval
	if bad.Validate() == nil {
		t.Fatal("probe timeout equal to the interval accepted")
	}
	// LAN at N=10: 200ms + 150ms + 3 × 1 × 200ms.
	if got := LAN().DetectionBudget(10); got != 950*time.Millisecond {
		t.Fatalf("LAN budget at 10 = %v, want 950ms", got)
	}
	// At N=100 the suspicion part doubles (log10 100 = 2).
	if got := LAN().DetectionBudget(100); got != 1550*time.Millisecond {
		t.Fatalf("LAN budget at 100 = %v, want 1.55s", got)
	}
}

func TestLogLevels(t *testing.T) {
	var buf bytes.Buffer
	w := &logWriter{logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, line := range []string{
		"[DEBUG] memberlist: probing",
		"[WARN] memberlist: Was able to connect to x over TCP but UDP probes failed",
		"[ERR] memberlist: Failed fallback TCP ping: EOF",
		"[ERR] memberlist: real trouble",
	} {
		w.Write([]byte(line + "\n"))
	}
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="memberlist: probing"`,
		`level=WARN msg="memberlist: Was able`,
		`level=DEBUG msg="memberlist: Failed fallback TCP ping: EOF"`,
		`level=ERROR msg="memberlist: real trouble"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q:\n%s", want, out)
		}
	}
}

// Two memberships on real transports: join, metadata update, departure,
// all arriving as ordered events.
func TestEvents(t *testing.T) {
	a, b, bAddr, ctx := startPair(t, Local())
	next := func(want EventKind, id string) Event {
		t.Helper()
		for {
			for _, e := range a.Drain() {
				if e.Kind == want && e.Member.ID == id {
					return e
				}
			}
			select {
			case <-a.Signal():
			case <-ctx.Done():
				t.Fatalf("no %v event for %s", want, id)
			}
		}
	}
	if e := next(Joined, "b"); string(e.Member.Meta) != "b0" || e.Member.Addr != bAddr {
		t.Fatalf("join event %+v", e)
	}
	if live := a.LiveAddrs(); len(live) != 1 || !live[bAddr] {
		t.Fatalf("a holds %v alive, want only b at %v", live, bAddr)
	}
	if err := b.SetMeta([]byte("b1"), 0); err != nil {
		t.Fatal(err)
	}
	if e := next(Updated, "b"); string(e.Member.Meta) != "b1" {
		t.Fatalf("update event meta %q", e.Member.Meta)
	}
	if err := b.SetMeta(make([]byte, MaxMetaSize+1), 0); err == nil {
		t.Fatal("oversized metadata accepted")
	}
	b.Leave(time.Second)
	b.Shutdown()
	next(Departed, "b")
	if live := a.LiveAddrs(); len(live) != 0 {
		t.Fatalf("a holds %v alive after b left", live)
	}
	if _, err := a.Join(ctx, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1")}); err == nil {
		t.Fatal("join to a closed port succeeded")
	}
}

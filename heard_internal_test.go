package cloister

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/cloister-go/cloister/internal/membership"
)

func TestAddrOfID(t *testing.T) {
	tests := []struct {
		id   string
		want string // "" when none
	}{
		{"bench@127.0.0.1:36043#18ee9e8fe1ff8594", "127.0.0.1:36043"},
		{"shop@[2001:db8::1]:4747#00000000000000ff", "[2001:db8::1]:4747"},
		{"a@b@198.18.0.1:4747#0000000000000001", "198.18.0.1:4747"}, // the last @ counts
		{"shop@[::ffff:198.18.0.1]:4747#0000000000000001", "198.18.0.1:4747"},
		{"shop@198.18.0.1:4747", ""},            // no incarnation
		{"shop@host:4747#0000000000000001", ""}, // not an address
		{"shop#0000000000000001", ""},
		{"", ""},
	}
	for _, tt := range tests {
		a, ok := addrOfID(tt.id)
		if got := ""; ok {
			got = a.String()
			if got != tt.want {
				t.Errorf("addrOfID(%q) = %s, want %q", tt.id, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("addrOfID(%q) found nothing, want %s", tt.id, tt.want)
		}
	}
}

// Only discovered addresses are joined, once each, and not those of
// members found ended, nor those another secret answered, nor those that
// refused a dial after the member's last advert came (it ended since);
// one that refused before the advert is joined (its process started
// since).
func TestHeardAmong(t *testing.T) {
	a := netip.MustParseAddrPort("198.18.0.1:4747")
	b := netip.MustParseAddrPort("198.18.0.2:4747")
	c := netip.MustParseAddrPort("198.18.0.3:4747")
	d := netip.MustParseAddrPort("198.18.0.4:4747")
	e := netip.MustParseAddrPort("198.18.0.5:4747")
	absent := []netip.AddrPort{a, b, c, d, e}
	t0 := time.Unix(1000, 0)
	heard := []membership.Heard{
		{ID: "app@198.18.0.1:4747#0000000000000002", At: t0},
		{ID: "app@198.18.0.1:4747#0000000000000001", At: t0}, // an older incarnation at the same address
		{ID: "app@198.18.0.2:4747#0000000000000001", At: t0}, // found ended
		{ID: "app@198.18.9.9:4747#0000000000000001", At: t0}, // not discovered: never dialled
		{ID: "app@198.18.0.3:4747#0000000000000001", At: t0}, // refused before its advert: started since
		{ID: "app@198.18.0.4:4747#0000000000000001", At: t0}, // refused after its advert: ended since
		{ID: "app@198.18.0.5:4747#0000000000000001", At: t0}, // answered with another secret
		{ID: "garbage", At: t0},
	}
	ended := func(id string) bool { return id == "app@198.18.0.2:4747#0000000000000001" }
	refusedAt := func(x netip.AddrPort) (time.Time, bool) {
		switch x {
		case c:
			return t0.Add(-time.Second), true
		case d:
			return t0.Add(time.Second), true
		case e:
			return time.Time{}, false
		}
		return time.Time{}, true
	}
	if got, want := heardAmong(absent, heard, ended, refusedAt), []netip.AddrPort{a, c}; !slices.Equal(got, want) {
		t.Fatalf("heardAmong = %v, want %v", got, want)
	}
}

// Members heard of are joined at once only by a node that is not Ready,
// below the view size from which adverts go through relays, and either
// misses a few of the discovered addresses (a tenth of those it knows, or
// one) or holds fewer than Consensus members alive.
func TestJoinsHeard(t *testing.T) {
	tests := []struct {
		absent, known, live, consensus int
		state                          State
		want                           bool
	}{
		{1, 50, 49, 50, Assembling, true},
		{5, 50, 50, 50, Rehashing, true},
		{6, 50, 50, 50, Assembling, false}, // more than a tenth missing, Consensus held: gossip is still bringing them
		{40, 10, 10, 50, Assembling, true}, // below Consensus: a heard member brings it
		{7, 3, 3, 10, Assembling, true},    // the first node of a 10-process start
		{7, 5, 5, 3, Assembling, false},    // Consensus 3 held, most missing
		{1, 5, 5, 3, Assembling, true},     // one is always a few
		{2, 5, 5, 3, NoQuorum, false},
		{0, 50, 50, 100, Assembling, false},
		{1, 50, 50, 50, Ready, false},         // a newcomer to a Ready cluster: everybody would join it
		{1, 127, 127, 200, Assembling, true},  // below relays
		{1, 128, 128, 200, Assembling, false}, // relays: a state exchange is large
	}
	for _, tt := range tests {
		if got := joinsHeard(tt.absent, tt.known, tt.live, tt.consensus, tt.state); got != tt.want {
			t.Errorf("joinsHeard(absent %d, known %d, live %d, consensus %d, %v) = %v, want %v", tt.absent, tt.known, tt.live, tt.consensus, tt.state, got, tt.want)
		}
	}
}

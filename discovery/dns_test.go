package discovery_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cloister-go/cloister/discovery"
)

// aps parses "ip:port" strings.
func aps(t *testing.T, ss ...string) []netip.AddrPort {
	t.Helper()
	var out []netip.AddrPort
	for _, s := range ss {
		out = append(out, netip.MustParseAddrPort(s))
	}
	return out
}

func discover(t *testing.T, p discovery.Provider) ([]netip.AddrPort, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Discover(ctx)
}

func newDNS(t *testing.T, name string, port uint16, opts ...discovery.DNSOption) *discovery.DNS {
	t.Helper()
	d, err := discovery.NewDNS(name, port, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wantAddrs checks a successful discovery.
func wantAddrs(t *testing.T, got []netip.AddrPort, err error, want ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if w := aps(t, want...); !slices.Equal(got, w) {
		t.Fatalf("Discover = %v, want %v", got, w)
	}
}

// wantErr checks a failed discovery: no addresses, an *Error wrapping
// want and not the other sentinels.
func wantErr(t *testing.T, got []netip.AddrPort, err, want error) {
	t.Helper()
	if err == nil || got != nil {
		t.Fatalf("Discover = %v, %v; want no addresses and %v", got, err, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("Discover error %q does not wrap %v", err, want)
	}
	for _, other := range []error{discovery.ErrNoAddresses, discovery.ErrLookup, discovery.ErrMalformed, discovery.ErrInvalidSpec} {
		if other != want && errors.Is(err, other) {
			t.Fatalf("Discover error %q wraps %v too", err, other)
		}
	}
	var e *discovery.Error
	if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "discovery: ") {
		t.Fatalf("Discover error %q (%T) is not a *discovery.Error", err, err)
	}
}

func TestDNSAAndAAAA(t *testing.T) {
	_, addr := serveZone(t,
		"app.test. 1 IN A 127.0.0.3",
		"app.test. 1 IN A 127.0.0.2",
		"app.test. 1 IN A 127.0.0.3", // a duplicate
		"app.test. 1 IN AAAA ::1",
		"other.test. 1 IN A 127.0.0.9",
	)
	got, err := discover(t, newDNS(t, "app.test.", 7946, discovery.WithServers(addr)))
	wantAddrs(t, got, err, "127.0.0.2:7946", "127.0.0.3:7946", "[::1]:7946")
}

func TestDNSFollowsCNAME(t *testing.T) {
	z, addr := serveZone(t, "app.test. 1 IN A 127.0.0.9")
	z.set(func(z *zone) {
		z.answers["alias.test. A"] = []dns.RR{
			mustRR(t, "alias.test. 1 IN CNAME app.test."),
			mustRR(t, "app.test. 1 IN A 127.0.0.2"),
			mustRR(t, "stranger.test. 1 IN A 127.0.0.66"), // outside the chain: ignored
		}
	})
	got, err := discover(t, newDNS(t, "alias.test.", 1, discovery.WithServers(addr)))
	wantAddrs(t, got, err, "127.0.0.2:1")
}

// The server knows only app.test.local.; "app" is found through the
// search list, and the bare name is not asked once the suffix answered.
func TestDNSSearchList(t *testing.T) {
	z, addr := serveZone(t, "app.test.local. 1 IN A 127.0.0.2")
	got, err := discover(t, newDNS(t, "app", 7946, discovery.WithServers(addr), discovery.WithSearch("other.local", "test.local")))
	wantAddrs(t, got, err, "127.0.0.2:7946")
	var names []string
	for _, q := range z.queries() {
		if n := q[strings.LastIndexByte(q, ' ')+1:]; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if want := []string{"app.other.local.", "app.test.local."}; !slices.Equal(names, want) {
		t.Fatalf("names queried %v, want %v", names, want)
	}
}

// ndots decides whether the name as is comes before or after the suffixes.
func TestDNSNdots(t *testing.T) {
	for _, tc := range []struct {
		ndots int
		want  []string
	}{
		{1, []string{"app.svc."}},
		{2, []string{"app.svc.test.local.", "app.svc."}},
	} {
		z, addr := serveZone(t, "app.svc. 1 IN A 127.0.0.2")
		d := newDNS(t, "app.svc", 1, discovery.WithServers(addr), discovery.WithSearch("test.local"), discovery.WithNdots(tc.ndots))
		got, err := discover(t, d)
		wantAddrs(t, got, err, "127.0.0.2:1")
		var names []string
		for _, q := range z.queries() {
			if strings.HasPrefix(q, "udp A ") {
				names = append(names, strings.TrimPrefix(q, "udp A "))
			}
		}
		if !slices.Equal(names, tc.want) {
			t.Fatalf("ndots %d: A queries for %v, want %v", tc.ndots, names, tc.want)
		}
	}
}

// A trailing dot makes a name absolute: the search list is not used.
func TestDNSAbsoluteNameSkipsSearch(t *testing.T) {
	z, addr := serveZone(t, "app.test.local. 1 IN A 127.0.0.2")
	got, err := discover(t, newDNS(t, "app.", 1, discovery.WithServers(addr), discovery.WithSearch("test.local")))
	wantErr(t, got, err, discovery.ErrLookup)
	for _, q := range z.queries() {
		if !strings.HasSuffix(q, " app.") {
			t.Fatalf("query %q for an absolute name", q)
		}
	}
}

func TestDNSEmptyAnswer(t *testing.T) {
	_, addr := serveZone(t, "app.test. 1 IN TXT \"exists, no address\"")
	got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(addr)))
	wantErr(t, got, err, discovery.ErrNoAddresses)
}

func TestDNSRcodes(t *testing.T) {
	for _, rcode := range []int{dns.RcodeNameError, dns.RcodeServerFailure, dns.RcodeRefused} {
		t.Run(dns.RcodeToString[rcode], func(t *testing.T) {
			z, addr := serveZone(t, "app.test. 1 IN A 127.0.0.2")
			z.set(func(z *zone) { z.rcodes["app.test. *"] = rcode })
			got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(addr)))
			wantErr(t, got, err, discovery.ErrLookup)
			if !strings.Contains(err.Error(), dns.RcodeToString[rcode]) {
				t.Fatalf("error %q does not name %s", err, dns.RcodeToString[rcode])
			}
		})
	}
}

// A fine, AAAA failed: the A addresses with no error.
func TestDNSPartialAnswer(t *testing.T) {
	z, addr := serveZone(t, "app.test. 1 IN A 127.0.0.2")
	z.set(func(z *zone) { z.rcodes["app.test. AAAA"] = dns.RcodeServerFailure })
	got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(addr)))
	wantAddrs(t, got, err, "127.0.0.2:1")
}

// The UDP reply is truncated and empty; the full answer comes over TCP.
func TestDNSTruncatedRetriesOverTCP(t *testing.T) {
	z, addr := serveZone(t, "app.test. 1 IN A 127.0.0.2", "app.test. 1 IN AAAA ::1")
	z.set(func(z *zone) { z.truncate = true })
	got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(addr)))
	wantAddrs(t, got, err, "127.0.0.2:1", "[::1]:1")
	q := z.queries()
	slices.Sort(q)
	if want := []string{"tcp A app.test.", "tcp AAAA app.test.", "udp A app.test.", "udp AAAA app.test."}; !slices.Equal(q, want) {
		t.Fatalf("queries %v, want %v", q, want)
	}
}

// Servers are tried in order until one answers.
func TestDNSServerFallback(t *testing.T) {
	refusing, refusingAddr := serveZone(t)
	refusing.set(func(z *zone) { z.rcodes["app.test. *"] = dns.RcodeRefused })
	silent := rawUDP(t, func([]byte) []byte { return nil })
	good, goodAddr := serveZone(t, "app.test. 1 IN A 127.0.0.2")

	d := newDNS(t, "app.test.", 1, discovery.WithTimeout(200*time.Millisecond),
		discovery.WithServers(closedPort(t), refusingAddr, silent, goodAddr))
	got, err := discover(t, d)
	wantAddrs(t, got, err, "127.0.0.2:1")
	if len(refusing.queries()) != 2 || len(good.queries()) != 2 {
		t.Fatalf("queries: refusing server %v, good server %v", refusing.queries(), good.queries())
	}
}

// NXDOMAIN is an answer: the next server is not asked.
func TestDNSNXDomainIsFinal(t *testing.T) {
	_, first := serveZone(t)
	second, secondAddr := serveZone(t, "app.test. 1 IN A 127.0.0.2")
	got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(first, secondAddr)))
	wantErr(t, got, err, discovery.ErrLookup)
	if q := second.queries(); len(q) != 0 {
		t.Fatalf("second server asked %v after NXDOMAIN", q)
	}
}

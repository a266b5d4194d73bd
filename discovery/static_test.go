package discovery_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/cloister-go/cloister/discovery"
)

func newStatic(t *testing.T, addrs []string, port uint16, opts ...discovery.DNSOption) *discovery.Static {
	t.Helper()
	s, err := discovery.NewStatic(addrs, port, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// IP entries need no DNS: this resolv.conf does not exist and is never read.
func TestStaticIPs(t *testing.T) {
	s := newStatic(t, []string{" 10.0.0.2 ", "10.0.0.1:7000", "[fd00::1]:7001", "fd00::2", "[fd00::3]", "::ffff:10.0.0.9", "10.0.0.1:7000"},
		7946, discovery.WithResolvConf("/nonexistent/resolv.conf"))
	got, err := s.Discover(context.Background())
	wantAddrs(t, got, err, "10.0.0.1:7000", "10.0.0.2:7946", "10.0.0.9:7946", "[fd00::1]:7001", "[fd00::2]:7946", "[fd00::3]:7946")
	got[0] = got[1] // the caller's copy
	again, _ := s.Discover(context.Background())
	wantAddrs(t, again, nil, "10.0.0.1:7000", "10.0.0.2:7946", "10.0.0.9:7946", "[fd00::1]:7001", "[fd00::2]:7946", "[fd00::3]:7946")
}

func TestStaticHostNames(t *testing.T) {
	_, addr := serveZone(t,
		"app.test. 1 IN A 127.0.0.2",
		"app.test. 1 IN AAAA ::1",
		"db.test.local. 1 IN A 127.0.0.3",
	)
	s := newStatic(t, []string{"app.test.:7000", "db", "10.0.0.1"}, 7946,
		discovery.WithServers(addr), discovery.WithSearch("test.local"))
	got, err := discover(t, s)
	wantAddrs(t, got, err, "10.0.0.1:7946", "127.0.0.2:7000", "127.0.0.3:7946", "[::1]:7000")
}

// A failing host name is skipped while the rest answers; alone, it fails.
func TestStaticHostNameFailures(t *testing.T) {
	z, addr := serveZone(t, "app.test. 1 IN A 127.0.0.2")
	z.set(func(z *zone) { z.rcodes["broken.test. *"] = dns.RcodeServerFailure })
	got, err := discover(t, newStatic(t, []string{"app.test.", "gone.test.", "10.0.0.1"}, 1, discovery.WithServers(addr)))
	wantAddrs(t, got, err, "10.0.0.1:1", "127.0.0.2:1")

	got, err = discover(t, newStatic(t, []string{"gone.test.", "broken.test."}, 1, discovery.WithServers(addr)))
	wantErr(t, got, err, discovery.ErrLookup)
	var e *discovery.Error
	if !errors.As(err, &e) || e.Provider != "static" || e.Name != "broken.test." {
		t.Fatalf("error %#v should name the SERVFAIL entry, the most severe failure", err)
	}
}

func TestStaticBadEntries(t *testing.T) {
	for _, tc := range []struct {
		entry string
		port  uint16
	}{
		{"", 1},
		{"  ", 1},
		{"10.0.0.1", 0},
		{"app", 0},
		{"10.0.0.1:0", 1},
		{"10.0.0.1:65536", 1},
		{"10.0.0.1:x", 1},
		{"10.0.0.1:", 1},
		{"10.0.0.256", 1},
		{"1.2.3", 1},
		{"[10.0.0.1]:7000", 1},
		{"[app]:7000", 1},
		{"[::1", 1},
		{"::1]", 1},
		{"fd00::1:7000:", 1},
		{"0.0.0.0", 1},
		{"[::]:7000", 1},
		{"224.0.0.1", 1},
		{"255.255.255.255", 1},
		{"app host", 1},
		{"app..test", 1},
		{"-", 1},
		{"app-.test", 1},
		{"app.test:7000:1", 1},
		{strings.Repeat("a", 64) + ".test", 1},
		{"http://app", 1},
	} {
		_, err := discovery.NewStatic([]string{"10.0.0.9:1", tc.entry}, tc.port)
		var e *discovery.Error
		if !errors.Is(err, discovery.ErrInvalidSpec) || !errors.As(err, &e) {
			t.Errorf("NewStatic(%q, %d) = %v, want an *Error wrapping ErrInvalidSpec", tc.entry, tc.port, err)
			continue
		}
		if e.Name != strings.TrimSpace(tc.entry) || !strings.Contains(err.Error(), "discovery: static") {
			t.Errorf("NewStatic(%q): error %q does not name the entry", tc.entry, err)
		}
	}
	if _, err := discovery.NewStatic(nil, 1); !errors.Is(err, discovery.ErrInvalidSpec) {
		t.Errorf("NewStatic(nil) = %v, want ErrInvalidSpec", err)
	}
}

func TestStaticString(t *testing.T) {
	s := newStatic(t, []string{"10.0.0.1", " app:7000"}, 7946)
	if got, want := s.String(), "static 10.0.0.1,app:7000"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

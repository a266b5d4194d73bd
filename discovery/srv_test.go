package discovery_test

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/cloister-go/cloister/discovery"
)

var srvZone = []string{
	"_cloister._tcp.app.test. 1 IN SRV 10 50 7001 node1.app.test.",
	"_cloister._tcp.app.test. 1 IN SRV 20 50 7002 node2.app.test.",
	"_cloister._tcp.app.test. 1 IN SRV 20 50 7003 node2.app.test.", // same target, another port
	"node1.app.test. 1 IN A 127.0.0.2",
	"node1.app.test. 1 IN AAAA ::1",
	"node2.app.test. 1 IN A 127.0.0.3",
}

func newSRV(t *testing.T, name string, opts ...discovery.DNSOption) *discovery.SRV {
	t.Helper()
	s, err := discovery.NewSRV(name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// targetQueries counts the address queries for the SRV targets.
func targetQueries(z *zone) int {
	n := 0
	for _, q := range z.queries() {
		if strings.Contains(q, "node") {
			n++
		}
	}
	return n
}

func TestSRV(t *testing.T) {
	want := []string{"127.0.0.2:7001", "127.0.0.3:7002", "127.0.0.3:7003", "[::1]:7001"}
	for _, glue := range []bool{false, true} {
		z, addr := serveZone(t, srvZone...)
		z.set(func(z *zone) { z.glue = glue })
		got, err := discover(t, newSRV(t, "_cloister._tcp.app.test.", discovery.WithServers(addr)))
		wantAddrs(t, got, err, want...)
		n := targetQueries(z)
		if glue && n != 0 {
			t.Fatalf("with additional records, targets were still queried: %v", z.queries())
		}
		if !glue && n != 4 { // A and AAAA for each distinct target
			t.Fatalf("without additional records, %d target queries, want 4: %v", n, z.queries())
		}
	}
}

func TestSRVSearchList(t *testing.T) {
	_, addr := serveZone(t, srvZone...)
	got, err := discover(t, newSRV(t, "_cloister._tcp.app", discovery.WithServers(addr), discovery.WithSearch("test")))
	wantAddrs(t, got, err, "127.0.0.2:7001", "127.0.0.3:7002", "127.0.0.3:7003", "[::1]:7001")
}

// A target that does not resolve is skipped when another one does.
func TestSRVPartialTargets(t *testing.T) {
	z, addr := serveZone(t, srvZone...)
	z.set(func(z *zone) { z.rcodes["node2.app.test. *"] = dns.RcodeServerFailure })
	got, err := discover(t, newSRV(t, "_cloister._tcp.app.test.", discovery.WithServers(addr)))
	wantAddrs(t, got, err, "127.0.0.2:7001", "[::1]:7001")
}

func TestSRVFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records []string
		answer  []string // verbatim answer to the SRV question
		want    error
	}{
		{"no record", []string{`_x._tcp.app.test. 1 IN TXT "x"`}, nil, discovery.ErrNoAddresses},
		{"service unavailable", []string{"_x._tcp.app.test. 1 IN SRV 0 0 7000 ."}, nil, discovery.ErrNoAddresses},
		{"NXDOMAIN", nil, nil, discovery.ErrLookup},
		{"no target resolves", []string{"_x._tcp.app.test. 1 IN SRV 0 0 7000 gone.app.test."}, nil, discovery.ErrLookup},
		{"target without address", []string{"_x._tcp.app.test. 1 IN SRV 0 0 7000 n.app.test.", `n.app.test. 1 IN TXT "x"`}, nil, discovery.ErrNoAddresses},
		{"wrong type", nil, []string{"_x._tcp.app.test. 1 IN A 127.0.0.2"}, discovery.ErrMalformed},
		{"port 0", []string{"_x._tcp.app.test. 1 IN SRV 0 0 0 n.app.test.", "n.app.test. 1 IN A 127.0.0.2"}, nil, discovery.ErrMalformed},
		{"bad target address", []string{"_x._tcp.app.test. 1 IN SRV 0 0 7000 n.app.test.", "n.app.test. 1 IN A 0.0.0.0"}, nil, discovery.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, addr := serveZone(t, tc.records...)
			if tc.answer != nil {
				var rrs []dns.RR
				for _, a := range tc.answer {
					rrs = append(rrs, mustRR(t, a))
				}
				z.set(func(z *zone) { z.answers["_x._tcp.app.test. SRV"] = rrs })
			}
			got, err := discover(t, newSRV(t, "_x._tcp.app.test.", discovery.WithServers(addr)))
			wantErr(t, got, err, tc.want)
		})
	}
}

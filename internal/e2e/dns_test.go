package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsServer is an authoritative server for one zone, answering one name
// with A records that the test changes as hosts come and go: what docker
// compose's embedded DNS does for a service name. Other names in the zone
// are NXDOMAIN; names outside it are REFUSED.
type dnsServer struct {
	zone string // "cloister.test."
	name string // "app.cloister.test."

	mu      sync.Mutex
	addrs   []netip.Addr
	queries map[string]int // "name TYPE" -> count
	down    bool           // see stop
	ignored int            // queries received while down
}

// startDNS serves the zone on ip:53, UDP and TCP, until the test ends. It
// skips the test when port 53 is taken on that address.
func startDNS(t *testing.T, ip netip.Addr, zone, label string) *dnsServer {
	t.Helper()
	zone = dns.Fqdn(strings.ToLower(zone))
	d := &dnsServer{zone: zone, name: strings.ToLower(label) + "." + zone, queries: map[string]int{}}
	addr := netip.AddrPortFrom(ip, 53).String()

	pc, err := net.ListenPacket("udp4", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		t.Skipf("the test's DNS server needs %s/udp, which is taken: %v", addr, err)
	}
	if err != nil {
		t.Fatalf("DNS server: %v", err)
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		pc.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			t.Skipf("the test's DNS server needs %s/tcp, which is taken: %v", addr, err)
		}
		t.Fatalf("DNS server: %v", err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: d}, {Listener: ln, Handler: d}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		served := make(chan error, 1)
		go func() { served <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-served:
			t.Fatalf("DNS server on %s: %v", addr, err)
		}
		t.Cleanup(func() {
			if err := srv.Shutdown(); err != nil {
				t.Errorf("DNS server shutdown: %v", err)
			}
			<-served
		})
	}
	return d
}

// set replaces the addresses the name resolves to.
func (d *dnsServer) set(addrs ...netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs = slices.Clone(addrs)
}

// stop takes the server down the hard way for a resolver: it no longer
// answers at all. Its sockets stay open, so a UDP query is not refused by
// an ICMP port-unreachable (which fails a lookup at once) and a TCP
// connection is accepted; every query is read, counted as ignored, and
// never answered, so each lookup costs the resolver its whole timeout.
// restart makes it answer again.
func (d *dnsServer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = true
}

// restart undoes stop.
func (d *dnsServer) restart() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = false
}

// probeTimeout bounds the test's own lookup in probe.
const probeTimeout = 300 * time.Millisecond

// probe asks the server at ip, over UDP, for the name's A records, and
// returns an error unless it answers within probeTimeout: the test's own
// check that stop and restart did what they say.
func (d *dnsServer) probe(ip netip.Addr) error {
	m := new(dns.Msg)
	m.SetQuestion(d.name, dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: probeTimeout}
	r, _, err := c.Exchange(m, netip.AddrPortFrom(ip, 53).String())
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("%s A: %s", d.name, dns.RcodeToString[r.Rcode])
	}
	return nil
}

// stats describes the queries received, most frequent first.
func (d *dnsServer) stats() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := make([]string, 0, len(d.queries))
	total := 0
	for k, n := range d.queries {
		keys = append(keys, k)
		total += n
	}
	sort.Slice(keys, func(i, j int) bool {
		if d.queries[keys[i]] != d.queries[keys[j]] {
			return d.queries[keys[i]] > d.queries[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, d.queries[k])
	}
	down := ""
	if d.ignored > 0 {
		down = fmt.Sprintf(", %d more ignored while down", d.ignored)
	}
	return fmt.Sprintf("%d queries%s: %s", total, down, strings.Join(parts, ", "))
}

func (d *dnsServer) soa() dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: d.zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 1},
		Ns:      "ns." + d.zone,
		Mbox:    "hostmaster." + d.zone,
		Serial:  1,
		Refresh: 60, Retry: 60, Expire: 600, Minttl: 1,
	}
}

// ServeDNS implements dns.Handler.
func (d *dnsServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	d.mu.Lock()
	down := d.down
	if down {
		d.ignored++
	}
	d.mu.Unlock()
	if down {
		return // no reply at all; see stop
	}
	m := new(dns.Msg)
	m.SetReply(r)
	if r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 {
		m.SetRcode(r, dns.RcodeNotImplemented)
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	d.mu.Lock()
	d.queries[name+" "+dns.TypeToString[q.Qtype]]++
	addrs := slices.Clone(d.addrs)
	d.mu.Unlock()

	if !dns.IsSubDomain(d.zone, name) || q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(m)
		return
	}
	m.Authoritative = true
	if name == d.name && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY) {
		for _, a := range addrs {
			if a.Is4() {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   a.AsSlice(),
				})
			}
		}
	}
	if len(m.Answer) == 0 {
		if name != d.name && name != d.zone {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = []dns.RR{d.soa()}
	}
	_ = w.WriteMsg(m)
}

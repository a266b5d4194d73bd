package discovery_test

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// zone is a mutable DNS zone served by a real miekg/dns server on loopback.
type zone struct {
	mu       sync.Mutex
	rrs      map[string][]dns.RR // by lower-case owner name
	rcodes   map[string]int      // forced rcode, by "name TYPE" or "name *"
	answers  map[string][]dns.RR // verbatim answer, by "name TYPE"
	glue     bool                // SRV replies carry their targets' addresses
	truncate bool                // UDP replies are empty and truncated
	log      []string            // "udp A name." per query received
}

func newZone(t *testing.T, records ...string) *zone {
	t.Helper()
	z := &zone{rrs: map[string][]dns.RR{}, rcodes: map[string]int{}, answers: map[string][]dns.RR{}}
	z.add(t, records...)
	return z
}

// add parses records in zone file syntax and adds them.
func (z *zone) add(t *testing.T, records ...string) {
	t.Helper()
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, s := range records {
		rr := mustRR(t, s)
		name := strings.ToLower(rr.Header().Name)
		z.rrs[name] = append(z.rrs[name], rr)
	}
}

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("record %q: %v", s, err)
	}
	return rr
}

// set changes the zone under its lock.
func (z *zone) set(f func(z *zone)) {
	z.mu.Lock()
	defer z.mu.Unlock()
	f(z)
}

// queries returns the log of queries received so far.
func (z *zone) queries() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.log...)
}

func (z *zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	z.mu.Lock()
	defer z.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name, typ := strings.ToLower(q.Name), dns.TypeToString[q.Qtype]
	network := w.RemoteAddr().Network()
	z.log = append(z.log, network+" "+typ+" "+name)
	rcode, forced := z.rcodes[name+" "+typ]
	if !forced {
		rcode, forced = z.rcodes[name+" *"]
	}
	switch answer, verbatim := z.answers[name+" "+typ]; {
	case forced:
		m.Rcode = rcode
	case z.truncate && network == "udp":
		m.Truncated = true
	case verbatim:
		m.Answer = answer
	case z.rrs[name] == nil:
		m.Rcode = dns.RcodeNameError
	default:
		for _, rr := range z.rrs[name] {
			if rr.Header().Rrtype != q.Qtype {
				continue
			}
			m.Answer = append(m.Answer, rr)
			if srv, ok := rr.(*dns.SRV); ok && z.glue {
				for _, g := range z.rrs[strings.ToLower(srv.Target)] {
					if t := g.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
						m.Extra = append(m.Extra, g)
					}
				}
			}
		}
	}
	w.WriteMsg(m)
}

// serve starts h on a UDP and a TCP socket of the same loopback port and
// returns the address.
func serve(t *testing.T, h dns.Handler) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue // the TCP port is taken; try another
		}
		for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
			started := make(chan struct{})
			s.NotifyStartedFunc = func() { close(started) }
			errc := make(chan error, 1)
			go func() { errc <- s.ActivateAndServe() }()
			select {
			case <-started:
			case err := <-errc:
				t.Fatalf("dns server: %v", err)
			}
			t.Cleanup(func() { s.Shutdown() })
		}
		return pc.LocalAddr().String()
	}
	t.Fatal("no UDP and TCP port pair free on 127.0.0.1")
	return ""
}

// serveZone starts a server for a zone of records.
func serveZone(t *testing.T, records ...string) (*zone, string) {
	t.Helper()
	z := newZone(t, records...)
	return z, serve(t, z)
}

// rawUDP answers every datagram received on a loopback UDP socket with
// reply(query), sending nothing when it returns nil, and returns the
// socket's address.
func rawUDP(t *testing.T, reply func(query []byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(buf[:n]); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// closedPort returns a loopback UDP address nobody listens on: queries to
// it are refused at once.
func closedPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

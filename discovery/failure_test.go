package discovery_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cloister-go/cloister/discovery"
)

// replyTo builds a reply to a query datagram with edit applied; nil if the
// query does not parse.
func replyTo(query []byte, edit func(q, m *dns.Msg)) []byte {
	q := new(dns.Msg)
	if q.Unpack(query) != nil || len(q.Question) != 1 {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(q)
	edit(q, m)
	out, err := m.Pack()
	if err != nil {
		return nil
	}
	return out
}

// aRecord is an A record answering q.
func aRecord(q *dns.Msg, ip string) dns.RR {
	return &dns.A{
		Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
		A:   net.ParseIP(ip),
	}
}

var junk = []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02}

// Replies that do not belong to the query are waited past; when nothing
// else comes the error is ErrMalformed, since the server did reply.
func TestDNSBadRepliesOverUDP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(query []byte) []byte
		says  string
	}{
		{"junk bytes", func([]byte) []byte { return junk }, "unparsable"},
		{"header only, truncated message", func(query []byte) []byte {
			return replyTo(query, func(q, m *dns.Msg) {})[:12+3]
		}, "unparsable"},
		{"wrong ID", func(query []byte) []byte {
			return replyTo(query, func(q, m *dns.Msg) {
				m.Id++
				m.Answer = []dns.RR{aRecord(q, "127.0.0.2")}
			})
		}, "ID"},
		{"another question", func(query []byte) []byte {
			return replyTo(query, func(q, m *dns.Msg) { m.Question[0].Name = "elsewhere.test." })
		}, "another question"},
		{"not a response", func(query []byte) []byte {
			return replyTo(query, func(q, m *dns.Msg) { m.Response = false })
		}, "not a reply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawUDP(t, tc.reply)
			d := newDNS(t, "app.test.", 1, discovery.WithServers(addr), discovery.WithTimeout(200*time.Millisecond))
			got, err := discover(t, d)
			wantErr(t, got, err, discovery.ErrMalformed)
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

// A forged or stale datagram before the real reply does not spoil it.
func TestDNSJunkThenReply(t *testing.T) {
	addr := rawUDP(t, func(query []byte) []byte {
		return replyTo(query, func(q, m *dns.Msg) {
			if q.Question[0].Qtype == dns.TypeA {
				m.Answer = []dns.RR{aRecord(q, "127.0.0.2")}
			}
		})
	})
	// A relay in front sends junk and a wrong-ID reply first.
	relay := rawRelay(t, addr, func(query []byte) [][]byte {
		wrongID := replyTo(query, func(q, m *dns.Msg) { m.Id++; m.Answer = []dns.RR{aRecord(q, "127.0.0.66")} })
		return [][]byte{junk, wrongID}
	})
	got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(relay)))
	wantAddrs(t, got, err, "127.0.0.2:1")
}

// rawRelay forwards each query to upstream after sending first(query) back
// to the client, and relays upstream's reply.
func rawRelay(t *testing.T, upstream string, first func(query []byte) [][]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			query := append([]byte(nil), buf[:n]...)
			for _, p := range first(query) {
				pc.WriteTo(p, from)
			}
			up, err := net.Dial("udp", upstream)
			if err != nil {
				return
			}
			up.Write(query)
			up.SetReadDeadline(time.Now().Add(5 * time.Second))
			rn, err := up.Read(buf)
			up.Close()
			if err == nil {
				pc.WriteTo(buf[:rn], from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// A reply to the question whose content is wrong is ErrMalformed at once.
func TestDNSBadContent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer []string
		says   string
	}{
		{"TXT for A", []string{`app.test. 1 IN TXT "hello"`}, "unexpected TXT"},
		{"AAAA for A", []string{"app.test. 1 IN AAAA ::1"}, "unexpected AAAA"},
		{"good and TXT", []string{"app.test. 1 IN A 127.0.0.2", `app.test. 1 IN TXT "hello"`}, "unexpected TXT"},
		{"unspecified address", []string{"app.test. 1 IN A 0.0.0.0"}, "unusable address"},
		{"multicast address", []string{"app.test. 1 IN A 224.0.0.1"}, "unusable address"},
		{"broadcast address", []string{"app.test. 1 IN A 255.255.255.255"}, "unusable address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, addr := serveZone(t)
			var rrs []dns.RR
			for _, s := range tc.answer {
				rrs = append(rrs, mustRR(t, s))
			}
			z.set(func(z *zone) { z.answers["app.test. A"] = rrs })
			start := time.Now()
			got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(addr)))
			wantErr(t, got, err, discovery.ErrMalformed)
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q does not say %q", err, tc.says)
			}
			if elapsed := time.Since(start); elapsed >= discovery.DefaultTimeout {
				t.Fatalf("took %v: a matched reply must settle the query", elapsed)
			}
		})
	}
}

// Over TCP there is one reply per connection: junk is ErrMalformed at once.
func TestDNSJunkOverTCP(t *testing.T) {
	udp := rawUDP(t, func(query []byte) []byte {
		return replyTo(query, func(q, m *dns.Msg) { m.Truncated = true })
	})
	l, err := net.Listen("tcp", udp)
	if err != nil {
		t.Skipf("TCP port of %s taken: %v", udp, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			var n uint16
			if binary.Read(c, binary.BigEndian, &n) == nil {
				io.CopyN(io.Discard, c, int64(n))
				binary.Write(c, binary.BigEndian, uint16(len(junk)))
				c.Write(junk)
			}
			c.Close()
		}
	}()
	start := time.Now()
	got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(udp)))
	wantErr(t, got, err, discovery.ErrMalformed)
	if !strings.Contains(err.Error(), "TCP") {
		t.Fatalf("error %q does not mention the TCP retry", err)
	}
	if elapsed := time.Since(start); elapsed >= discovery.DefaultTimeout {
		t.Fatalf("took %v, want an immediate failure", elapsed)
	}
}

// A server that never answers: the caller's deadline ends the lookup,
// well before the 2s query timeout, and is the wrapped cause.
func TestDNSSilentServerRespectsDeadline(t *testing.T) {
	addr := rawUDP(t, func([]byte) []byte { return nil })
	d := newDNS(t, "app", 1, discovery.WithServers(addr, addr), discovery.WithSearch("a.test", "b.test"))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := d.Discover(ctx)
	elapsed := time.Since(start)
	wantErr(t, got, err, discovery.ErrLookup)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %q does not wrap the context's", err)
	}
	if elapsed >= discovery.DefaultTimeout {
		t.Fatalf("took %v, the deadline was 150ms", elapsed)
	}
}

// Without a deadline, WithTimeout bounds each query.
func TestDNSQueryTimeout(t *testing.T) {
	addr := rawUDP(t, func([]byte) []byte { return nil })
	d := newDNS(t, "app.test.", 1, discovery.WithServers(addr), discovery.WithTimeout(100*time.Millisecond))
	got, err := d.Discover(context.Background())
	wantErr(t, got, err, discovery.ErrLookup)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no reply within 100ms") {
		t.Fatalf("error %q does not say the query timed out", err)
	}
}

// Cancelling the context interrupts a query in flight.
func TestDNSCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := rawUDP(t, func([]byte) []byte {
		cancel()
		return nil
	})
	d := newDNS(t, "app.test.", 1, discovery.WithServers(addr), discovery.WithTimeout(time.Minute))
	done := make(chan error, 1)
	go func() {
		_, err := d.Discover(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, discovery.ErrLookup) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Discover after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Discover ignored the cancellation")
	}
}

// The most telling failure wins: a malformed A reply over an empty AAAA.
func TestDNSWorstErrorReported(t *testing.T) {
	z, addr := serveZone(t, `app.test. 1 IN TXT "x"`)
	z.set(func(z *zone) { z.answers["app.test. A"] = []dns.RR{mustRR(t, "app.test. 1 IN A 0.0.0.0")} })
	got, err := discover(t, newDNS(t, "app.test.", 1, discovery.WithServers(addr)))
	wantErr(t, got, err, discovery.ErrMalformed)
}

package cloister_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
	"github.com/cloister-go/cloister/discovery"
)

// dnsMode is how the test DNS server answers.
type dnsMode int

const (
	answerAll dnsMode = iota
	answerEmpty
	answerGarbage
)

// testDNS is a real DNS server on loopback whose answers the test switches.
type testDNS struct {
	mu   sync.Mutex
	mode dnsMode
	ips  []netip.Addr
	addr string
}

func startDNS(t *testing.T, ips []netip.Addr) *testDNS {
	t.Helper()
	d := &testDNS{ips: ips}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: d, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	d.addr = pc.LocalAddr().String()
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

func (d *testDNS) set(m dnsMode) {
	d.mu.Lock()
	d.mode = m
	d.mu.Unlock()
}

func (d *testDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	d.mu.Lock()
	mode, ips := d.mode, d.ips
	d.mu.Unlock()
	if mode == answerGarbage {
		w.Write([]byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02})
		return
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if mode == answerAll && len(r.Question) == 1 && r.Question[0].Qtype == dns.TypeA {
		for _, ip := range ips {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
				A:   ip.AsSlice(),
			})
		}
	}
	w.WriteMsg(m)
}

// freeSharedPort finds a port free for TCP and UDP on every given address.
func freeSharedPort(t *testing.T, ips []netip.Addr) uint16 {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", netip.AddrPortFrom(ips[0], 0).String())
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		ok := true
		for _, ip := range ips {
			ap := netip.AddrPortFrom(ip, port).String()
			tl, err1 := net.Listen("tcp", ap)
			ul, err2 := net.ListenPacket("udp", ap)
			if tl != nil {
				tl.Close()
			}
			if ul != nil {
				ul.Close()
			}
			if err1 != nil || err2 != nil {
				ok = false
			}
		}
		if ok {
			return port
		}
	}
	t.Fatal("no shared free port")
	return 0
}

// Three nodes on 127.0.0.2-4 sharing one port find each other through a DNS
// name, as containers behind one service name do. Then DNS answers nothing,
// then garbage: members stay, each failure is a typed, reported error.
func TestDNSSentry(t *testing.T) {
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.4")}
	server := startDNS(t, ips)
	port := freeSharedPort(t, ips)

	var nodes []*cloister.Node
	var subs []<-chan cloister.Event
	for _, ip := range ips {
		sentry, err := discovery.NewDNS("app.cloister.test.", port, discovery.WithServers(server.addr))
		if err != nil {
			t.Fatal(err)
		}
		cfg := cloister.LocalConfig()
		cfg.App = "app"
		cfg.Bind = netip.AddrPortFrom(ip, port).String()
		cfg.Sentry = sentry
		cfg.Secret = cloistertest.Secret()
		cfg.Consensus = 3
		cfg.DiscoveryMaxBackoff = cfg.DiscoveryInterval * 2
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := cloister.Launch(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop(context.Background()) })
		ch, unsubscribe := n.Subscribe(1024)
		t.Cleanup(unsubscribe)
		nodes = append(nodes, n)
		subs = append(subs, ch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, n := range nodes {
		if err := n.WaitReady(ctx); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if want := fmt.Sprintf("app@%s:%d", ips[i], port); n.Self().Name != want {
			t.Fatalf("node %d named %s, want %s", i, n.Self().Name, want)
		}
	}
	view := nodes[0].View().ID

	for _, tc := range []struct {
		mode dnsMode
		want error
	}{{answerEmpty, discovery.ErrNoAddresses}, {answerGarbage, discovery.ErrMalformed}} {
		server.set(tc.mode)
		for i, ch := range subs {
			if err := waitDiscoveryError(ctx, ch, tc.want); err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		}
		for i, n := range nodes {
			s := n.Snapshot()
			if s.State != cloister.Ready || s.View.ID != view || len(s.View.Members) != 3 {
				t.Fatalf("node %d after %v: state %v, %d members, view changed %v", i, tc.want, s.State, len(s.View.Members), s.View.ID != view)
			}
			if !errors.Is(n.LastDiscoveryError(), tc.want) || !errors.Is(n.LastDiscoveryError(), cloister.ErrDiscovery) {
				t.Fatalf("node %d: LastDiscoveryError = %v, want %v", i, n.LastDiscoveryError(), tc.want)
			}
		}
	}
	server.set(answerAll)
	for i, n := range nodes {
		if _, err := cloistertest.Poll(ctx, func() bool { return n.LastDiscoveryError() == nil }); err != nil {
			t.Fatalf("node %d: discovery did not recover: %v", i, n.LastDiscoveryError())
		}
	}
}

// waitDiscoveryError reads events until a DiscoveryFailed matching want.
func waitDiscoveryError(ctx context.Context, ch <-chan cloister.Event, want error) error {
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return errors.New("subscription closed")
			}
			if df, ok := e.(*cloister.DiscoveryFailed); ok && errors.Is(df.Err, want) && errors.Is(df.Err, cloister.ErrDiscovery) {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("no DiscoveryFailed matching %v: %w", want, ctx.Err())
		}
	}
}

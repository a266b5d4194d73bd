package transport

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// readPacket waits up to a second for the transport's next datagram.
func readPacket(t *testing.T, tr *Net) Packet {
	t.Helper()
	select {
	case p := <-tr.Packets():
		return p
	case <-time.After(time.Second):
		t.Fatal("no datagram within a second")
		return Packet{}
	}
}

// exchange sends a datagram from a plain socket on network/laddr to tr at
// its port on host, checks what tr read (payload, and the sender as the
// plain address, never IPv4-mapped), and has tr answer it.
func exchange(t *testing.T, tr *Net, network, laddr string, host netip.Addr) {
	t.Helper()
	peer, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(laddr)))
	if err != nil {
		t.Skipf("%s %s: %v", network, laddr, err)
	}
	defer peer.Close()
	peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	to := netip.AddrPortFrom(host, tr.Addr().Port())
	if _, err := peer.WriteToUDPAddrPort([]byte("ping"), to); err != nil {
		t.Fatal(err)
	}
	p := readPacket(t, tr)
	if string(p.Data) != "ping" || p.From != peerAddr {
		t.Fatalf("read %q from %v, want ping from %v", p.Data, p.From, peerAddr)
	}
	if err := tr.WritePacket([]byte("pong"), p.From); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	peer.SetReadDeadline(time.Now().Add(time.Second))
	n, from, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "pong" || from.Port() != tr.Addr().Port() {
		t.Fatalf("answer: %q from %v, %v", buf[:n], from, err)
	}
}

// A transport bound to all addresses (dual-stack where the host has IPv6)
// reads and answers IPv4 and IPv6 peers, naming IPv4 ones plainly.
func TestDatagramsBothFamilies(t *testing.T) {
	tr, err := Listen(NetConfig{Bind: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	exchange(t, tr, "udp4", "127.0.0.1:0", netip.MustParseAddr("127.0.0.1"))
	exchange(t, tr, "udp6", "[::1]:0", netip.MustParseAddr("::1"))
}

// One bound to an IPv4 address refuses an IPv6 destination with an error.
func TestIPv6DestinationFromAnIPv4Socket(t *testing.T) {
	tr := listen(t)
	err := tr.WritePacket([]byte("x"), netip.MustParseAddrPort("[2001:db8::1]:9"))
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Fatalf("got %v, want a *net.OpError", err)
	}
	exchange(t, tr, "udp4", "127.0.0.1:0", netip.MustParseAddr("127.0.0.1"))
}

// Writers on many goroutines share the socket: every datagram arrives
// whole, from the transport's port.
func TestConcurrentWritesArriveWhole(t *testing.T) {
	tr := listen(t)
	conns, addrs := receivers(t, 1)
	const writers, each = 8, 20 // 160 datagrams: far below a default receive buffer
	done := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				msg := []byte{byte(w), byte(i), byte(w ^ i), 0x5a}
				if err := tr.WritePacket(msg, addrs[0]); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range writers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[[2]byte]bool{}
	for range writers * each {
		b := readOne(t, conns[0])
		if len(b) != 4 || b[2] != b[0]^b[1] || b[3] != 0x5a {
			t.Fatalf("datagram %x came apart", b)
		}
		seen[[2]byte{b[0], b[1]}] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct datagrams of %d", len(seen), writers*each)
	}
}

// receivers opens n plain UDP sockets on loopback.
func receivers(t *testing.T, n int) ([]*net.UDPConn, []netip.AddrPort) {
	t.Helper()
	conns := make([]*net.UDPConn, n)
	addrs := make([]netip.AddrPort, n)
	for i := range n {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetReadBuffer(1 << 20)
		conns[i], addrs[i] = c, c.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	return conns, addrs
}

// readOne reads one datagram from c within a second.
func readOne(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("%s: %v", c.LocalAddr(), err)
	}
	return buf[:n]
}

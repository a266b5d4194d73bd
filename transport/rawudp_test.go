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

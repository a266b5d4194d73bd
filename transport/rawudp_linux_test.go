package transport

import (
	"net"
	"testing"
)

// The raw calls allocate nothing per datagram: a closure per call, handed
// to the RawConn, escaped with everything it captured (seven allocations
// a round trip).
func TestRawDatagramCallsDoNotAllocate(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, err := newUDPIO(c)
	if err != nil {
		t.Fatal(err)
	}
	to := c.LocalAddr().(*net.UDPAddr).AddrPort()
	msg, buf := []byte("x"), make([]byte, 64)
	if n := testing.AllocsPerRun(100, func() {
		if err := u.writeTo(msg, to); err != nil { // to itself
			t.Fatal(err)
		}
		if n, from, err := u.readFrom(buf); err != nil || n != 1 || from != to {
			t.Fatalf("read %d bytes from %v: %v", n, from, err)
		}
	}); n != 0 {
		t.Errorf("%v allocations a datagram sent and read", n)
	}
}

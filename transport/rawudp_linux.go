//go:build linux

package transport

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpIO reads and writes the datagram socket with raw system calls, still
// waiting through Go's network poller (syscall.RawConn). The socket is
// non-blocking, so recvfrom and sendto return at once, and a raw call
// skips the scheduler's system-call bookkeeping: an ordinary call on a
// goroutine of a process that was idle wakes the runtime's monitor thread
// (sysmon), which then polls every 20 µs for a millisecond or more while
// the process is busy. An agent handles its datagrams in small bursts, so
// almost every burst paid that; with 100 agents on two CPUs the monitor
// threads were a quarter of their CPU samples up to assembly.
type udpIO struct {
	conn *net.UDPConn
	rc   syscall.RawConn
	v6   bool // the socket is AF_INET6: IPv4 peers are written as mapped addresses

	// The state of the calls, made once: a closure handed to the RawConn
	// escapes, and one per datagram cost seven allocations a round trip.
	rmu    sync.Mutex // one read at a time (the transport has one reader)
	rd     udpRead
	writes sync.Pool // of *udpWrite
}

// udpRead is a read's arguments and results, for recv.
type udpRead struct {
	buf   []byte
	n     int
	errno syscall.Errno
	rsa   unix.RawSockaddrAny
	fn    func(fd uintptr) bool // recv, bound once
}

// recv is the read's call on fd: false when nothing is queued.
func (r *udpRead) recv(fd uintptr) bool {
	for {
		size := uint32(unix.SizeofSockaddrAny)
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)), 0,
			uintptr(unsafe.Pointer(&r.rsa)), uintptr(unsafe.Pointer(&size)))
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // nothing queued: wait for the poller
		}
		r.n, r.errno = int(n), e
		return true
	}
}

// udpWrite is a write's arguments and result, for send.
type udpWrite struct {
	b     []byte
	sa4   unix.RawSockaddrInet4
	sa6   unix.RawSockaddrInet6
	v6    bool // the address is sa6
	errno syscall.Errno
	fn    func(fd uintptr) bool // send, bound once
}

// send is the write's call on fd: false when the send buffer is full.
func (w *udpWrite) send(fd uintptr) bool {
	to, size := unsafe.Pointer(&w.sa4), unsafe.Sizeof(w.sa4)
	if w.v6 {
		to, size = unsafe.Pointer(&w.sa6), unsafe.Sizeof(w.sa6)
	}
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&w.b[0])), uintptr(len(w.b)), 0,
			uintptr(to), size)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait for room
		}
		w.errno = e
		return true
	}
}

func newUDPIO(c *net.UDPConn) (*udpIO, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	u := &udpIO{conn: c, rc: rc}
	u.rd.fn = u.rd.recv
	u.writes.New = func() any {
		w := &udpWrite{}
		w.fn = w.send
		return w
	}
	var nameErr error
	if err := rc.Control(func(fd uintptr) {
		var sa unix.Sockaddr
		sa, nameErr = unix.Getsockname(int(fd))
		_, u.v6 = sa.(*unix.SockaddrInet6)
	}); err != nil {
		return nil, err
	}
	return u, nameErr
}

// readFrom reads one datagram into buf, waiting for one to arrive.
func (u *udpIO) readFrom(buf []byte) (int, netip.AddrPort, error) {
	if len(buf) == 0 {
		return u.conn.ReadFromUDPAddrPort(buf)
	}
	u.rmu.Lock()
	defer u.rmu.Unlock()
	r := &u.rd
	r.buf = buf
	defer func() { r.buf = nil }()
	if err := u.rc.Read(r.fn); err != nil {
		return 0, netip.AddrPort{}, err
	}
	if r.errno != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: r.errno}
	}
	return r.n, sockaddrToAddrPort(&r.rsa), nil
}

// writeTo sends b to one address.
func (u *udpIO) writeTo(b []byte, to netip.AddrPort) error {
	ip := to.Addr()
	if !u.v6 {
		ip = ip.Unmap() // an AF_INET socket takes the plain IPv4 address
	}
	switch {
	case len(b) == 0 || ip.Zone() != "":
		// Nothing to point at, or a scoped IPv6 address: package net
		// knows the interfaces' indexes.
		_, err := u.conn.WriteToUDPAddrPort(b, to)
		return err
	case !ip.Is4() && !u.v6:
		return &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: unix.EAFNOSUPPORT}
	}
	w := u.writes.Get().(*udpWrite)
	defer u.writes.Put(w)
	w.b, w.errno, w.v6 = b, 0, u.v6
	if u.v6 {
		w.sa6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()} // an IPv4 address comes out mapped
		putPort(unsafe.Pointer(&w.sa6.Port), to.Port())
	} else {
		w.sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		putPort(unsafe.Pointer(&w.sa4.Port), to.Port())
	}
	err := u.rc.Write(w.fn)
	w.b = nil
	if err != nil {
		return err
	}
	if w.errno != 0 {
		return &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: w.errno}
	}
	return nil
}

// putPort stores port in network byte order at p (a sockaddr's port).
func putPort(p unsafe.Pointer, port uint16) {
	b := (*[2]byte)(p)
	b[0], b[1] = byte(port>>8), byte(port)
}

// getPort reads a port in network byte order at p (a sockaddr's port).
func getPort(p unsafe.Pointer) uint16 {
	b := (*[2]byte)(p)
	return uint16(b[0])<<8 | uint16(b[1])
}

// sockaddrToAddrPort reads the address recvfrom filled in; zero for a
// family other than IPv4 and IPv6.
func sockaddrToAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), getPort(unsafe.Pointer(&sa.Port)))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			ip = ip.WithZone(zoneName(sa.Scope_id))
		}
		return netip.AddrPortFrom(ip, getPort(unsafe.Pointer(&sa.Port)))
	}
	return netip.AddrPort{}
}

// zones caches interface names by index for zoneName.
var zones sync.Map // uint32 → string

// zoneName is the name of the interface with index i, as package net
// names a scoped address's zone, or the index itself when there is none.
func zoneName(i uint32) string {
	if z, ok := zones.Load(i); ok {
		return z.(string)
	}
	name := strconv.FormatUint(uint64(i), 10)
	if ifi, err := net.InterfaceByIndex(int(i)); err == nil {
		name = ifi.Name
	}
	zones.Store(i, name)
	return name
}

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
}

func newUDPIO(c *net.UDPConn) (*udpIO, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	u := &udpIO{conn: c, rc: rc}
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
	var (
		n     int
		from  netip.AddrPort
		errno syscall.Errno
	)
	err := u.rc.Read(func(fd uintptr) bool {
		for {
			var rsa unix.RawSockaddrAny
			size := uint32(unix.SizeofSockaddrAny)
			r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0,
				uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)))
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // nothing queued: wait for the poller
			}
			n, errno, from = int(r), e, sockaddrToAddrPort(&rsa)
			return true
		}
	})
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if errno != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: errno}
	}
	return n, from, nil
}

// writeTo sends b to one address.
func (u *udpIO) writeTo(b []byte, to netip.AddrPort) error {
	if len(b) == 0 || to.Addr().Zone() != "" {
		// Nothing to point at, or a scoped IPv6 address: package net
		// knows the interfaces' indexes.
		_, err := u.conn.WriteToUDPAddrPort(b, to)
		return err
	}
	var (
		sa4   unix.RawSockaddrInet4
		sa6   unix.RawSockaddrInet6
		ptr   unsafe.Pointer
		size  uintptr
		errno syscall.Errno
	)
	ip, port := to.Addr(), to.Port()
	if ip.Is4() && !u.v6 {
		sa4.Family = unix.AF_INET
		sa4.Addr = ip.As4()
		putPort(unsafe.Pointer(&sa4.Port), port)
		ptr, size = unsafe.Pointer(&sa4), unsafe.Sizeof(sa4)
	} else {
		if !u.v6 {
			return &net.OpError{Op: "write", Net: "udp", Err: unix.EAFNOSUPPORT}
		}
		sa6.Family = unix.AF_INET6
		sa6.Addr = ip.As16() // an IPv4 address comes out mapped
		putPort(unsafe.Pointer(&sa6.Port), port)
		ptr, size = unsafe.Pointer(&sa6), unsafe.Sizeof(sa6)
	}
	err := u.rc.Write(func(fd uintptr) bool {
		for {
			_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0,
				uintptr(ptr), size)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // the send buffer is full: wait for room
			}
			errno = e
			return true
		}
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: errno}
	}
	return nil
}

// putPort stores port in network byte order at p (a sockaddr's port).
func putPort(p unsafe.Pointer, port uint16) {
	b := (*[2]byte)(p)
	b[0], b[1] = byte(port>>8), byte(port)
}

// sockaddrToAddrPort reads the address recvfrom filled in; zero for a
// family other than IPv4 and IPv6.
func sockaddrToAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			ip = ip.WithZone(zoneName(sa.Scope_id))
		}
		return netip.AddrPortFrom(ip, uint16(p[0])<<8|uint16(p[1]))
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

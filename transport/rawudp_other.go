//go:build !linux

package transport

import (
	"net"
	"net/netip"
)

// udpIO reads and writes the datagram socket through package net (the raw
// calls of rawudp_linux.go are Linux's).
type udpIO struct{ conn *net.UDPConn }

func newUDPIO(c *net.UDPConn) (*udpIO, error) { return &udpIO{conn: c}, nil }

func (u *udpIO) readFrom(buf []byte) (int, netip.AddrPort, error) {
	return u.conn.ReadFromUDPAddrPort(buf)
}

func (u *udpIO) writeTo(b []byte, to netip.AddrPort) error {
	_, err := u.conn.WriteToUDPAddrPort(b, to)
	return err
}

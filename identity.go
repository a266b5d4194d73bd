package cloister

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// newIncarnation draws an incarnation: nanoseconds since the epoch in the
// high bits (a restart on the same host draws a larger value) and random
// low bits (two starts in the same nanosecond still differ).
func newIncarnation() uint64 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return uint64(time.Now().UnixNano())&^0xffff | uint64(binary.BigEndian.Uint16(b[:]))
}

// memberName is app@host:port.
func memberName(app string, addr netip.AddrPort) string {
	return app + "@" + addr.String()
}

// memberID is the name plus the incarnation: unique per start.
func memberID(name string, incarnation uint64) string {
	return fmt.Sprintf("%s#%016x", name, incarnation)
}

// parseMemberID splits an ID into name and incarnation.
func parseMemberID(id string) (name string, incarnation uint64, ok bool) {
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return "", 0, false
	}
	inc, err := strconv.ParseUint(id[i+1:], 16, 64)
	if err != nil {
		return "", 0, false
	}
	return id[:i], inc, true
}

// localAddrs lists the IP addresses of the host's interfaces that are up.
func localAddrs() []netip.Addr {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil {
				out = append(out, pfx.Addr().Unmap())
			}
		}
	}
	return out
}

// chooseAdvertise picks the IP peers should use, in this order: an explicit
// advertise address; a specific bind address; a local address that appears
// among the sentry's answers (Cloister's trick: the DNS name of the service
// resolves to this instance too); the first usable non-loopback address
// (IPv4 before IPv6); loopback.
func chooseAdvertise(explicit, bind netip.AddrPort, discovered, local []netip.Addr) netip.Addr {
	if explicit.Addr().IsValid() {
		return explicit.Addr()
	}
	if b := bind.Addr(); b.IsValid() && !b.IsUnspecified() {
		return b.Unmap()
	}
	isLocal := map[netip.Addr]bool{}
	for _, a := range local {
		isLocal[a] = true
	}
	for _, d := range discovered {
		if isLocal[d.Unmap()] {
			return d.Unmap()
		}
	}
	var v6 netip.Addr
	for _, a := range local {
		if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
			continue
		}
		if a.Is4() {
			return a
		}
		if !v6.IsValid() {
			v6 = a
		}
	}
	if v6.IsValid() {
		return v6
	}
	if bind.Addr().Is6() && !bind.Addr().Is4In6() && len(local) > 0 && !hasIPv4(local) {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

func hasIPv4(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if a.Is4() {
			return true
		}
	}
	return false
}

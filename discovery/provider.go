package discovery

import (
	"context"
	"net/netip"
	"slices"
)

// Provider finds candidate peer addresses. It never removes members;
// callers poll it. Discover returns what it can find now: a partial answer
// with a nil error, or no addresses and an error wrapping one of the
// sentinels. The providers of this package return addresses sorted and
// without duplicates, and are safe for concurrent use.
type Provider interface {
	Discover(ctx context.Context) ([]netip.AddrPort, error)
}

// normalize sorts addrs and removes duplicates, in place.
func normalize(addrs []netip.AddrPort) []netip.AddrPort {
	slices.SortFunc(addrs, netip.AddrPort.Compare)
	return slices.Clip(slices.Compact(addrs))
}

// withPort pairs every address with port.
func withPort(addrs []netip.Addr, port uint16) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.AddrPortFrom(a, port))
	}
	return out
}

// usable reports whether a can be a peer's address: valid, neither
// unspecified, multicast nor the IPv4 broadcast address.
func usable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

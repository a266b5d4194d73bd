package discovery

import (
	"context"
	"fmt"
	"net/netip"
)

// DNS discovers the peers behind one name: every A and AAAA record, each
// paired with the same port. That is a docker compose service name or
// network alias, or a Kubernetes headless Service.
type DNS struct {
	name string
	port uint16
	r    resolver
}

// NewDNS returns a provider resolving name (relative, walked through the
// search list, or absolute with a trailing dot) to peers on port.
func NewDNS(name string, port uint16, opts ...DNSOption) (*DNS, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, &Error{Provider: "dns", Name: name, Err: err}
	}
	if _, ipErr := netip.ParseAddr(name); ipErr == nil || !validName(name) {
		return nil, &Error{Provider: "dns", Name: name, Err: newFault(ErrInvalidSpec, "not a host name")}
	}
	if port == 0 {
		return nil, &Error{Provider: "dns", Name: name, Err: newFault(ErrInvalidSpec, "no port")}
	}
	return &DNS{name: name, port: port, r: resolver{opts: o}}, nil
}

// Discover resolves the name from the hosts file (see WithHostsFile), or
// else by DNS, A and AAAA concurrently. Addresses come
// sorted and without duplicates. If one of the two queries fails and the
// other gives addresses, those are returned with a nil error.
func (d *DNS) Discover(ctx context.Context) ([]netip.AddrPort, error) {
	if addrs := lookupHosts(d.r.opts.hostsFile, d.name); len(addrs) > 0 {
		return normalize(withPort(addrs, d.port)), nil
	}
	c, err := d.r.conf()
	if err != nil {
		return nil, &Error{Provider: "dns", Name: d.name, Err: err}
	}
	addrs, err := d.r.lookupIP(ctx, c, d.name)
	if err != nil {
		return nil, &Error{Provider: "dns", Name: d.name, Err: err}
	}
	return normalize(withPort(addrs, d.port)), nil
}

// String describes the provider, as "dns app.svc:7946".
func (d *DNS) String() string { return fmt.Sprintf("dns %s:%d", d.name, d.port) }

package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Static discovers a fixed list of peers. Entries given as IP addresses
// are returned as they are; host names are resolved (A and AAAA) at every
// Discover.
type Static struct {
	entries []string         // as given, trimmed, for String
	addrs   []netip.AddrPort // the IP entries
	hosts   []hostPort       // the host name entries
	r       resolver
}

// hostPort is a host name entry.
type hostPort struct {
	entry string // as given
	host  string
	port  uint16
}

// NewStatic returns a provider for addrs. Each entry, spaces trimmed, is
// "ip", "ip:port", "[ipv6]:port", "host" or "host:port"; those without a
// port use defaultPort. A malformed entry, or one with no port when
// defaultPort is 0, is an ErrInvalidSpec naming the entry. The options are
// used to resolve host names.
func NewStatic(addrs []string, defaultPort uint16, opts ...DNSOption) (*Static, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, &Error{Provider: "static", Err: err}
	}
	if len(addrs) == 0 {
		return nil, &Error{Provider: "static", Err: newFault(ErrInvalidSpec, "no entry")}
	}
	s := &Static{r: resolver{opts: o}}
	for _, e := range addrs {
		e = strings.TrimSpace(e)
		ap, hp, err := parseEntry(e, defaultPort)
		if err != nil {
			return nil, &Error{Provider: "static", Name: e, Err: &fault{kind: ErrInvalidSpec, cause: err}}
		}
		if hp.host != "" {
			s.hosts = append(s.hosts, hp)
		} else {
			s.addrs = append(s.addrs, ap)
		}
		s.entries = append(s.entries, e)
	}
	s.addrs = normalize(s.addrs)
	return s, nil
}

// parseEntry parses one entry into an address or a host name with a port.
func parseEntry(e string, defaultPort uint16) (netip.AddrPort, hostPort, error) {
	fail := func(format string, args ...any) (netip.AddrPort, hostPort, error) {
		return netip.AddrPort{}, hostPort{}, fmt.Errorf(format, args...)
	}
	host, port := e, defaultPort
	bracketed := strings.HasPrefix(e, "[")
	switch _, ipErr := netip.ParseAddr(e); {
	case e == "":
		return fail("empty entry")
	case ipErr == nil:
	case bracketed && strings.HasSuffix(e, "]"):
		host = e[1 : len(e)-1]
	case strings.Contains(e, ":"):
		h, p, err := net.SplitHostPort(e)
		if err != nil {
			return fail("not ip, ip:port, [ipv6]:port, host or host:port")
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return fail("bad port %q", p)
		}
		if n == 0 {
			return fail("port 0")
		}
		host, port = h, uint16(n)
	}
	if port == 0 {
		return fail("no port, and no default port")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if bracketed && !a.Is6() {
			return fail("brackets around an IPv4 address")
		}
		if a = a.Unmap(); !usable(a) {
			return fail("%s cannot be a peer's address", a)
		}
		return netip.AddrPortFrom(a, port), hostPort{}, nil
	}
	if bracketed || !validName(host) {
		return fail("%q is neither an IP address nor a host name", host)
	}
	return netip.AddrPort{}, hostPort{entry: e, host: host, port: port}, nil
}

// Discover returns the IP entries and the addresses of the host names,
// sorted and without duplicates. A host name that fails is skipped as long
// as something else gives addresses; if nothing does, the most severe
// failure is returned.
func (s *Static) Discover(ctx context.Context) ([]netip.AddrPort, error) {
	out := append([]netip.AddrPort(nil), s.addrs...)
	if len(s.hosts) == 0 {
		return out, nil
	}
	c, err := s.r.conf()
	if err != nil {
		if len(out) > 0 {
			return out, nil
		}
		return nil, &Error{Provider: "static", Name: s.hosts[0].entry, Err: err}
	}
	found := make([][]netip.Addr, len(s.hosts))
	errs := make([]error, len(s.hosts))
	parallel(len(s.hosts), func(i int) {
		found[i], errs[i] = s.r.lookupIP(ctx, c, s.hosts[i].host)
	})
	var worst error
	name := ""
	for i, h := range s.hosts {
		out = append(out, withPort(found[i], h.port)...)
		if severity(errs[i]) > severity(worst) {
			worst, name = errs[i], h.entry
		}
	}
	if len(out) == 0 {
		return nil, &Error{Provider: "static", Name: name, Err: worst}
	}
	return normalize(out), nil
}

// String describes the provider, as "static 10.0.0.1:7946,app:7946".
func (s *Static) String() string { return "static " + strings.Join(s.entries, ",") }

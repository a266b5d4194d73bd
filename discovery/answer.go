package discovery

import (
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// owners returns the names, lower-cased, whose records answer a question
// for fq: fq and the targets of the CNAME chain starting there.
func owners(answer []dns.RR, fq string) map[string]bool {
	names := map[string]bool{strings.ToLower(fq): true}
	for grew := true; grew; {
		grew = false
		for _, rr := range answer {
			c, ok := rr.(*dns.CNAME)
			if !ok || !names[strings.ToLower(c.Hdr.Name)] || names[strings.ToLower(c.Target)] {
				continue
			}
			names[strings.ToLower(c.Target)] = true
			grew = true
		}
	}
	return names
}

// benign reports whether rr may accompany an answer of another type:
// aliases and signatures.
func benign(rr dns.RR) bool {
	switch rr.(type) {
	case *dns.CNAME, *dns.DNAME, *dns.RRSIG:
		return true
	}
	return false
}

// addresses returns the addresses of a NOERROR reply to an A or AAAA
// question for fq. Records for names outside the alias chain are ignored;
// a record of another type or an unusable address makes the whole reply
// ErrMalformed; no address at all is ErrNoAddresses.
func addresses(m *dns.Msg, fq string, qtype uint16) ([]netip.Addr, error) {
	question := fq + " " + dns.TypeToString[qtype]
	names := owners(m.Answer, fq)
	var out []netip.Addr
	for _, rr := range m.Answer {
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				ip = v.A
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				ip = v.AAAA
			}
		}
		if ip == nil {
			if benign(rr) {
				continue
			}
			return nil, newFault(ErrMalformed, "%s: unexpected %s record", question, dns.TypeToString[rr.Header().Rrtype])
		}
		a, ok := toAddr(ip)
		if !ok {
			return nil, newFault(ErrMalformed, "%s: unusable address %v", question, ip)
		}
		if names[strings.ToLower(rr.Header().Name)] {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, newFault(ErrNoAddresses, "%s: empty answer", question)
	}
	return out, nil
}

// toAddr converts a record's IP, unmapping IPv4-mapped IPv6, and reports
// whether it is usable.
func toAddr(ip net.IP) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	a = a.Unmap()
	return a, ok && usable(a)
}

// services returns the SRV records of a NOERROR reply to an SRV question
// for fq, those with the target "." (service not available) left out. A
// record of another type or with port 0 makes the whole reply ErrMalformed;
// no usable record is ErrNoAddresses.
func services(m *dns.Msg, fq string) ([]*dns.SRV, error) {
	question := fq + " SRV"
	names := owners(m.Answer, fq)
	var out []*dns.SRV
	for _, rr := range m.Answer {
		s, ok := rr.(*dns.SRV)
		if !ok {
			if benign(rr) {
				continue
			}
			return nil, newFault(ErrMalformed, "%s: unexpected %s record", question, dns.TypeToString[rr.Header().Rrtype])
		}
		if s.Port == 0 {
			return nil, newFault(ErrMalformed, "%s: port 0 for %s", question, s.Target)
		}
		if names[strings.ToLower(s.Hdr.Name)] && s.Target != "." {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, newFault(ErrNoAddresses, "%s: no target", question)
	}
	return out, nil
}

// glue returns the usable A and AAAA records of a reply's additional
// section, by lower-cased owner name. Anything else there is ignored: the
// targets without glue are simply queried.
func glue(m *dns.Msg) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for _, rr := range m.Extra {
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A
		case *dns.AAAA:
			ip = v.AAAA
		default:
			continue
		}
		if a, ok := toAddr(ip); ok {
			name := strings.ToLower(rr.Header().Name)
			out[name] = append(out[name], a)
		}
	}
	return out
}

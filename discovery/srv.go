package discovery

import (
	"context"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// SRV discovers peers through the SRV records of a name, such as
// "_cloister._tcp.app.ns.svc.cluster.local": each target's A and AAAA
// addresses, on the record's port. Priority and weight are ignored: every
// target is a peer.
type SRV struct {
	name string
	r    resolver
}

// NewSRV returns a provider for the SRV records of name (relative, walked
// through the search list, or absolute with a trailing dot).
func NewSRV(name string, opts ...DNSOption) (*SRV, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, &Error{Provider: "srv", Name: name, Err: err}
	}
	if !validName(name) {
		return nil, &Error{Provider: "srv", Name: name, Err: newFault(ErrInvalidSpec, "not a domain name")}
	}
	return &SRV{name: name, r: resolver{opts: o}}, nil
}

// Discover queries the SRV records, then the addresses of their targets:
// from the reply's additional section when it has some for a target, else
// by querying A and AAAA. Targets that fail are skipped as long as one
// gives addresses. Addresses come sorted and without duplicates.
func (s *SRV) Discover(ctx context.Context) ([]netip.AddrPort, error) {
	c, err := s.r.conf()
	if err != nil {
		return nil, &Error{Provider: "srv", Name: s.name, Err: err}
	}
	var extra map[string][]netip.Addr
	recs, err := walk(ctx, c, s.name, func(fq string) ([]*dns.SRV, error) {
		m, err := s.r.ask(ctx, c.servers, fq, dns.TypeSRV)
		if err != nil {
			return nil, err
		}
		recs, err := services(m, fq)
		if len(recs) > 0 {
			extra = glue(m)
		}
		return recs, err
	})
	if err != nil {
		return nil, &Error{Provider: "srv", Name: s.name, Err: err}
	}

	// Resolve each distinct target once.
	var targets []string
	addrs := map[string][]netip.Addr{}
	for _, rec := range recs {
		t := strings.ToLower(rec.Target)
		if _, seen := addrs[t]; seen {
			continue
		}
		addrs[t] = extra[t]
		if len(extra[t]) == 0 {
			targets = append(targets, t)
		}
	}
	errs := make([]error, len(targets))
	found := make([][]netip.Addr, len(targets))
	parallel(len(targets), func(i int) {
		found[i], errs[i] = s.r.lookupFQDN(ctx, c, targets[i])
	})
	var worst error
	for i, t := range targets {
		addrs[t] = found[i]
		worst = worse(worst, errs[i])
	}

	var out []netip.AddrPort
	for _, rec := range recs {
		out = append(out, withPort(addrs[strings.ToLower(rec.Target)], rec.Port)...)
	}
	if len(out) == 0 {
		if worst == nil {
			worst = newFault(ErrNoAddresses, "no target has an address")
		}
		return nil, &Error{Provider: "srv", Name: s.name, Err: worst}
	}
	return normalize(out), nil
}

// String describes the provider, as "srv _cloister._tcp.app".
func (s *SRV) String() string { return "srv " + s.name }

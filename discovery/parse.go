package discovery

import (
	"net/netip"
	"strings"
)

// Parse builds the provider a CLOISTER_SENTRY value describes (grammar in
// the package documentation). An empty or blank spec returns (nil, nil):
// no sentry. defaultPort is the port of entries and names that carry none;
// opts configure DNS resolution. Errors wrap ErrInvalidSpec.
func Parse(spec string, defaultPort uint16, opts ...DNSOption) (Provider, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	if name, ok := strings.CutPrefix(spec, "srv:"); ok {
		return srvProvider(name, opts)
	}
	if strings.Contains(spec, ",") {
		return staticProvider(strings.Split(spec, ","), defaultPort, opts)
	}
	if strings.HasPrefix(spec, "_") {
		return srvProvider(spec, opts)
	}
	if _, err := netip.ParseAddr(spec); err == nil || strings.ContainsAny(spec, ":[]") {
		return staticProvider([]string{spec}, defaultPort, opts)
	}
	d, err := NewDNS(spec, defaultPort, opts...)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// srvProvider and staticProvider return a nil interface, not an interface
// holding a nil pointer, on error.
func srvProvider(name string, opts []DNSOption) (Provider, error) {
	s, err := NewSRV(strings.TrimSpace(name), opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func staticProvider(entries []string, defaultPort uint16, opts []DNSOption) (Provider, error) {
	s, err := NewStatic(entries, defaultPort, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

package cloister_test

import (
	"context"
	"net/netip"

	"github.com/cloister-go/cloister/discovery"
)

// staticSentry lists fixed addresses through the Func adapter.
func staticSentry(addrs []string) (discovery.Provider, error) {
	var out []netip.AddrPort
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return nil, err
		}
		out = append(out, ap)
	}
	return discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return out, nil }), nil
}

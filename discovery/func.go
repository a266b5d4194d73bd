package discovery

import (
	"context"
	"net/netip"
)

// Func adapts a function to a Provider. Its results are passed through
// unchanged (neither sorted nor deduplicated). A nil Func discovers
// nothing: it returns no addresses and no error.
type Func func(ctx context.Context) ([]netip.AddrPort, error)

// Discover calls f.
func (f Func) Discover(ctx context.Context) ([]netip.AddrPort, error) {
	if f == nil {
		return nil, nil
	}
	return f(ctx)
}

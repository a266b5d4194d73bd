package discovery_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/cloister-go/cloister/discovery"
)

type ctxKey struct{}

func TestFunc(t *testing.T) {
	want := aps(t, "10.0.0.2:1", "10.0.0.1:1") // passed through as is
	var p discovery.Provider = discovery.Func(func(ctx context.Context) ([]netip.AddrPort, error) {
		if ctx.Value(ctxKey{}) != "v" {
			return nil, errors.New("context not passed")
		}
		return want, nil
	})
	got, err := p.Discover(context.WithValue(context.Background(), ctxKey{}, "v"))
	wantAddrs(t, got, err, "10.0.0.2:1", "10.0.0.1:1")

	boom := errors.New("boom")
	_, err = discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return nil, boom }).Discover(context.Background())
	if err != boom {
		t.Fatalf("error %v, want the function's", err)
	}

	got, err = discovery.Func(nil).Discover(context.Background())
	if got != nil || err != nil {
		t.Fatalf("nil Func: %v, %v", got, err)
	}
}

package discovery_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloister-go/cloister/discovery"
)

func TestInvalidOptions(t *testing.T) {
	for name, opt := range map[string]discovery.DNSOption{
		"no server":         discovery.WithServers(),
		"server host name":  discovery.WithServers("dns.example:53"),
		"server bad port":   discovery.WithServers("127.0.0.1:0"),
		"server garbage":    discovery.WithServers("127.0.0.1:53:53"),
		"search not a name": discovery.WithSearch("a b"),
		"ndots negative":    discovery.WithNdots(-1),
		"ndots too large":   discovery.WithNdots(16),
		"timeout zero":      discovery.WithTimeout(0),
		"timeout negative":  discovery.WithTimeout(-time.Second),
		"resolv.conf empty": discovery.WithResolvConf(""),
	} {
		for provider, err := range map[string]error{
			"dns":    func() error { _, err := discovery.NewDNS("app", 1, opt); return err }(),
			"srv":    func() error { _, err := discovery.NewSRV("_x._tcp.app", opt); return err }(),
			"static": func() error { _, err := discovery.NewStatic([]string{"app"}, 1, opt); return err }(),
		} {
			if !errors.Is(err, discovery.ErrInvalidSpec) {
				t.Errorf("%s with %s: %v, want ErrInvalidSpec", provider, name, err)
			}
		}
	}
	if _, err := discovery.NewDNS("app", 1, discovery.WithServers("127.0.0.1", "[::1]:5353"), discovery.WithSearch()); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

func TestBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "10.0.0.1", "::1", "a b", "app..svc", "app:7000"} {
		if _, err := discovery.NewDNS(name, 1); !errors.Is(err, discovery.ErrInvalidSpec) {
			t.Errorf("NewDNS(%q) = %v, want ErrInvalidSpec", name, err)
		}
		if name != "10.0.0.1" && name != "::1" {
			if _, err := discovery.NewSRV(name); !errors.Is(err, discovery.ErrInvalidSpec) {
				t.Errorf("NewSRV(%q) = %v, want ErrInvalidSpec", name, err)
			}
		}
	}
	if _, err := discovery.NewDNS("app", 0); !errors.Is(err, discovery.ErrInvalidSpec) {
		t.Errorf("NewDNS with port 0 = %v, want ErrInvalidSpec", err)
	}
}

// A missing or empty resolv.conf is an ErrLookup at Discover, not at
// construction, and never a panic.
func TestResolvConfUnusable(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, []byte("search test\nnameserver dns.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.conf"), empty, dir} {
		for _, p := range []discovery.Provider{
			must(discovery.NewDNS("app", 1, discovery.WithResolvConf(path))),
			must(discovery.NewSRV("_x._tcp.app", discovery.WithResolvConf(path))),
			must(discovery.NewStatic([]string{"app"}, 1, discovery.WithResolvConf(path))),
		} {
			got, err := p.Discover(context.Background())
			wantErr(t, got, err, discovery.ErrLookup)
		}
	}
	_, err := must(discovery.NewDNS("app", 1, discovery.WithResolvConf(filepath.Join(dir, "missing.conf")))).Discover(context.Background())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %q does not wrap fs.ErrNotExist", err)
	}
}

func must[P discovery.Provider](p P, err error) P {
	if err != nil {
		panic(err)
	}
	return p
}

func TestErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *discovery.Error
		want string
	}{
		{&discovery.Error{Provider: "dns", Name: "app", Err: discovery.ErrNoAddresses}, `discovery: dns "app": no addresses`},
		{&discovery.Error{Provider: "srv"}, `discovery: srv`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	for _, s := range []error{discovery.ErrNoAddresses, discovery.ErrLookup, discovery.ErrMalformed, discovery.ErrInvalidSpec} {
		if len(s.Error()) < len("discovery: x") || s.Error()[:11] != "discovery: " {
			t.Errorf("sentinel %q lacks the prefix", s)
		}
	}
}

package discovery_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloister-go/cloister/discovery"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // the provider's String(), "" for none, "error" for ErrInvalidSpec
	}{
		{"", ""},
		{"   ", ""},
		{"app", "dns app:7946"},
		{" app.ns.svc.cluster.local. ", "dns app.ns.svc.cluster.local.:7946"},
		{"10.0.0.1", "static 10.0.0.1"},
		{"10.0.0.1:7000", "static 10.0.0.1:7000"},
		{"fd00::1", "static fd00::1"},
		{"[fd00::1]:7000", "static [fd00::1]:7000"},
		{"app:7000", "static app:7000"},
		{"10.0.0.1, 10.0.0.2:7000,app", "static 10.0.0.1,10.0.0.2:7000,app"},
		{"app,", "error"},
		{",", "error"},
		{"_cloister._tcp.app.svc", "srv _cloister._tcp.app.svc"},
		{"srv:cloister.app.svc", "srv cloister.app.svc"},
		{"srv: _x._udp.app. ", "srv _x._udp.app."},
		{"srv:", "error"},
		{"srv:a,b", "error"},
		{"_", "srv _"},
		{"app:x", "error"},
		{"app:0", "error"},
		{"10.0.0.256", "error"},
		{"app name", "error"},
		{"dns://app", "error"},
		{"[app]", "error"},
		{"_x:7000", "error"},
	} {
		p, err := discovery.Parse(tc.spec, 7946)
		switch {
		case tc.want == "error":
			if !errors.Is(err, discovery.ErrInvalidSpec) || p != nil {
				t.Errorf("Parse(%q) = %v, %v; want nil and ErrInvalidSpec", tc.spec, p, err)
			}
		case err != nil:
			t.Errorf("Parse(%q): %v", tc.spec, err)
		case tc.want == "":
			if p != nil {
				t.Errorf("Parse(%q) = %v, want no provider", tc.spec, p)
			}
		case p == nil:
			t.Errorf("Parse(%q) = nil, want %s", tc.spec, tc.want)
		default:
			if got := fmt.Sprint(p); got != tc.want {
				t.Errorf("Parse(%q) = %s, want %s", tc.spec, got, tc.want)
			}
		}
	}
}

// Without a default port, a name alone is refused; entries with ports are not.
func TestParseNoDefaultPort(t *testing.T) {
	if _, err := discovery.Parse("app", 0); !errors.Is(err, discovery.ErrInvalidSpec) {
		t.Errorf("Parse(app, 0) = %v, want ErrInvalidSpec", err)
	}
	if _, err := discovery.Parse("10.0.0.1:7000", 0); err != nil {
		t.Errorf("Parse(10.0.0.1:7000, 0): %v", err)
	}
}

// Options reach the provider; bad ones fail Parse.
func TestParseOptions(t *testing.T) {
	_, addr := serveZone(t, "app.test. 1 IN A 127.0.0.2")
	p, err := discovery.Parse("app", 7946, discovery.WithServers(addr), discovery.WithSearch("test"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := discover(t, p)
	wantAddrs(t, got, err, "127.0.0.2:7946")
	if _, err := discovery.Parse("app", 7946, discovery.WithTimeout(0)); !errors.Is(err, discovery.ErrInvalidSpec) {
		t.Errorf("Parse with WithTimeout(0) = %v, want ErrInvalidSpec", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "app", "10.0.0.1,app:7000,[::1]:1", "_cloister._tcp.app.svc", "srv:x.", "[fe80::1%eth0]:7", "a..b", ",,", "srv:", "::ffff:1.2.3.4", "app:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := discovery.Parse(spec, 7946)
		switch {
		case err != nil:
			if p != nil {
				t.Fatalf("Parse(%q) = %v and error %v", spec, p, err)
			}
			if !errors.Is(err, discovery.ErrInvalidSpec) || !strings.HasPrefix(err.Error(), "discovery: ") {
				t.Fatalf("Parse(%q) error %q is not an ErrInvalidSpec", spec, err)
			}
		case p == nil:
			if strings.TrimSpace(spec) != "" {
				t.Fatalf("Parse(%q) = nil, nil for a non-empty spec", spec)
			}
		default:
			if _, ok := p.(fmt.Stringer); !ok {
				t.Fatalf("Parse(%q) = %T, not a provider of this package", spec, p)
			}
		}
	})
}

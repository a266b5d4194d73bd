package discovery_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cloister-go/cloister/discovery"
)

// Issue #12, item 11: a DNS sentry answers names of the hosts file, as the
// system resolver does, before it asks DNS (which here cannot answer: the
// server is a closed port and resolv.conf does not exist).
func TestDNSConsultsTheHostsFile(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	err := os.WriteFile(hosts, []byte(`# a comment
127.0.0.1	localhost
::1	localhost ip6-localhost   # trailing comment
10.0.0.7 app.internal App
bogus line
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	opts := []discovery.DNSOption{discovery.WithHostsFile(hosts), discovery.WithResolvConf(filepath.Join(dir, "missing.conf"))}
	for name, want := range map[string][]string{
		"localhost": {"127.0.0.1:4747", "[::1]:4747"},
		"app":       {"10.0.0.7:4747"},
		"APP.":      {"10.0.0.7:4747"},
	} {
		d, err := discovery.NewDNS(name, 4747, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Discover(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var gotS []string
		for _, a := range got {
			gotS = append(gotS, a.String())
		}
		if !slices.Equal(gotS, want) {
			t.Errorf("%s: %v, want %v", name, gotS, want)
		}
	}
	// Names not in the file still go to DNS (which fails here).
	d, _ := discovery.NewDNS("elsewhere", 4747, opts...)
	if _, err := d.Discover(context.Background()); err == nil {
		t.Error("a name in no hosts file and no DNS resolved")
	}
	// The hosts file is read at every poll.
	if err := os.WriteFile(hosts, []byte("10.0.0.8 app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, _ = discovery.NewDNS("app", 4747, opts...)
	if got, err := d.Discover(context.Background()); err != nil || len(got) != 1 || got[0] != netip.MustParseAddrPort("10.0.0.8:4747") {
		t.Errorf("after the hosts file changed: %v, %v", got, err)
	}
}

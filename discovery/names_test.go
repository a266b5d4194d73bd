package discovery

import (
	"os"
	"slices"
	"testing"
)

func TestCandidates(t *testing.T) {
	search := []string{"ns.svc.", "svc."}
	for _, tc := range []struct {
		name  string
		ndots int
		want  []string
	}{
		{"app.", 5, []string{"app."}},
		{"app", 1, []string{"app.ns.svc.", "app.svc.", "app."}},
		{"app.ns", 1, []string{"app.ns.", "app.ns.ns.svc.", "app.ns.svc."}},
		{"app.ns", 2, []string{"app.ns.ns.svc.", "app.ns.svc.", "app.ns."}},
		{"app", 0, []string{"app.", "app.ns.svc.", "app.svc."}},
	} {
		if got := candidates(tc.name, search, tc.ndots); !slices.Equal(got, tc.want) {
			t.Errorf("candidates(%q, ndots %d) = %v, want %v", tc.name, tc.ndots, got, tc.want)
		}
	}
	long := string(make([]byte, 250))
	if got := candidates(long, search, 1); len(got) != 1 {
		t.Errorf("names over 254 characters kept: %d candidates", len(got))
	}
}

// resolv.conf gives servers (IP addresses only), search list and ndots;
// WithSearch and WithNdots override them.
func TestConfFromResolvConf(t *testing.T) {
	path := t.TempDir() + "/resolv.conf"
	writeFile(t, path, "nameserver 10.0.0.53\nnameserver fd00::53\nnameserver dns.example\nsearch ns.svc svc bad..name\noptions ndots:5 timeout:9\n")
	r := resolver{opts: options{resolvConf: path}}
	c, err := r.conf()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.53:53", "[fd00::53]:53"}; !slices.Equal(c.servers, want) {
		t.Errorf("servers %v, want %v", c.servers, want)
	}
	if want := []string{"ns.svc.", "svc."}; !slices.Equal(c.search, want) || c.ndots != 5 {
		t.Errorf("search %v ndots %d, want %v and 5", c.search, c.ndots, want)
	}

	o, err := buildOptions([]DNSOption{WithResolvConf(path), WithSearch("x.test."), WithNdots(2)})
	if err != nil {
		t.Fatal(err)
	}
	r = resolver{opts: o}
	if c, err = r.conf(); err != nil || !slices.Equal(c.search, []string{"x.test."}) || c.ndots != 2 {
		t.Errorf("overridden: %+v, %v", c, err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

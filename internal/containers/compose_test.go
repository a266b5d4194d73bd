package containers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The only addresses this test may reach: its own podman network is made
// inside this block, and every container address is checked against it
// before the test sends anything there.
var testRange = netip.MustParsePrefix("198.18.0.0/15")

// containersConf configures podman for this test only (CONTAINERS_CONF):
// runc (crun refuses this kind of machine's cgroup layout), no default
// ulimits (podman's exceed the hard limits here), and networks, should any
// be made without a subnet, inside testRange.
const containersConf = `[containers]
default_ulimits = []

[network]
default_subnet = "198.18.8.0/24"
default_subnet_pools = [{"base" = "198.18.64.0/20", "size" = 24}]

[engine]
runtime = "runc"
`

// podmanEnv runs podman and podman-compose for one test.
type podmanEnv struct {
	t    *testing.T
	conf string
	dir  string // podman-compose runs here
}

func (p *podmanEnv) cmd(ctx context.Context, name string, args ...string) (string, error) {
	c := exec.CommandContext(ctx, name, args...)
	c.Dir = p.dir
	c.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (p *podmanEnv) podman(ctx context.Context, args ...string) string {
	p.t.Helper()
	out, err := p.cmd(ctx, "podman", args...)
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// skipUnlessContainers skips with the reason when containers cannot run.
func skipUnlessContainers(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds an image and runs containers")
	}
	if runtime.GOOS != "linux" {
		t.Skip("containers: Linux only")
	}
	if os.Geteuid() != 0 {
		t.Skip("containers: needs root (rootful podman, so that the host reaches the containers' addresses)")
	}
	for _, tool := range []string{"podman", "podman-compose", "runc", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("containers: %s is not installed (.ci/run installs podman, podman-compose and runc with apt-get)", tool)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func run(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) string {
	t.Helper()
	c := exec.CommandContext(ctx, name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The compose promise in real containers: `cloister init` in a copy of
// examples/hello, its compose.yaml brought up by podman-compose (3 replicas
// through deploy.replicas, the service name as sentry, the secret from the
// file init made), all 3 Ready on one view; one container killed and a
// replacement with a new address started from the same file: it rejoins and
// the old address leaves every view.
func TestComposeFileRunsACluster(t *testing.T) {
	skipUnlessContainers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	mod := filepath.Join(tmp, "hello")
	p := &podmanEnv{t: t, conf: filepath.Join(tmp, "containers.conf"), dir: mod}
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.conf, []byte(containersConf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := p.cmd(ctx, "podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"); err != nil {
		t.Skipf("containers: podman cannot run here: %v", err)
	} else {
		t.Logf("podman runtime: %s", strings.TrimSpace(out))
	}

	// The user's module: examples/hello, with a replace to this repository.
	start := time.Now()
	src, err := os.ReadFile(filepath.Join(repo, "examples/hello/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := fmt.Sprintf("module example.com/hello\n\ngo 1.26\n\nrequire github.com/cloister-go/cloister v0.0.0\n\nreplace github.com/cloister-go/cloister => %s\n", repo)
	for name, data := range map[string][]byte{"main.go": src, "go.sum": sum, "go.mod": []byte(gomod)} {
		if err := os.WriteFile(filepath.Join(mod, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goEnv := []string{"GOWORK=off", "GOFLAGS=-mod=mod"}
	cli := filepath.Join(tmp, "cloister")
	run(t, ctx, repo, goEnv, "go", "build", "-o", cli, "./cmd/cloister")

	// cloister init, as a user would run it.
	suffix := randomHex(4)
	image := "localhost/cloister-compose-test-" + suffix + ":latest"
	t.Logf("cloister init:\n%s", run(t, ctx, mod, nil, cli, "init", "--app", "hello", "--image", image))
	compose, err := os.ReadFile(filepath.Join(mod, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"replicas: 3", "CLOISTER_SENTRY: hello\n", "CLOISTER_SECRET_FILE: /run/secrets/cloister", "file: ./cloister.secret"} {
		if !bytes.Contains(compose, []byte(want)) {
			t.Fatalf("compose.yaml lacks %q:\n%s", want, compose)
		}
	}
	dockerfile, err := os.ReadFile(filepath.Join(mod, "Dockerfile"))
	if err != nil || !bytes.Contains(dockerfile, []byte("CGO_ENABLED=0 go build")) {
		t.Fatalf("Dockerfile (%v):\n%s", err, dockerfile)
	}

	// The Dockerfile's build stage, done on the host (no registry is
	// reachable for golang or distroless): a static binary FROM scratch.
	run(t, ctx, mod, append(goEnv, "CGO_ENABLED=0"), "go", "build", "-trimpath", "-o", "hello", ".")
	if err := os.WriteFile(filepath.Join(tmp, "Containerfile"), []byte("FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	project := "cloistertest" + suffix
	network := project + "_default" // the network podman-compose uses for the project
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer ccancel()
		if _, err := p.cmd(cctx, "podman-compose", "-p", project, "down", "-t", "2"); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if ids, err := p.cmd(cctx, "podman", "ps", "-a", "-q", "--filter", "label=io.podman.compose.project="+project); err == nil && strings.TrimSpace(ids) != "" {
			if _, err := p.cmd(cctx, "podman", append([]string{"rm", "-f", "-t", "0"}, strings.Fields(ids)...)...); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		if _, err := p.cmd(cctx, "podman", "network", "rm", "-f", network); err != nil && !strings.Contains(err.Error(), "no such network") {
			t.Logf("cleanup: %v", err)
		}
		if _, err := p.cmd(cctx, "podman", "rmi", "-f", image); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	p.podman(ctx, "build", "-q", "-t", image, "-f", filepath.Join(tmp, "Containerfile"), mod)

	// The project's network, made here inside testRange (podman-compose
	// uses a network of this name if it exists).
	var subnet netip.Prefix
	for try := 0; ; try++ {
		b := make([]byte, 1)
		_, _ = rand.Read(b)
		subnet = netip.MustParsePrefix(fmt.Sprintf("198.18.%d.0/24", 128+int(b[0])%128))
		if _, err := p.cmd(ctx, "podman", "network", "create", "--subnet", subnet.String(),
			"--label", "io.podman.compose.project="+project, network); err == nil {
			break
		} else if try == 5 {
			t.Fatal(err)
		}
	}
	if got := p.podman(ctx, "network", "inspect", network, "--format", "{{range .Subnets}}{{.Subnet}} {{end}}"); got != subnet.String() {
		t.Fatalf("network %s has subnets %q, want only %s", network, got, subnet)
	}
	t.Logf("module, binary, image and network %s (%s) ready in %v", network, subnet, time.Since(start).Round(time.Millisecond))

	// podman-compose up, on the file cloister init wrote.
	start = time.Now()
	if out, err := p.cmd(ctx, "podman-compose", "-p", project, "-f", "compose.yaml", "up", "-d"); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "--network-alias hello") || !strings.Contains(out, "/run/secrets/cloister") {
		t.Fatalf("podman-compose did not give the service name as alias and mount the secret:\n%s", out)
	}
	c := &cluster{t: t, p: p, project: project, subnet: subnet, client: &http.Client{Timeout: 2 * time.Second}}
	first := c.waitOneView(ctx, 3, 2*time.Minute, netip.Addr{})
	t.Logf("3 containers Ready on one view of %v in %v", first.addrs(), time.Since(start).Round(time.Millisecond))

	// Kill one (a crash: SIGKILL), remove it, and let podman-compose start
	// its replacement from the same file: a new container, a new address.
	victim := project + "_hello_2"
	old := c.ip(ctx, victim)
	start = time.Now()
	p.podman(ctx, "kill", victim)
	p.podman(ctx, "rm", victim)
	// The second up starts only the missing replica; it reports the others
	// as names in use, so its exit status says nothing.
	out, _ := p.cmd(ctx, "podman-compose", "-p", project, "-f", "compose.yaml", "up", "-d")
	if state := p.podman(ctx, "inspect", victim, "--format", "{{.State.Status}}"); state != "running" {
		t.Fatalf("replacement %s is %s:\n%s", victim, state, out)
	}
	if repl := c.ip(ctx, victim); repl == old {
		t.Fatalf("the replacement got the old address %s again: nothing would be shown", old)
	} else {
		t.Logf("killed %s at %s; replacement at %s", victim, old, repl)
	}
	second := c.waitOneView(ctx, 3, 2*time.Minute, old)
	if second.viewID == first.viewID {
		t.Fatal("the view did not change")
	}
	t.Logf("replacement rejoined, %s left every view, all 3 Ready on %v in %v", old, second.addrs(), time.Since(start).Round(time.Millisecond))
}

type cluster struct {
	t       *testing.T
	p       *podmanEnv
	project string
	subnet  netip.Prefix
	client  *http.Client
}

// ip is the container's address on the project network, checked to be in
// the test's subnet.
func (c *cluster) ip(ctx context.Context, name string) netip.Addr {
	c.t.Helper()
	s := c.p.podman(ctx, "inspect", name, "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}")
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !c.subnet.Contains(a) || !testRange.Contains(a) {
		c.t.Fatalf("container %s has address %q, not one in %s", name, s, c.subnet)
	}
	return a
}

type view struct {
	viewID  string
	members []string // addr of each member
}

func (v view) addrs() []string { return v.members }

type snapshot struct {
	State   string `json:"state"`
	Quorate bool   `json:"quorate"`
	Term    uint64 `json:"term"`
	View    struct {
		ID      string `json:"id"`
		Members []struct {
			Addr string `json:"addr"`
		} `json:"members"`
	} `json:"view"`
}

// waitOneView polls, up to limit, until n containers run, each answers
// /readyz 200, and their /cluster views are one view whose members are
// exactly the containers' addresses (so gone, if valid, is in none).
func (c *cluster) waitOneView(ctx context.Context, n int, limit time.Duration, gone netip.Addr) view {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	last := "nothing polled"
	for {
		v, why := c.oneView(ctx, n, gone)
		if why == "" {
			return v
		}
		last = why
		if time.Now().After(deadline) || ctx.Err() != nil {
			logs, _ := c.p.cmd(context.Background(), "podman", "ps", "-a", "--filter", "label=io.podman.compose.project="+c.project)
			c.t.Fatalf("no single view of %d Ready containers after %v: %s\n%s", n, limit, last, logs)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *cluster) oneView(ctx context.Context, n int, gone netip.Addr) (view, string) {
	names := strings.Fields(c.p.podman(ctx, "ps", "-q", "--filter", "label=io.podman.compose.project="+c.project, "--format", "{{.Names}}"))
	if len(names) != n {
		return view{}, fmt.Sprintf("%d containers running: %q", len(names), names)
	}
	var want []string
	for _, name := range names {
		want = append(want, netip.AddrPortFrom(c.ip(ctx, name), 4747).String())
	}
	slices.Sort(want)
	var first view
	for i, addr := range want {
		host := netip.MustParseAddrPort(addr).Addr()
		if code, body := c.get(ctx, host, "/readyz"); code != http.StatusOK {
			return view{}, fmt.Sprintf("%s /readyz: %d %s", host, code, body)
		}
		code, body := c.get(ctx, host, "/cluster")
		if code != http.StatusOK {
			return view{}, fmt.Sprintf("%s /cluster: %d %s", host, code, body)
		}
		var s snapshot
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			return view{}, fmt.Sprintf("%s /cluster: %v", host, err)
		}
		v := view{viewID: s.View.ID}
		for _, m := range s.View.Members {
			v.members = append(v.members, m.Addr)
		}
		slices.Sort(v.members)
		if s.State != "ready" || !s.Quorate {
			return view{}, fmt.Sprintf("%s is %s (quorate %v)", host, s.State, s.Quorate)
		}
		if !slices.Equal(v.members, want) {
			return view{}, fmt.Sprintf("%s sees %v, the containers are %v", host, v.members, want)
		}
		if gone.IsValid() && slices.Contains(v.members, netip.AddrPortFrom(gone, 4747).String()) {
			return view{}, fmt.Sprintf("%s still sees %s", host, gone)
		}
		if i == 0 {
			first = v
		} else if v.viewID != first.viewID {
			return view{}, fmt.Sprintf("views differ: %s and %s", first.viewID, v.viewID)
		}
	}
	return first, ""
}

// get asks a container's HTTP port; the address must be in the test's
// network.
func (c *cluster) get(ctx context.Context, host netip.Addr, path string) (int, string) {
	if !c.subnet.Contains(host) || !testRange.Contains(host) {
		c.t.Fatalf("refusing to send to %s: not in %s", host, c.subnet)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+netip.AddrPortFrom(host, 8080).String()+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// benchNet is the only range the lab uses: 198.18.0.0/15, reserved for
// benchmarking networks (RFC 2544), never routed on the Internet.
var benchNet = netip.MustParsePrefix("198.18.0.0/15")

// netnsDir is where `ip netns exec NS` finds files to bind-mount over /etc.
const netnsDir = "/etc/netns"

// ipTimeout bounds one ip command.
const ipTimeout = 10 * time.Second

// lab is a throwaway network: one bridge in the root namespace holding the
// gateway address .1 of a /24 in 198.18.0.0/15, and hosts, each a network
// namespace joined to the bridge by a veth pair whose inner end is eth0.
// Everything it creates is removed by t.Cleanup, even when the test fails.
type lab struct {
	t       *testing.T
	ipCmd   string
	nftCmd  string     // set by requireNft
	prefix  string     // unique per run: every name created starts with it
	subnet  [3]byte    // the /24 is subnet.0/24
	gateway netip.Addr // subnet.1, on the bridge
	bridge  string
	hosts   []*host

	// What exists, for the cleanup.
	bridgeUp    bool
	veths       []string
	namespaces  []string
	etcDirs     []string
	madeNetnsDr bool
	cut         []*host // hosts holding partitionTable
}

// host is one network namespace on the lab's bridge.
type host struct {
	Name string // the namespace
	veth string // the veth's end in the root namespace
	Addr netip.Addr
}

// requireNetns skips the test unless it can create network namespaces:
// Linux, root, the ip command, and a working `ip netns add`. It returns the
// path of ip.
func requireNetns(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("network namespaces need Linux, this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		t.Skip("creating network namespaces needs root: run as root (sudo go test ./internal/e2e/)")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Skipf("creating network namespaces needs the ip command (iproute2): %v", err)
	}
	probe := "clst" + randomHex(t, 3) + "probe"
	if out, err := runIP(ipCmd, "netns", "add", probe); err != nil {
		t.Skipf("cannot create a network namespace (ip netns add %s: %v): %s", probe, err, out)
	}
	if out, err := runIP(ipCmd, "netns", "del", probe); err != nil {
		t.Fatalf("ip netns del %s: %v: %s", probe, err, out)
	}
	return ipCmd
}

// newLab creates the bridge and n hosts, addressed .11, .12, ... Hosts
// resolve names through nameserver .1 (the gateway) with the search
// domain given.
func newLab(t *testing.T, ipCmd string, n int, search string) *lab {
	t.Helper()
	l := &lab{t: t, ipCmd: ipCmd, prefix: "clst" + randomHex(t, 3)}
	l.bridge = l.prefix + "br"
	t.Cleanup(l.teardown)

	unlock := lockLabs(t)
	l.subnet = freeSubnet(t)
	l.gateway = l.addr(1)
	if out, err := l.ip("link", "add", l.bridge, "type", "bridge"); err != nil {
		unlock()
		t.Skipf("cannot create a bridge (ip link add %s type bridge: %v): %s", l.bridge, err, out)
	}
	l.bridgeUp = true
	l.must("addr", "add", l.gateway.String()+"/24", "dev", l.bridge)
	unlock()
	l.must("link", "set", l.bridge, "up")
	t.Logf("lab %s: bridge %s %s/24", l.prefix, l.bridge, l.gateway)

	for i := range n {
		l.addHost(fmt.Sprintf("h%d", i+1), l.addr(byte(11+i)), search)
	}
	return l
}

// labLock is an abstract Unix socket (no file, gone with its process) that
// one lab at a time holds while it picks a subnet and claims it.
const labLock = "@cloister-e2e-netns-subnet"

// lockLabs waits until this process holds labLock and returns its release.
func lockLabs(t *testing.T) (unlock func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: labLock, Net: "unix"})
		if err == nil {
			return func() { ln.Close() }
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("another lab held %s for 30s: %v", labLock, err)
		}
	}
}

// freeSubnet picks a /24 of 198.18.0.0/15 that no interface of the root
// namespace has an address in, preferring 198.18.0.0/24, so that a
// leftover or concurrent lab does not clash.
func freeSubnet(t *testing.T) [3]byte {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("listing interface addresses: %v", err)
	}
	used := map[[3]byte]bool{}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || !p.Addr().Is4() || !benchNet.Contains(p.Addr()) {
			continue
		}
		b := p.Addr().As4()
		used[[3]byte{b[0], b[1], b[2]}] = true
	}
	for second := byte(18); second <= 19; second++ {
		for third := 0; third < 256; third++ {
			s := [3]byte{198, second, byte(third)}
			if !used[s] {
				return s
			}
		}
	}
	t.Fatal("every /24 of 198.18.0.0/15 is in use in the root namespace")
	return [3]byte{}
}

// addr is the address with last byte b in the lab's /24.
func (l *lab) addr(b byte) netip.Addr {
	return netip.AddrFrom4([4]byte{l.subnet[0], l.subnet[1], l.subnet[2], b})
}

// addHost creates a namespace on the bridge at addr, with lo and eth0 up
// and a resolv.conf pointing at the gateway, and checks that `ip netns
// exec` sees both.
func (l *lab) addHost(label string, addr netip.Addr, search string) *host {
	l.t.Helper()
	h := &host{Name: l.prefix + label, veth: l.prefix + "v" + strings.TrimPrefix(label, "h"), Addr: addr}
	if !benchNet.Contains(addr) {
		l.t.Fatalf("%v is outside %v", addr, benchNet)
	}
	l.must("netns", "add", h.Name)
	l.namespaces = append(l.namespaces, h.Name)
	l.must("link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.Name)
	l.veths = append(l.veths, h.veth)
	l.must("link", "set", h.veth, "master", l.bridge)
	l.must("link", "set", h.veth, "up")
	l.must("-n", h.Name, "addr", "add", addr.String()+"/24", "dev", "eth0")
	l.must("-n", h.Name, "link", "set", "eth0", "up")
	l.must("-n", h.Name, "link", "set", "lo", "up")

	if _, err := os.Stat(netnsDir); os.IsNotExist(err) {
		l.madeNetnsDr = true
	}
	dir := filepath.Join(netnsDir, h.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatalf("creating %s: %v", dir, err)
	}
	l.etcDirs = append(l.etcDirs, dir)
	conf := fmt.Sprintf("# written by cloister's e2e test; removed when it ends\nnameserver %s\nsearch %s\n", l.gateway, search)
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(conf), 0o644); err != nil {
		l.t.Fatalf("writing resolv.conf: %v", err)
	}

	// What a process started with `ip netns exec` sees.
	if out := l.must("netns", "exec", h.Name, l.ipCmd, "-4", "addr", "show", "dev", "eth0"); !strings.Contains(out, " "+addr.String()+"/24 ") {
		l.t.Fatalf("ip netns exec %s ip addr: %s not on eth0:\n%s", h.Name, addr, out)
	}
	cat, err := exec.LookPath("cat")
	if err == nil {
		if out := l.must("netns", "exec", h.Name, cat, "/etc/resolv.conf"); !strings.Contains(out, "nameserver "+l.gateway.String()) {
			l.t.Fatalf("ip netns exec %s: /etc/resolv.conf is not the lab's:\n%s", h.Name, out)
		}
	}
	l.hosts = append(l.hosts, h)
	return h
}

// setAddr moves h to a new address, as a host that comes back from a
// reboot with another DHCP lease: the old address is removed first.
func (l *lab) setAddr(h *host, addr netip.Addr) {
	l.t.Helper()
	if !benchNet.Contains(addr) {
		l.t.Fatalf("%v is outside %v", addr, benchNet)
	}
	l.must("-n", h.Name, "addr", "del", h.Addr.String()+"/24", "dev", "eth0")
	l.must("-n", h.Name, "addr", "add", addr.String()+"/24", "dev", "eth0")
	h.Addr = addr
}

// command returns a command running argv inside h's namespace (and
// resolv.conf) through `ip netns exec`, which execs argv: the process is
// the program itself, so signals reach it directly.
func (l *lab) command(h *host, argv ...string) *exec.Cmd {
	return exec.Command(l.ipCmd, append([]string{"netns", "exec", h.Name}, argv...)...)
}

func (l *lab) ip(args ...string) (string, error) { return runIP(l.ipCmd, args...) }

func (l *lab) must(args ...string) string {
	l.t.Helper()
	out, err := l.ip(args...)
	if err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// teardown removes, in order, the veths (deleting a namespace removes its
// veth pair only asynchronously), the namespaces, the bridge and the
// resolv.conf directories, then checks that nothing named after the run
// is left.
func (l *lab) teardown() {
	gone := func(out string) bool {
		return strings.Contains(out, "Cannot find device") || strings.Contains(out, "No such file")
	}
	for _, v := range l.veths {
		if out, err := l.ip("link", "del", v); err != nil && !gone(out) {
			l.t.Errorf("teardown: ip link del %s: %v: %s", v, err, out)
		}
	}
	for _, ns := range l.namespaces {
		if out, err := l.ip("netns", "del", ns); err != nil && !gone(out) {
			l.t.Errorf("teardown: ip netns del %s: %v: %s", ns, err, out)
		}
	}
	if l.bridgeUp {
		if out, err := l.ip("link", "del", l.bridge); err != nil && !gone(out) {
			l.t.Errorf("teardown: ip link del %s: %v: %s", l.bridge, err, out)
		}
	}
	for _, d := range l.etcDirs {
		if err := os.RemoveAll(d); err != nil {
			l.t.Errorf("teardown: %v", err)
		}
	}
	if l.madeNetnsDr {
		_ = os.Remove(netnsDir) // only if still empty
	}

	links, _ := l.ip("-o", "link", "show")
	nss, _ := l.ip("netns", "list")
	for _, line := range strings.Split(links+nss, "\n") {
		if strings.Contains(line, l.prefix) {
			l.t.Errorf("teardown: left behind: %s", strings.TrimSpace(line))
		}
	}
}

// partitionTable is the nftables table that partition installs in a
// host's namespace and heal deletes.
const partitionTable = "cloister_e2e_partition"

// requireNft skips the test unless nft can install a table inside the
// lab's namespaces (the nft command, nf_tables in the kernel). Call it
// after newLab; the probe runs in the first host.
func (l *lab) requireNft() {
	l.t.Helper()
	nft, err := exec.LookPath("nft")
	if err != nil {
		l.t.Skipf("cutting traffic between hosts needs the nft command (nftables: apt-get install nftables): %v", err)
	}
	l.nftCmd = nft
	h := l.hosts[0]
	if out, err := l.nft(h, "table inet "+partitionTable+" {}\n"); err != nil {
		l.t.Skipf("cannot install an nftables table in a namespace (ip netns exec %s nft: %v): %s", h.Name, err, out)
	}
	if out, err := l.nft(h, "delete table inet "+partitionTable+"\n"); err != nil {
		l.t.Fatalf("ip netns exec %s nft delete table: %v: %s", h.Name, err, out)
	}
}

// partition cuts all IP traffic (TCP, UDP and ICMP alike) between hosts
// of different groups, as a failed link between two racks would: packets
// are dropped without a trace, not rejected, so connections hang until
// their timeouts. Traffic within a group, and every host's traffic with
// the gateway (the DNS server, the test's HTTP client), is untouched, as
// are hosts in no group. Each host of a group gets, in its own namespace,
// an inet table partitionTable dropping input from and output to the
// addresses of every host of the other groups; heal deletes the tables.
// Hosts must keep their addresses while the partition lasts.
func (l *lab) partition(groups ...[]*host) {
	l.t.Helper()
	if len(l.cut) > 0 {
		l.t.Fatal("partition: the lab is already partitioned; heal it first")
	}
	for i, g := range groups {
		var others []string
		for j, o := range groups {
			if j == i {
				continue
			}
			for _, h := range o {
				if !h.Addr.Is4() {
					l.t.Fatalf("partition: %s has %v; the lab is IPv4 only", h.Name, h.Addr)
				}
				others = append(others, h.Addr.String())
			}
		}
		if len(others) == 0 {
			continue
		}
		set := "{ " + strings.Join(others, ", ") + " }"
		script := "table inet " + partitionTable + " {\n" +
			"\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip saddr " + set + " drop\n\t}\n" +
			"\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t\tip daddr " + set + " drop\n\t}\n" +
			"}\n"
		for _, h := range g {
			if out, err := l.nft(h, script); err != nil {
				l.t.Fatalf("partition: ip netns exec %s nft -f -: %v: %s\n%s", h.Name, err, out, script)
			}
			l.cut = append(l.cut, h)
		}
	}
}

// heal restores the traffic partition cut, by deleting its tables.
func (l *lab) heal() {
	l.t.Helper()
	for _, h := range l.cut {
		if out, err := l.nft(h, "delete table inet "+partitionTable+"\n"); err != nil {
			l.t.Fatalf("heal: ip netns exec %s nft delete table: %v: %s", h.Name, err, out)
		}
	}
	l.cut = nil
}

// nft runs an nft script (`nft -f -`) inside h's namespace and returns
// its combined output.
func (l *lab) nft(h *host, script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.ipCmd, "netns", "exec", h.Name, l.nftCmd, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// runIP runs ip with args and returns its combined output.
func runIP(ipCmd string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, ipCmd, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

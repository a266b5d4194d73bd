package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloister-go/cloister"
)

// demoProc is one agent process of the demo.
type demoProc struct {
	index    int
	gossip   string // 127.0.0.1:port
	http     string // 127.0.0.1:port
	cmd      *exec.Cmd
	exited   chan struct{}
	stdoutWG sync.WaitGroup
}

// demo runs a local cluster of agent processes and narrates it.
type demo struct {
	out     io.Writer
	outMu   sync.Mutex
	exe     string
	env     []string
	procs   []*demoProc
	timeout time.Duration

	leftMu sync.Mutex
	leftAt map[string][]time.Time // member name: when each node reported it left
}

// name is the node's member name: the demo's app at its gossip address.
func (p *demoProc) name() string { return "demo@" + p.gossip }

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	n := fs.Int("n", 3, "number of nodes (2 to 20)")
	keep := fs.Bool("keep", false, "keep the cluster running after the tour, until Ctrl-C")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on each step of the tour")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *n < 2 || *n > 20 {
		return fmt.Errorf("-n must be between 2 and 20, got %d", *n)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	d := &demo{out: stdout, exe: exe, timeout: *timeout}
	defer d.stopAll()
	return d.tour(ctx, *n, *keep)
}

func (d *demo) say(format string, args ...any) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	fmt.Fprintf(d.out, format+"\n", args...)
}

func (d *demo) tour(ctx context.Context, n int, keep bool) error {
	consensus := n/2 + 1
	secret := make([]byte, 24)
	_, _ = rand.Read(secret)
	var gossip []string
	for i := range n {
		g, h, err := freePorts()
		if err != nil {
			return err
		}
		d.procs = append(d.procs, &demoProc{index: i + 1, gossip: g, http: h})
		gossip = append(gossip, g)
	}
	// The secret travels in the environment, never on a command line.
	d.env = append(os.Environ(),
		cloister.EnvApp+"=demo",
		cloister.EnvSentry+"="+strings.Join(gossip, ","),
		fmt.Sprintf("%s=%d", cloister.EnvConsensus, consensus),
		cloister.EnvSecret+"="+hex.EncodeToString(secret),
		cloister.EnvDetection+"=local",
	)
	d.say("== starting %d nodes on loopback (consensus %d: a majority)", n, consensus)
	for _, p := range d.procs {
		d.say("   node%d is %s: gossip and calls on %s, /cluster at http://%s/cluster, dashboard at http://%s/dashboard/",
			p.index, p.name(), p.gossip, p.http, p.http)
	}
	start := time.Now()
	for _, p := range d.procs {
		if err := d.launch(p); err != nil {
			return err
		}
	}
	if err := d.waitAgreed(ctx, d.procs, "all nodes Ready"); err != nil {
		return err
	}
	d.say("== cluster assembled in %v", time.Since(start).Round(time.Millisecond))
	d.table(ctx, d.procs[0])
	owners := d.owners(ctx, d.procs[0], nil)

	victim := d.procs[n-1]
	survivors := d.procs[:n-1]
	d.say("\n== kill -9 node%d (%s): the others detect the crash and rehash", victim.index, victim.gossip)
	killed := time.Now()
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	if err := d.waitAgreed(ctx, survivors, "survivors Ready without node"+fmt.Sprint(victim.index)); err != nil {
		return err
	}
	d.say("== survivors agreed on a new view %v after the kill", time.Since(killed).Round(time.Millisecond))
	d.table(ctx, d.procs[0])
	owners = d.owners(ctx, d.procs[0], owners)

	d.say("\n== restarting node%d at the same address: a new incarnation", victim.index)
	back := time.Now()
	if err := d.launch(victim); err != nil {
		return err
	}
	if err := d.waitAgreed(ctx, d.procs, "all nodes Ready again"); err != nil {
		return err
	}
	d.say("== node%d back and agreed in %v", victim.index, time.Since(back).Round(time.Millisecond))
	d.table(ctx, d.procs[0])
	owners = d.owners(ctx, d.procs[0], owners)

	leaver := d.procs[1]
	d.say("\n== node%d leaves gracefully (SIGTERM): the others see it as left, without waiting for failure detection, and the keys it owned move", leaver.index)
	left := time.Now()
	_ = leaver.cmd.Process.Signal(syscall.SIGTERM)
	rest := append([]*demoProc{d.procs[0]}, d.procs[2:]...)
	if err := d.waitAgreed(ctx, rest, "the rest Ready without node"+fmt.Sprint(leaver.index)); err != nil {
		return err
	}
	agreedAfter := time.Since(left)
	if seen, ok := d.seenLeft(ctx, leaver.name(), len(rest)); ok {
		d.say("== seen as left by the others %v after the SIGTERM; the rest agreed on a new view %v after it",
			seen.Sub(left).Round(time.Millisecond), agreedAfter.Round(time.Millisecond))
	} else {
		d.say("== the rest agreed on a new view %v after the SIGTERM", agreedAfter.Round(time.Millisecond))
	}
	d.owners(ctx, d.procs[0], owners)
	<-leaver.exited
	d.say("\n== restarting node%d so that the tour ends with every node (a new incarnation at %s)", leaver.index, leaver.gossip)
	if err := d.launch(leaver); err != nil {
		return err
	}
	if err := d.waitAgreed(ctx, d.procs, "all nodes Ready again"); err != nil {
		return err
	}

	if keep {
		d.say("\n== cluster running; status at:")
		for _, p := range d.procs {
			d.say("   cloister members --addr %s", p.http)
		}
		d.say("== press Ctrl-C to stop")
		<-ctx.Done()
	}
	d.say("\n== stopping every node gracefully (SIGTERM: leave)")
	d.stopAll()
	d.say("== done")
	return nil
}

// launch starts the agent process of p and relays its events.
func (d *demo) launch(p *demoProc) error {
	cmd := exec.Command(d.exe, "agent", "--json", "--bind", p.gossip, "--http", p.http)
	cmd.Env = d.env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start node%d: %w", p.index, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	p.stdoutWG.Add(1)
	go func() {
		defer p.stdoutWG.Done()
		d.relay(p, out)
	}()
	go func() {
		p.stdoutWG.Wait()
		_ = cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// relay prints a node's state changes and member events, prefixed.
func (d *demo) relay(p *demoProc, r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev["event"] {
		case "state":
			d.say("  node%d  state %v -> %v (%v members)", p.index, ev["from"], ev["to"], ev["members"])
		case "up":
			d.say("  node%d  member up    %v", p.index, ev["member"])
		case "down":
			d.say("  node%d  member down  %v (%v)", p.index, ev["member"], ev["reason"])
			if name, ok := ev["member"].(string); ok && ev["reason"] == "left" {
				at := time.Now()
				if t, ok := ev["t"].(float64); ok {
					at = time.Unix(0, int64(t)) // when the node printed it
				}
				d.leftMu.Lock()
				if d.leftAt == nil {
					d.leftAt = map[string][]time.Time{}
				}
				d.leftAt[name] = append(d.leftAt[name], at)
				d.leftMu.Unlock()
			}
		}
	}
}

// seenLeft waits, within the demo's timeout, until count nodes have
// reported member name left, and returns when the last one did.
func (d *demo) seenLeft(ctx context.Context, name string, count int) (time.Time, bool) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		d.leftMu.Lock()
		seen := d.leftAt[name]
		var last time.Time
		if len(seen) >= count {
			for _, t := range seen[len(seen)-count:] {
				if t.After(last) {
					last = t
				}
			}
		}
		d.leftMu.Unlock()
		if !last.IsZero() {
			return last, true
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}

// waitAgreed polls the nodes' /cluster until every one is Ready with the
// same view holding exactly these nodes.
func (d *demo) waitAgreed(ctx context.Context, procs []*demoProc, what string) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if d.agreed(ctx, procs) {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

func (d *demo) agreed(ctx context.Context, procs []*demoProc) bool {
	var view cloister.ViewID
	for i, p := range procs {
		s, _, err := fetchSnapshot(ctx, p.http)
		if err != nil || s.StateName != cloister.Ready.String() || len(s.View.Members) != len(procs) {
			return false
		}
		if i > 0 && s.View.ID != view {
			return false
		}
		view = s.View.ID
		for _, m := range s.View.Members { // and every member has said so
			if m.StateName != cloister.Ready.String() || m.ViewID != view {
				return false
			}
		}
	}
	return true
}

// demoKeys are the keys whose owners the tour follows.
var demoKeys = []string{"user:1", "user:2", "user:3", "cart:42", "cart:43", "order:7", "session:abc", "invoice:99"}

// owners prints who owns each demo key, marking keys whose owner changed
// since prev, and returns the owners.
func (d *demo) owners(ctx context.Context, p *demoProc, prev map[string]string) map[string]string {
	now := map[string]string{}
	moved := 0
	d.say("  who owns what (asked node%d; every Ready node answers the same):", p.index)
	for _, key := range demoKeys {
		ans, err := fetchWhois(ctx, p.http, cloister.DefaultRing, key, 1)
		if err != nil {
			d.say("    %-12s (%v)", key, err)
			continue
		}
		now[key] = ans.Owner.Name
		mark := ""
		if before, ok := prev[key]; ok && before != ans.Owner.Name {
			mark = "   <- moved from " + before
			moved++
		}
		d.say("    %-12s -> %s%s", key, ans.Owner.Name, mark)
	}
	if prev != nil {
		if moved == 0 {
			d.say("  keys that moved: none of these %d (the nodes that came or went owned none of them)", len(demoKeys))
		} else {
			d.say("  keys that moved: %d of these %d", moved, len(demoKeys))
		}
	}
	return now
}

func (d *demo) table(ctx context.Context, p *demoProc) {
	s, _, err := fetchSnapshot(ctx, p.http)
	if err != nil {
		d.say("  (cannot read node%d: %v)", p.index, err)
		return
	}
	d.outMu.Lock()
	defer d.outMu.Unlock()
	printSnapshot(d.out, s)
}

// stopAll sends SIGTERM to every running agent and waits for it, killing
// any that does not exit in time.
func (d *demo) stopAll() {
	for _, p := range d.procs {
		if p.cmd != nil && !exited(p) {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range d.procs {
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

func exited(p *demoProc) bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// freePorts returns a loopback address free for TCP and UDP (gossip) and
// one free for TCP (HTTP).
func freePorts() (gossip, httpAddr string, err error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		addr := l.Addr().String()
		u, uerr := net.ListenPacket("udp", addr)
		l.Close()
		if uerr != nil {
			continue
		}
		u.Close()
		h, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		httpAddr = h.Addr().String()
		h.Close()
		return addr, httpAddr, nil
	}
	return "", "", errors.New("no free port pair on 127.0.0.1")
}

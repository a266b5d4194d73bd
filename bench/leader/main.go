// Command leader times a leader's handover: from the leader's crash
// (SIGKILL) or silence (SIGSTOP) to a singleton running on another node,
// for cloister's leader service and for Erlang's global-based leader
// pattern (leader_bench.erl), both as real processes on loopback, and
// prints a markdown table of p50, p99 and spread:
//
//	go run ./bench/leader                  # 10 samples per cell, cloister and Erlang
//	go run ./bench/leader -samples 20 -sizes 5,10 -erlang=false
//	go run ./bench/leader -cloister=false -erlang=false -erlang-no-opp
//	go run ./bench/leader -erlang=false -detection lan
//
// Each sample starts a fresh cluster, waits for its leader, stops that
// process with the signal, and timestamps the first line from another
// process saying it leads. Every process it starts (nodes, epmd) is
// killed before it exits.
package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloister-go/cloister"
)

//go:embed leader_bench.erl
var erlangSource []byte

func main() {
	child := flag.Bool("child", false, "run one cloister node (used by the benchmark itself)")
	bind := flag.String("bind", "", "child: address to bind")
	sentry := flag.String("sentry", "", "child: comma-separated addresses of the cluster")
	n := flag.Int("n", 5, "child: cluster size (consensus)")
	samples := flag.Int("samples", 10, "samples per cell")
	sizes := flag.String("sizes", "5,10", "cluster sizes")
	withErlang := flag.Bool("erlang", true, "also measure Erlang's global (needs erl, erlc, epmd)")
	tick := flag.Int("net-ticktime", 2, "Erlang net_ticktime in seconds (its failure detection: a silent node is down after 1 to 1.25 times it)")
	noOPP := flag.Bool("erlang-no-opp", false, "also measure Erlang with prevent_overlapping_partitions false (OTP 25's default is true)")
	withCloister := flag.Bool("cloister", true, "measure cloister")
	detection := flag.String("detection", "local", "cloister's failure detection: local or lan (child too)")
	flag.Parse()
	if *child {
		if err := runChild(*bind, *sentry, *n, *detection); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 3 {
			fmt.Fprintf(os.Stderr, "leader: -sizes must list cluster sizes of at least 3, got %q\n", *sizes)
			os.Exit(2)
		}
		ns = append(ns, v)
	}
	if *samples < 1 {
		fmt.Fprintf(os.Stderr, "leader: -samples must be at least 1, got %d\n", *samples)
		os.Exit(2)
	}
	if _, ok := cloister.DetectionByName(*detection); !ok {
		fmt.Fprintf(os.Stderr, "leader: -detection must be local, lan or wan, got %q\n", *detection)
		os.Exit(2)
	}
	if err := run(ns, *samples, *withCloister, *withErlang, *noOPP, *tick, *detection); err != nil {
		fmt.Fprintln(os.Stderr, "leader:", err)
		os.Exit(1)
	}
}

// system is what the benchmark starts clusters of.
type system interface {
	name() string
	// start launches n processes and returns them once one leads.
	start(n int) (*cluster, error)
}

func run(sizes []int, samples int, withCloister, withErlang, noOPP bool, tick int, detection string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var systems []system
	if withCloister {
		systems = append(systems, &cloisterSystem{bin: self, detection: detection})
	}
	erlangs := map[bool]bool{}
	if withErlang {
		erlangs[true] = true
	}
	if noOPP {
		erlangs[false] = true
	}
	for _, opp := range []bool{true, false} {
		if !erlangs[opp] {
			continue
		}
		es, err := newErlangSystem(tick, opp)
		if err != nil {
			return err
		}
		defer es.close()
		systems = append(systems, es)
	}
	fmt.Printf("Machine: %d CPUs, %s/%s, %s; %d samples per cell, each a fresh cluster of processes on loopback\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), samples)
	fmt.Println("| system | nodes | fault | p50 | p99 | min-max | samples |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, sys := range systems {
		for _, n := range sizes {
			for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
				var ds []time.Duration
				for range samples {
					d, err := sample(sys, n, sig)
					if err != nil {
						return fmt.Errorf("%s, %d nodes, %v: %w", sys.name(), n, sig, err)
					}
					ds = append(ds, d)
				}
				slices.Sort(ds)
				fault := "kill -9"
				if sig == syscall.SIGSTOP {
					fault = "pause (SIGSTOP)"
				}
				fmt.Printf("| %s | %d | %s | %s | %s | %s-%s | %d |\n", sys.name(), n, fault,
					ms(quantile(ds, 0.5)), ms(quantile(ds, 0.99)), ms(ds[0]), ms(ds[len(ds)-1]), len(ds))
			}
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// quantile is the nearest-rank quantile of sorted ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// sample starts a cluster, faults its leader with sig, and returns the
// time to another process's announcement that it leads.
func sample(sys system, n int, sig syscall.Signal) (time.Duration, error) {
	c, err := sys.start(n)
	if err != nil {
		return 0, err
	}
	defer c.close()
	lead := c.leader
	at := time.Now()
	if err := c.procs[lead].cmd.Process.Signal(sig); err != nil {
		return 0, err
	}
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case a := <-c.leads:
			if a.proc != lead && a.at.After(at) {
				return a.at.Sub(at), nil
			}
		case <-timeout.C:
			return 0, errors.New("no other process took over within 60 s")
		}
	}
}

// cluster is a set of processes whose "lead" lines arrive on leads.
type cluster struct {
	procs  []*proc
	leads  chan lead
	leader int // the process that led first
	wg     sync.WaitGroup
}

type proc struct {
	cmd *exec.Cmd
}

type lead struct {
	proc int
	at   time.Time
}

// launch starts the commands, reading each one's stdout for lines that
// start with marker (it leads) and ready (it joined), and waits until all
// are ready and one leads.
func launch(cmds []*exec.Cmd, marker, ready string) (*cluster, error) {
	c := &cluster{leads: make(chan lead, 64)}
	readies := make(chan int, len(cmds))
	for i, cmd := range cmds {
		out, err := cmd.StdoutPipe()
		if err != nil {
			c.close()
			return nil, err
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			c.close()
			return nil, err
		}
		c.procs = append(c.procs, &proc{cmd: cmd})
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, marker):
					select {
					case c.leads <- lead{proc: i, at: time.Now()}:
					default:
					}
				case ready != "" && strings.HasPrefix(line, ready):
					readies <- i
				}
			}
		}()
	}
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	need := len(cmds)
	if ready == "" {
		need = 0
	}
	c.leader = -1
	for need > 0 || c.leader < 0 {
		select {
		case <-readies:
			need--
		case l := <-c.leads:
			c.leader = l.proc
		case <-timeout.C:
			c.close()
			return nil, errors.New("the cluster did not elect a leader within 60 s")
		}
	}
	return c, nil
}

// close kills every process (resuming paused ones first) and waits.
func (c *cluster) close() {
	for _, p := range c.procs {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
		_ = p.cmd.Process.Kill()
	}
	for _, p := range c.procs {
		_ = p.cmd.Wait()
	}
	c.wg.Wait()
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// cloisterSystem runs this binary in child mode.
type cloisterSystem struct{ bin, detection string }

func (s *cloisterSystem) name() string { return "cloister leader (" + s.detection + " detection)" }

func (s *cloisterSystem) start(n int) (*cluster, error) {
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, p := range ports {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
	}
	var cmds []*exec.Cmd
	for _, a := range addrs {
		cmds = append(cmds, exec.Command(s.bin, "-child", "-bind", a, "-sentry", strings.Join(addrs, ","), "-n", strconv.Itoa(n), "-detection", s.detection))
	}
	return launch(cmds, "SINGLETON", "")
}

// erlangSystem runs leader_bench.erl on erl nodes with long names on
// 127.0.0.1, with an epmd of its own on a private port.
type erlangSystem struct {
	opp   bool // prevent_overlapping_partitions
	dir   string
	epmd  *exec.Cmd
	port  int
	tick  int
	count int
}

func newErlangSystem(tick int, opp bool) (*erlangSystem, error) {
	dir, err := os.MkdirTemp("", "leaderbench")
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "leader_bench.erl")
	if err := os.WriteFile(src, erlangSource, 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.Command("erlc", "-o", dir, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("erlc: %v: %s", err, out)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	es := &erlangSystem{dir: dir, port: ports[0], tick: tick, opp: opp}
	es.epmd = exec.Command("epmd", "-address", "127.0.0.1", "-port", strconv.Itoa(es.port))
	if err := es.epmd.Start(); err != nil {
		return nil, fmt.Errorf("epmd: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", es.port)); err == nil {
			c.Close()
			return es, nil
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	es.close()
	return nil, errors.New("epmd did not start")
}

func (es *erlangSystem) name() string {
	return fmt.Sprintf("Erlang/OTP global (net_ticktime %d, prevent_overlapping_partitions %v)", es.tick, es.opp)
}

func (es *erlangSystem) close() {
	if es.epmd != nil && es.epmd.Process != nil {
		_ = es.epmd.Process.Kill()
		_ = es.epmd.Wait()
	}
	os.RemoveAll(es.dir)
}

func (es *erlangSystem) start(n int) (*cluster, error) {
	es.count++
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("lb%d_%d@127.0.0.1", es.count, i))
	}
	var cmds []*exec.Cmd
	for _, name := range names {
		args := []string{"-name", name, "-setcookie", "leaderbench", "-noshell", "-noinput",
			"-kernel", "net_ticktime", strconv.Itoa(es.tick),
			"-kernel", "inet_dist_use_interface", "{127,0,0,1}",
			"-kernel", "prevent_overlapping_partitions", strconv.FormatBool(es.opp),
			"-pa", es.dir, "-s", "leader_bench", "start"}
		args = append(args, names...)
		cmd := exec.Command("erl", args...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("ERL_EPMD_PORT=%d", es.port), "ERL_EPMD_ADDRESS=127.0.0.1")
		cmds = append(cmds, cmd)
	}
	return launch(cmds, "LEADER", "READY")
}

// Command scale starts many cloister nodes at once in one process, on the
// in-memory network (cloistertest/memnet), and reports: the time until
// every node is Ready on one agreed view of all of them; how many
// distinct views the nodes reported to the application on the way (the
// views of their Ready and Rehashing states, across all nodes: the Rapid
// paper's Table 1 counts the distinct cluster sizes reported the same
// way); heap and goroutines per member once Ready; then, with -kill k, the
// time until the survivors agree on a view without k members killed at
// once, and how many view changes that took (distinct views reported
// after the kill).
//
//	go run ./bench/scale -n 100,500,1000
//	go run ./bench/scale -n 100 -kill 10 -profile local
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest/memnet"
	"github.com/cloister-go/cloister/discovery"
	"github.com/cloister-go/cloister/transport"
)

func main() {
	sizes := flag.String("n", "100,500,1000", "cluster sizes")
	kill := flag.Int("kill", 10, "members killed at once after the start (0: none)")
	profile := flag.String("profile", "lan", "detection profile: lan, local or wan")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on each wait")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060)")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "scale: pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}
	d, ok := cloister.DetectionByName(*profile)
	if !ok {
		fmt.Fprintf(os.Stderr, "scale: no profile %q\n", *profile)
		os.Exit(2)
	}
	fmt.Println("| N | profile | all Ready on one view | distinct views reported during the start | heap per member | goroutines per member | kill | survivors agree after | view changes to remove them |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 {
			fmt.Fprintf(os.Stderr, "scale: bad size %q\n", s)
			os.Exit(2)
		}
		r, err := measure(n, *kill, d, *timeout)
		fmt.Println(r.row())
		if err != nil {
			fmt.Fprintln(os.Stderr, "scale:", err)
			os.Exit(1)
		}
	}
}

type result struct {
	n, kill               int
	profile               string
	ready                 time.Duration
	startViews, killViews int
	heapPerMember         float64 // bytes
	goroutinesPerMember   float64
	killAgreed            time.Duration
}

func (r result) row() string {
	dur := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return d.Round(time.Millisecond).String()
	}
	k := "-"
	if r.kill > 0 {
		k = strconv.Itoa(r.kill)
	}
	return fmt.Sprintf("| %d | %s | %s | %d | %.0f KiB | %.1f | %s | %s | %d |", r.n, r.profile, dur(r.ready), r.startViews,
		r.heapPerMember/1024, r.goroutinesPerMember, k, dur(r.killAgreed), r.killViews)
}

// views collects the distinct view IDs nodes reported while Ready or
// Rehashing.
type views struct {
	mu  sync.Mutex
	ids map[cloister.ViewID]struct{}
}

func (v *views) add(id cloister.ViewID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ids[id] = struct{}{}
}

// take returns how many were collected and starts afresh.
func (v *views) take() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := len(v.ids)
	v.ids = map[cloister.ViewID]struct{}{}
	return n
}

// reporter is the listener of one node: it adds the views the node
// reports while Ready or Rehashing. Its node calls it from one goroutine,
// in order.
type reporter struct {
	v     *views
	state cloister.State
}

func (r *reporter) OnStateChange(_, to cloister.State, s cloister.Snapshot) {
	r.state = to
	if to == cloister.Ready || to == cloister.Rehashing {
		r.v.add(s.View.ID)
	}
}

func (r *reporter) OnEvent(e cloister.Event) {
	if c, ok := e.(*cloister.ViewChanged); ok && (r.state == cloister.Ready || r.state == cloister.Rehashing) {
		r.v.add(c.New.ID)
	}
}

func measure(n, kill int, d cloister.Detection, timeout time.Duration) (result, error) {
	r := result{n: n, kill: kill, profile: d.Name}
	net := memnet.New(uint64(n))
	defer net.Close()
	addrs := make([]netip.AddrPort, n)
	for i := range addrs {
		addrs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte((i + 1) >> 8), byte(i + 1)}), 4747)
	}
	sentry := discovery.Func(func(context.Context) ([]netip.AddrPort, error) { return addrs, nil })
	v := &views{ids: map[cloister.ViewID]struct{}{}}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()

	nodes := make([]*cloister.Node, n)
	trs := make([]transport.Transport, n)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		tr, err := net.Listen(addrs[i])
		if err != nil {
			return r, err
		}
		trs[i] = tr
		cfg := cloister.DefaultConfig()
		cfg.App = "scale"
		cfg.Secret = cloister.Secret("scale-bench-secret")
		cfg.Consensus = n
		cfg.Sentry = sentry
		cfg.Transport = tr
		cfg.Detection = d
		cfg.Listeners = []cloister.Listener{&reporter{v: v}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			nodes[i], errs[i] = cloister.Launch(ctx, cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	defer stopAll(nodes)
	if _, err := waitAgreed(nodes, n, timeout); err != nil {
		return r, fmt.Errorf("start of %d: %w", n, err)
	}
	r.ready = time.Since(start) // from the first launch
	r.startViews = v.take()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	r.heapPerMember = float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc)) / float64(n)
	r.goroutinesPerMember = float64(runtime.NumGoroutine()-goroutines) / float64(n)
	if kill <= 0 || kill >= n {
		return r, nil
	}
	killStart := time.Now()
	for i := n - kill; i < n; i++ {
		_ = trs[i].Close() // its sockets close at once, as on kill -9
		go func(nd *cloister.Node) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = nd.Stop(ctx)
		}(nodes[i])
	}
	survivors := nodes[:n-kill]
	if _, err := waitAgreed(survivors, n-kill, timeout); err != nil {
		return r, fmt.Errorf("%d nodes after %d kills: %w", n, kill, err)
	}
	r.killAgreed = time.Since(killStart)
	r.killViews = v.take()
	return r, nil
}

// waitAgreed polls until every node is Ready on one view of want members.
func waitAgreed(nodes []*cloister.Node, want int, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		if agreed(nodes, want) {
			return time.Since(start), nil
		}
		select {
		case <-tick.C:
		case <-deadline:
			return time.Since(start), fmt.Errorf("not agreed after %v: %s", timeout, summary(nodes))
		}
	}
}

func agreed(nodes []*cloister.Node, want int) bool {
	first := nodes[0].Snapshot().View.ID
	for _, nd := range nodes {
		s := nd.Snapshot()
		if s.State != cloister.Ready || s.View.ID != first || len(s.View.Members) != want {
			return false
		}
	}
	return true
}

func summary(nodes []*cloister.Node) string {
	states := map[string]int{}
	for _, nd := range nodes {
		s := nd.Snapshot()
		states[fmt.Sprintf("%s/%d", s.StateName, len(s.View.Members))]++
	}
	return fmt.Sprint(states)
}

func stopAll(nodes []*cloister.Node) {
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = nd.Stop(ctx)
		}()
	}
	wg.Wait()
}

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloister-go/cloister"
)

// runRun starts n local instances of the user's command as one cluster on
// loopback (Elixir's test_cluster_task), prefixes their logs with [i], waits
// until all are Ready and then stops them, or with --keep runs until ctx
// ends.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 3, "instances to start")
	keep := fs.Bool("keep", false, "keep the instances running once Ready, until interrupted")
	timeout := fs.Duration("timeout", 2*time.Minute, "fail unless every instance is Ready within this time (go run compiles first)")
	stopTimeout := fs.Duration("stop-timeout", 10*time.Second, "after SIGTERM, how long an instance may take to exit before SIGKILL")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: cloister run [-n 3] [--keep] [--timeout 2m] -- COMMAND [ARGS...]

Starts N instances of COMMAND on loopback with CLOISTER_BIND (a free port
each), CLOISTER_SENTRY (all N addresses), a fresh CLOISTER_SECRET,
CLOISTER_CONSENSUS=N, CLOISTER_DETECTION=local and CLOISTER_HTTP (a free
port each, for services that serve node.Handler() on it). An instance is
Ready when its /readyz on CLOISTER_HTTP answers 200 or, if it serves no
HTTP there, when it logs a line saying "ready".

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	command := fs.Args()
	if len(command) == 0 {
		return errors.New("no command: cloister run -n 3 -- ./myservice args (or -- go run ./cmd/myservice)")
	}
	if *n < 1 || *n > 64 {
		return fmt.Errorf("-n %d: want 1 to 64", *n)
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout %v: want a positive duration", *timeout)
	}
	if *stopTimeout <= 0 {
		return fmt.Errorf("--stop-timeout %v: want a positive duration", *stopTimeout)
	}

	c := &runCluster{out: &prefixOut{stdout: stdout, stderr: stderr}, stopTimeout: *stopTimeout}
	if err := c.start(command, *n); err != nil {
		c.stop()
		return err
	}
	defer c.stop()

	started := time.Now()
	deadline := time.NewTimer(*timeout)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var shown string
	var shownAt time.Time
	for {
		p := c.poll(ctx)
		if i, err := c.exitedEarly(); i > 0 {
			return fmt.Errorf("instance %d exited before every instance was Ready: %v (%s)", i, err, p)
		}
		if p.ready == *n {
			c.out.say("all %d ready after %.1fs (%s)", *n, time.Since(started).Seconds(), p)
			break
		}
		// Progress at most once a second, and only when it changed.
		if s := p.String(); s != shown && time.Since(shownAt) >= time.Second {
			c.out.say("%s", s)
			shown, shownAt = s, time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted before every instance was Ready (%s)", p)
		case <-deadline.C:
			return fmt.Errorf("not every instance Ready after --timeout %v: %s", *timeout, p)
		case <-tick.C:
		}
	}
	if !*keep {
		return nil
	}
	for _, in := range c.instances {
		c.out.say("[%d] gossip %s, http %s (cloister members --addr %s)", in.idx, in.bind, in.http, in.http)
	}
	c.out.say("running until interrupted (Ctrl-C)")
	reported := make([]bool, len(c.instances))
	for {
		left := 0
		for i, in := range c.instances {
			select {
			case <-in.exited:
				if !reported[i] {
					c.out.say("instance %d exited: %v", in.idx, exitText(in.err))
					reported[i] = true
				}
			default:
				left++
			}
		}
		if left == 0 {
			return errors.New("every instance exited")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// runCluster owns the instances: start starts them, stop ends them all.
type runCluster struct {
	out         *prefixOut
	stopTimeout time.Duration
	instances   []*instance
	client      http.Client
}

type instance struct {
	idx        int
	bind, http string
	cmd        *exec.Cmd
	exited     chan struct{} // closed once cmd.Wait returned; err is set then
	err        error
	logs       sync.WaitGroup // the two log copiers: done when every holder of the pipes exited
	readers    []*os.File
	logReady   atomic.Bool // a log line said ready
	servesHTTP atomic.Bool // CLOISTER_HTTP answered once
}

// The variables run sets; inherited values of these are dropped.
var runVars = []string{cloister.EnvBind, cloister.EnvSentry, cloister.EnvSecret, cloister.EnvSecretFile,
	cloister.EnvConsensus, cloister.EnvDetection, EnvHTTP, cloister.EnvAdvertise, cloister.EnvInsecure}

func (c *runCluster) start(command []string, n int) error {
	c.client = http.Client{Timeout: time.Second}
	used := map[int]bool{}
	var sentry []string
	for i := 1; i <= n; i++ {
		gp, err := freePort(used, true)
		if err != nil {
			return err
		}
		hp, err := freePort(used, false)
		if err != nil {
			return err
		}
		in := &instance{idx: i, bind: net.JoinHostPort("127.0.0.1", strconv.Itoa(gp)),
			http: net.JoinHostPort("127.0.0.1", strconv.Itoa(hp)), exited: make(chan struct{})}
		c.instances = append(c.instances, in)
		sentry = append(sentry, in.bind)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, v := range runVars {
			drop = drop || name == v
		}
		if !drop {
			env = append(env, kv)
		}
	}
	env = append(env,
		cloister.EnvSentry+"="+strings.Join(sentry, ","),
		cloister.EnvSecret+"="+base64.RawURLEncoding.EncodeToString(secret),
		cloister.EnvConsensus+"="+strconv.Itoa(n),
		cloister.EnvDetection+"=local")
	c.out.say("starting %d instances of %s (sentry %s)", n, strings.Join(command, " "), strings.Join(sentry, ","))
	for _, in := range c.instances {
		in.cmd = exec.Command(command[0], command[1:]...)
		in.cmd.Env = append(env[:len(env):len(env)], cloister.EnvBind+"="+in.bind, EnvHTTP+"="+in.http)
		// Its own process group, so that stop reaches what it starts too
		// (go run's binary), and a terminal's Ctrl-C reaches only us.
		in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var writers []*os.File
		for _, w := range []io.Writer{c.out.stdout, c.out.stderr} {
			r, wr, err := os.Pipe()
			if err != nil {
				return err
			}
			in.readers = append(in.readers, r)
			writers = append(writers, wr)
			in.logs.Add(1)
			go c.copyLines(in, r, w)
		}
		in.cmd.Stdout, in.cmd.Stderr = writers[0], writers[1]
		err := in.cmd.Start()
		for _, w := range writers {
			w.Close() // the child holds its own copies
		}
		if err != nil {
			close(in.exited)
			return fmt.Errorf("starting %q: %w", command[0], err)
		}
		go func() {
			in.err = in.cmd.Wait()
			close(in.exited)
		}()
	}
	return nil
}

// readyLines holds the patterns copyLines looks for: compiled on first
// use, not in every start of the command (every agent's).
var readyLines = sync.OnceValues(func() (ready, notReady *regexp.Regexp) {
	return regexp.MustCompile(`(?i)\bready\b`), regexp.MustCompile(`(?i)\bnot\s+ready\b`)
})

// copyLines copies r to w line by line, prefixed with [i], until every
// process holding the pipe's other end has exited.
func (c *runCluster) copyLines(in *instance, r io.Reader, w io.Writer) {
	defer in.logs.Done()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := strings.TrimRight(string(line), "\r\n")
			if ready, notReady := readyLines(); ready.MatchString(text) && !notReady.MatchString(text) {
				in.logReady.Store(true)
			}
			c.out.line(w, in.idx, text)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// exitedEarly returns the number and error of an instance that has exited.
func (c *runCluster) exitedEarly() (int, string) {
	for _, in := range c.instances {
		select {
		case <-in.exited:
			return in.idx, exitText(in.err)
		default:
		}
	}
	return 0, ""
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// progress is how far assembly got.
type progress struct {
	n, alive, agreeing, ready int
	httpCount                 int // instances that serve HTTP: agreeing counts only them
	view                      string
	term                      uint64
}

func (p progress) String() string {
	s := fmt.Sprintf("%d of %d alive", p.alive, p.n)
	if p.httpCount > 0 {
		s += fmt.Sprintf(", %d agreeing", p.agreeing)
	}
	s += fmt.Sprintf(", %d ready", p.ready)
	if p.agreeing > 0 {
		s += fmt.Sprintf("; view %s of %d, term %d", p.view, p.n, p.term)
	}
	return s
}

// poll asks every instance how it is: /healthz, /readyz and /cluster on its
// CLOISTER_HTTP if it serves one, else its process and its logs.
func (c *runCluster) poll(ctx context.Context) progress {
	p := progress{n: len(c.instances)}
	views := map[string]int{}
	terms := map[string]uint64{}
	for _, in := range c.instances {
		running := true
		select {
		case <-in.exited:
			running = false
		default:
		}
		if !running {
			continue
		}
		health := c.status(ctx, in, "/healthz")
		if health != 0 {
			in.servesHTTP.Store(true)
		}
		if !in.servesHTTP.Load() {
			p.alive++
			if in.logReady.Load() {
				p.ready++
			}
			continue
		}
		p.httpCount++
		if health == http.StatusOK {
			p.alive++
		}
		if c.status(ctx, in, "/readyz") == http.StatusOK {
			p.ready++
		}
		var snap struct {
			Term uint64 `json:"term"`
			View struct {
				ID      string            `json:"id"` // 16 hex digits (cloister.ViewID)
				Members []json.RawMessage `json:"members"`
			} `json:"view"`
		}
		if _, err := getJSON(ctx, in.http, "/cluster", &snap); err == nil && len(snap.View.Members) == p.n {
			views[snap.View.ID]++
			terms[snap.View.ID] = snap.Term
		}
	}
	for id, count := range views {
		if count > p.agreeing {
			p.agreeing, p.view, p.term = count, id, terms[id]
		}
	}
	return p
}

// status is the HTTP status of GET path on the instance, 0 if it did not
// answer.
func (c *runCluster) status(ctx context.Context, in *instance, path string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+in.http+path, nil)
	if err != nil {
		return 0
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode
}

// stop sends SIGTERM to every instance's process group, waits up to
// stopTimeout for them to exit (and their logs to end), then SIGKILLs what
// is left. It returns once everything it started has exited.
func (c *runCluster) stop() {
	if len(c.instances) == 0 {
		return
	}
	var started []*instance
	for _, in := range c.instances {
		if in.cmd != nil && in.cmd.Process != nil {
			started = append(started, in)
			_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGTERM)
		}
	}
	done := func(in *instance) <-chan struct{} {
		ch := make(chan struct{})
		go func() {
			<-in.exited
			in.logs.Wait()
			close(ch)
		}()
		return ch
	}
	waits := make([]<-chan struct{}, len(started))
	for i, in := range started {
		waits[i] = done(in)
	}
	deadline := time.NewTimer(c.stopTimeout)
	defer deadline.Stop()
	killed := false
	for i, in := range started {
		if !killed {
			select {
			case <-waits[i]:
				continue
			case <-deadline.C:
			}
		}
		// The deadline passed: kill every group that is still there.
		if !killed {
			c.out.say("SIGKILL after --stop-timeout %v", c.stopTimeout)
			for _, o := range started[i:] {
				_ = syscall.Kill(-o.cmd.Process.Pid, syscall.SIGKILL)
			}
			killed = true
		}
		select {
		case <-waits[i]:
		case <-time.After(5 * time.Second):
			// Something left the group but holds the log pipes: stop
			// reading them.
			c.out.say("instance %d: a process outside its group still holds its output", in.idx)
			for _, r := range in.readers {
				r.Close()
			}
			<-in.exited
		}
	}
	// Readers of instances that never started.
	for _, in := range c.instances {
		if in.cmd == nil || in.cmd.Process == nil {
			for _, r := range in.readers {
				r.Close()
			}
			in.logs.Wait()
		}
	}
	c.instances = nil
}

// freePort finds a free port on 127.0.0.1 for TCP (and UDP if udp), not in
// used. Another program may take it before the instance binds it; on
// loopback in a developer's session that is rare.
func freePort(used map[int]bool, udp bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := !used[port]
		if ok && udp {
			u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				ok = false
			} else {
				u.Close()
			}
		}
		l.Close()
		if ok {
			used[port] = true
			return port, nil
		}
	}
	return 0, errors.New("finding a free port: none in 100 tries")
}

// prefixOut writes whole lines from several goroutines to stdout and stderr
// under one lock.
type prefixOut struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
}

func (o *prefixOut) line(w io.Writer, idx int, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(w, "[%d] %s\n", idx, text)
}

func (o *prefixOut) say(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stdout, "[run] "+format+"\n", args...)
}

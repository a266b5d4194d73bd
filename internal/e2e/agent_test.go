package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pollEvery is how often conditions are re-checked while waiting.
const pollEvery = 25 * time.Millisecond

// buildAgent compiles cmd/cloister into a temporary directory, with -race
// when the test runs with it, and returns the binary's path.
func buildAgent(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("building the agent needs the go command: %v", err)
	}
	gomod, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		t.Fatalf("go env GOMOD: %q, %v", gomod, err)
	}
	bin := filepath.Join(t.TempDir(), "cloister")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/cloister-go/cloister/cmd/cloister")
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built the agent (race=%v) in %v", raceEnabled, time.Since(start).Round(time.Millisecond))
	return bin
}

// fleet starts agents on lab hosts, all with the same command line and
// environment, and kills whatever still runs when the test ends. On
// failure it prints every agent's output.
type fleet struct {
	t    *testing.T
	lab  *lab
	argv []string
	env  []string
	dir  string

	mu     sync.Mutex
	agents []*agent
}

// agent is one run of the agent on a host.
type agent struct {
	label  string
	host   *host
	cmd    *exec.Cmd
	stdout string // file paths
	stderr string
	done   chan struct{}
	err    error // Wait's, once done is closed
}

func newFleet(t *testing.T, l *lab, argv, env []string) *fleet {
	f := &fleet{t: t, lab: l, argv: argv, env: env, dir: t.TempDir()}
	t.Cleanup(f.cleanup)
	return f
}

// start runs the agent on h; label names its output files.
func (f *fleet) start(h *host, label string) *agent {
	f.t.Helper()
	a := &agent{
		label: label, host: h, done: make(chan struct{}),
		stdout: filepath.Join(f.dir, label+".stdout"),
		stderr: filepath.Join(f.dir, label+".stderr"),
	}
	out, err := os.Create(a.stdout)
	if err != nil {
		f.t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(a.stderr)
	if err != nil {
		f.t.Fatal(err)
	}
	defer errf.Close()
	a.cmd = f.lab.command(h, f.argv...)
	a.cmd.Env = f.env
	a.cmd.Stdout, a.cmd.Stderr = out, errf
	// If the test binary dies without running its cleanups (a -timeout
	// panic), the agents die with it.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		f.t.Fatalf("starting the agent on %s: %v", h.Name, err)
	}
	go func() {
		a.err = a.cmd.Wait()
		close(a.done)
	}()
	f.mu.Lock()
	f.agents = append(f.agents, a)
	f.mu.Unlock()
	return a
}

// exited reports whether the agent has exited, waiting up to d.
func (a *agent) exited(d time.Duration) bool {
	select {
	case <-a.done:
		return true
	case <-time.After(d):
		return false
	}
}

// requireRunning fails the test at once if one of the agents has exited.
func requireRunning(t *testing.T, agents ...*agent) {
	t.Helper()
	for _, a := range agents {
		select {
		case <-a.done:
			t.Fatalf("%s exited unexpectedly: %v", a.label, a.err)
		default:
		}
	}
}

// kill sends SIGKILL, a crash, and waits for the process to go.
func (a *agent) kill(t *testing.T) {
	t.Helper()
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	if !a.exited(10 * time.Second) {
		t.Fatalf("%s: still running 10s after SIGKILL", a.label)
	}
}

func (f *fleet) cleanup() {
	f.mu.Lock()
	agents := slices.Clone(f.agents)
	f.mu.Unlock()
	for _, a := range agents {
		select {
		case <-a.done:
		default:
			_ = a.cmd.Process.Signal(syscall.SIGKILL)
			<-a.done
		}
	}
	for _, a := range agents {
		if lines := a.untyped(); len(lines) > 0 {
			f.t.Errorf("%s: %d stdout lines name no event (an event type the agent's --json printer does not handle), e.g. %s",
				a.label, len(lines), lines[0])
		}
		errOut, _ := os.ReadFile(a.stderr)
		if bytes.Contains(errOut, []byte("WARNING: DATA RACE")) {
			f.t.Errorf("%s: the agent reported a data race", a.label)
		}
		if !f.t.Failed() {
			continue
		}
		stdout, _ := os.ReadFile(a.stdout)
		f.t.Logf("---- %s on %s (%v) stdout:\n%s", a.label, a.host.Name, a.err, stdout)
		f.t.Logf("---- %s stderr:\n%s", a.label, errOut)
	}
}

// event is one JSON line of `cloister agent --json`.
type event struct {
	Event   string `json:"event"`
	T       int64  `json:"t"`
	From    string `json:"from"`
	To      string `json:"to"`
	Members int    `json:"members"`
	View    string `json:"view"`
	Member  string `json:"member"`
	Name    string `json:"name"`
	Reason  string `json:"reason"`
}

// Time is when the agent printed the event.
func (e event) Time() time.Time { return time.Unix(0, e.T) }

// events parses the complete lines the agent has printed so far. A line
// that is not a JSON object with a time is an error; a JSON object without
// an "event" name is skipped (see untyped).
func (a *agent) events() ([]event, error) {
	b, err := os.ReadFile(a.stdout)
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	var out []event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.T == 0 {
			return out, fmt.Errorf("%s: stdout line is not a JSON event: %q", a.label, sc.Text())
		}
		if e.Event != "" {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// untyped returns the JSON lines printed so far that name no event. The
// agent's printer has a case per event type and prints a bare {"t":...}
// for a type it does not know (cloister.RingChanged, as of this writing).
func (a *agent) untyped() []string {
	b, _ := os.ReadFile(a.stdout)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		var e event
		if json.Unmarshal([]byte(line), &e) == nil && e.Event == "" {
			out = append(out, line)
		}
	}
	return out
}

// findEvent returns the first event printed so far that match accepts.
func (a *agent) findEvent(match func(event) bool) (event, bool, error) {
	evs, err := a.events()
	for _, e := range evs {
		if match(e) {
			return e, true, err
		}
	}
	return event{}, false, err
}

// snapshot is the part of GET /cluster (cloister.Snapshot) the test reads.
// Term and Quorate come with issue #10 (partition safety); a node without
// them leaves both zero.
type snapshot struct {
	Self      member `json:"self"`
	State     string `json:"state"`
	Consensus int    `json:"consensus"`
	Term      uint64 `json:"term"`
	Quorate   bool   `json:"quorate"`
	// HasTerm says that the JSON had both "term" and "quorate".
	HasTerm bool `json:"-"`
	View    struct {
		ID      string   `json:"id"` // 16 hex digits (cloister.ViewID)
		Epoch   uint64   `json:"epoch"`
		Members []member `json:"members"`
	} `json:"view"`
}

type member struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	State  string `json:"state"`
	ViewID string `json:"view_id"`
}

// httpClient talks to the agents over the bridge: no proxy from the
// environment, no connection kept across an agent's restart.
var httpClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	Timeout:   time.Second,
}

// getCluster fetches GET /cluster from the agent at ip.
func getCluster(ip netip.Addr, port uint16) (snapshot, error) {
	var s snapshot
	resp, err := httpClient.Get("http://" + netip.AddrPortFrom(ip, port).String() + "/cluster")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /cluster: %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, err
	}
	var has struct {
		Term    *uint64 `json:"term"`
		Quorate *bool   `json:"quorate"`
	}
	err = json.Unmarshal(body, &has)
	s.HasTerm = has.Term != nil && has.Quorate != nil
	return s, err
}

// getReadyz returns the status code of GET /readyz on the agent at ip.
func getReadyz(ip netip.Addr, port uint16) (int, error) {
	resp, err := httpClient.Get("http://" + netip.AddrPortFrom(ip, port).String() + "/readyz")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// agreement checks that the agents at addrs are all Ready, each naming
// itself want[i], with one view made of exactly the names in want. If not,
// it says why.
func agreement(addrs []netip.Addr, httpPort uint16, want []string) (bool, string) {
	ok, why, _ := agreementSnaps(addrs, httpPort, want)
	return ok, why
}

// agreementSnaps is agreement, also returning the snapshots it read (nil
// for an agent that did not answer).
func agreementSnaps(addrs []netip.Addr, httpPort uint16, want []string) (bool, string, []*snapshot) {
	wantSet := slices.Clone(want)
	slices.Sort(wantSet)
	var why []string
	var views []string
	snaps := make([]*snapshot, len(addrs))
	for i, ip := range addrs {
		s, err := getCluster(ip, httpPort)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", ip, err))
			continue
		}
		snaps[i] = &s
		desc := fmt.Sprintf("%s: %s %q view %s %v", ip, s.State, s.Self.Name, s.View.ID, s.names())
		switch {
		case s.State != "ready", s.Self.Name != want[i], !slices.Equal(s.names(), wantSet):
			why = append(why, desc)
		case len(s.View.ID) != 16:
			desc += " (the view ID is not 16 hex digits)"
			why = append(why, desc)
		}
		views = append(views, s.View.ID)
	}
	if len(why) == 0 && len(slices.Compact(slices.Clone(views))) != 1 {
		why = append(why, fmt.Sprintf("view IDs differ: %s", views))
	}
	return len(why) == 0, strings.Join(why, "; "), snaps
}

// names returns the names of the view's members, sorted.
func (s *snapshot) names() []string {
	var names []string
	for _, m := range s.View.Members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// String describes the snapshot in one line, for failure messages.
func (s *snapshot) String() string {
	return fmt.Sprintf("%s %s term %d quorate %v view %s %v", s.Self.Name, s.State, s.Term, s.Quorate, s.View.ID, s.names())
}

// waitFor checks cond every pollEvery until it holds or d passes, and
// returns how long it took. On timeout the error carries cond's last
// explanation.
func waitFor(d time.Duration, cond func() (bool, string)) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, why := cond()
		if ok {
			return time.Since(start), nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return time.Since(start), errors.New("not within " + d.String() + ": " + why)
		}
	}
}

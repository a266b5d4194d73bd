package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the writers of run and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func runCmd(ctx context.Context, args ...string) (int, string, time.Duration) {
	var out lockedBuffer
	start := time.Now()
	code := run(ctx, append([]string{"run"}, args...), &out, &out)
	return code, out.String(), time.Since(start)
}

func needSh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
}

// The README's command: three instances of examples/hello, built by go run
// from source, Ready on one view, then stopped gracefully.
func TestRunHelloFromSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts processes")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	code, out, took := runCmd(ctx, "-n", "3", "--timeout", "3m", "--", "go", "run", "../../examples/hello")
	if code != 0 {
		t.Fatalf("exit %d after %v:\n%s", code, took, out)
	}
	for _, want := range []string{"[run] starting 3 instances of go run ../../examples/hello", "[run] all 3 ready after",
		"3 of 3 alive, 3 agreeing, 3 ready; view ", "[1] ", "[2] ", "[3] "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Each instance was Ready on the one view (from Rehashing, or from
	// Assembling when it was the last to hold the view and found the
	// others' acceptances there), then left gracefully.
	for _, i := range []string{"1", "2", "3"} {
		if !regexp.MustCompile(`(?m)^\[`+i+`\] .*-> ready: 3 members`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^\[`+i+`\] .*-> stopped`).MatchString(out) {
			t.Errorf("instance %s was not Ready on 3 members and then stopped:\n%s", i, out)
		}
	}
	t.Logf("3 instances of go run ../../examples/hello Ready and stopped in %v", took)
}

// --keep: the agent (this test binary as the CLI) serves CLOISTER_HTTP; the
// instances stay up until the context ends, then all are gone.
func TestRunKeepUntilInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Setenv(envRunAsCLI, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "-n", "3", "--keep", "--timeout", "1m", "--", exe, "agent"}, &out, &out)
	}()

	deadline := time.Now().Add(70 * time.Second)
	re := regexp.MustCompile(`http (127\.0\.0\.1:\d+) \(cloister members`)
	var addrs []string
	for time.Now().Before(deadline) {
		if strings.Contains(out.String(), "running until interrupted") {
			for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
				addrs = append(addrs, m[1])
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run returned %d before running:\n%s", code, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if len(addrs) != 3 {
		t.Fatalf("want 3 http addresses, got %q:\n%s", addrs, out.String())
	}
	for _, a := range addrs {
		resp, err := http.Get("http://" + a + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s/readyz: %s", a, resp.Status)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run --keep after interrupt: exit %d:\n%s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run --keep did not return after the interrupt:\n%s", out.String())
	}
	for _, a := range addrs {
		if resp, err := http.Get("http://" + a + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s still answers after run returned", a)
		}
	}
	if strings.Contains(out.String(), "SIGKILL") {
		t.Errorf("the agents needed SIGKILL:\n%s", out.String())
	}
}

// Instances that never get Ready: the environment is set, the run fails
// after --timeout naming it, and the instances are stopped by SIGTERM.
func TestRunTimeout(t *testing.T) {
	needSh(t)
	t.Setenv("CLOISTER_SECRET_FILE", "/inherited/should/be/dropped")
	script := `echo "bind=$CLOISTER_BIND http=$CLOISTER_HTTP n=$CLOISTER_CONSENSUS det=$CLOISTER_DETECTION secretlen=${#CLOISTER_SECRET} file=[$CLOISTER_SECRET_FILE] sentry=$CLOISTER_SENTRY"; exec sleep 30`
	code, out, took := runCmd(context.Background(), "-n", "2", "--timeout", "1500ms", "--", "sh", "-c", script)
	if code != 1 || !strings.Contains(out, "not every instance Ready after --timeout 1.5s: 2 of 2 alive, 0 ready") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	re := regexp.MustCompile(`(?m)^\[(\d)\] bind=(127\.0\.0\.1:\d+) http=127\.0\.0\.1:\d+ n=2 det=local secretlen=43 file=\[\] sentry=(\S+)$`)
	m := re.FindAllStringSubmatch(out, -1)
	if len(m) != 2 || m[0][3] != m[1][3] || !strings.Contains(m[0][3], m[0][2]) || !strings.Contains(m[0][3], m[1][2]) || m[0][2] == m[1][2] {
		t.Fatalf("environment of the instances:\n%s", out)
	}
	if took > 10*time.Second || strings.Contains(out, "SIGKILL") {
		t.Fatalf("took %v to stop sleep by SIGTERM:\n%s", took, out)
	}
}

// Ready from the logs (no HTTP); an instance that ignores SIGTERM is
// killed after --stop-timeout, together with its children.
func TestRunReadyFromLogsAndSIGKILL(t *testing.T) {
	needSh(t)
	code, out, took := runCmd(context.Background(), "-n", "2", "--stop-timeout", "500ms", "--",
		"sh", "-c", `trap "" TERM; echo "not ready yet"; sleep 0.2; echo "cluster -> ready"; while :; do sleep 0.1; done`)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"[1] not ready yet", "[2] cluster -> ready", "[run] all 2 ready after", "SIGKILL after --stop-timeout 500ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if took > 15*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestRunExitBeforeReady(t *testing.T) {
	needSh(t)
	code, out, _ := runCmd(context.Background(), "-n", "3", "--", "sh", "-c", "echo bye >&2; exit 3")
	if code != 1 || !regexp.MustCompile(`instance \d exited before every instance was Ready: exit status 3`).MatchString(out) || !strings.Contains(out, "] bye") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestRunUsageErrors(t *testing.T) {
	for args, want := range map[string]string{
		"":                        "no command",
		"-n 3":                    "no command",
		"-n 0 -- x":               "-n 0",
		"--timeout 0s -- x":       "--timeout 0s",
		"--stop-timeout -1s -- x": "--stop-timeout -1s",
		"-- /nonexistent/cmd":     `starting "/nonexistent/cmd"`,
	} {
		code, out, _ := runCmd(context.Background(), strings.Fields(args)...)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("run %s: exit %d, output %q, want %q", args, code, out, want)
		}
	}
}

package cloister_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-go/cloister/cloistertest"
)

// readmeProgram returns the README's main program: the first Go block
// after "## Use it", verbatim.
func readmeProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## Use it")
	if i < 0 {
		t.Fatal(`README.md has no "## Use it" section`)
	}
	s = s[i:]
	start := strings.Index(s, "\n```go\n")
	if start < 0 {
		t.Fatal("no Go block under \"## Use it\"")
	}
	s = s[start+len("\n```go\n"):]
	end := strings.Index(s, "\n```")
	if end < 0 {
		t.Fatal("unterminated Go block")
	}
	return s[:end+1]
}

// freePorts returns n loopback ports free for both TCP and UDP right now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		out = append(out, port)
	}
	return out
}

// Issue #12, item 8: the README's program, copied verbatim, runs as three
// instances on one machine configured by environment variables only, and
// each one answers /readyz.
func TestReadmeProgramRunsThreeInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program: not in -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module readmeprogram\n\ngo 1.26\n\nrequire github.com/cloister-go/cloister v0.0.0\n\nreplace github.com/cloister-go/cloister => " + repo + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(readmeProgram(t))} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "program")
	build := exec.Command(goBin, "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the README's program: %v\n%s", err, out)
	}

	gossip, web := freePorts(t, 3), freePorts(t, 3)
	var sentry []string
	for _, p := range gossip {
		sentry = append(sentry, fmt.Sprintf("127.0.0.1:%d", p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 3 {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(),
			"CLOISTER_SENTRY="+strings.Join(sentry, ","),
			"CLOISTER_CONSENSUS=3",
			"CLOISTER_SECRET="+string(cloistertest.Secret()),
			fmt.Sprintf("CLOISTER_BIND=127.0.0.1:%d", gossip[i]),
			fmt.Sprintf("CLOISTER_HTTP=127.0.0.1:%d", web[i]),
		)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("instance %d's output:\n%s", i, out.String())
			}
		})
	}
	for i, p := range web {
		url := fmt.Sprintf("http://127.0.0.1:%d/readyz", p)
		if _, err := cloistertest.Poll(ctx, func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}); err != nil {
			t.Fatalf("instance %d: %s never answered 200: %v", i, url, err)
		}
	}
}

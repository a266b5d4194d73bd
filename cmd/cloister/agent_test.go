package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister/cloistertest"
)

// httpOK reports whether GET url answers 200.
func httpOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// syncBuffer is a bytes.Buffer safe for the agent's writer goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestAgentServesProbesAndLeavesOnCancel(t *testing.T) {
	httpAddr := freeAddr(t)
	t.Setenv("CLOISTER_BIND", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- runAgent(ctx, []string{"--json", "--http", httpAddr}, &stdout, &stderr) }()

	readyCtx, readyCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer readyCancel()
	if _, err := cloistertest.Poll(readyCtx, func() bool { return httpOK("http://" + httpAddr + "/readyz") }); err != nil {
		t.Fatalf("agent never ready: %v\nstderr: %s", err, stderr.String())
	}
	if !httpOK("http://"+httpAddr+"/dashboard/") || !httpOK("http://"+httpAddr+"/dashboard/state") {
		t.Fatal("the agent does not serve its dashboard beside its probes")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not exit after cancel")
	}
	var sawReady, sawExit bool
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if ev["event"] == nil || ev["event"] == "other" {
			t.Fatalf("event line without a known event: %q", line)
		}
		sawReady = sawReady || (ev["event"] == "state" && ev["to"] == "ready")
		sawExit = sawExit || ev["event"] == "exited"
	}
	if !sawReady || !sawExit {
		t.Fatalf("events missing (ready %v, exited %v):\n%s", sawReady, sawExit, stdout.String())
	}
}

func TestAgentRejectsBadEnvironment(t *testing.T) {
	t.Setenv("CLOISTER_CONSENSUS", "many")
	var stdout, stderr syncBuffer
	err := runAgent(context.Background(), nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "CLOISTER_CONSENSUS") {
		t.Fatalf("err = %v, want one naming CLOISTER_CONSENSUS", err)
	}
}

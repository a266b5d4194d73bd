package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// envRunAsCLI makes the test binary behave as the cloister command, so the
// demo can start agents by re-executing it (os.Executable is the test).
const envRunAsCLI = "CLOISTER_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envRunAsCLI) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("no args: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "demo") {
		t.Fatalf("help: exit %d, stdout %q", code, out.String())
	}
}

// The agent's one P is set before the heavy initialisers run (package
// oneproc): Go's init order, by import path once a package's imports are
// done, puts oneproc before memberlist and the DNS client. An import that
// changed that order would show here. (The command does not link
// Prometheus's client: the root's TestNoPrometheusWithoutMetrics checks
// that.)
func TestOneProcIsSetBeforeTheHeavyInitialisers(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "help")
	cmd.Env = append(os.Environ(), envRunAsCLI+"=1", "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	at := map[string]int{}
	for i, line := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			at[f[1]] = i + 1 // 0: not initialised
		}
	}
	self := at["github.com/cloister-go/cloister/cmd/cloister/internal/oneproc"]
	if self == 0 {
		t.Fatalf("no init line for oneproc in:\n%s", stderr.String())
	}
	for _, heavy := range []string{
		"github.com/hashicorp/memberlist",
		"github.com/miekg/dns",
	} {
		if at[heavy] == 0 {
			t.Errorf("no init line for %s", heavy)
		} else if at[heavy] < self {
			t.Errorf("%s initialised before oneproc", heavy)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"os"
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

func TestAgentRunsOnOneProcUnlessTold(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want int
	}{
		{[]string{"agent", "--json"}, "", 1},
		{[]string{"agent"}, "4", 0}, // GOMAXPROCS set: Go applies it
		{[]string{"demo"}, "", 0},
		{nil, "", 0},
	}
	for _, tt := range tests {
		if got := agentProcs(tt.args, tt.env); got != tt.want {
			t.Errorf("agentProcs(%q, %q) = %d, want %d", tt.args, tt.env, got, tt.want)
		}
	}
}

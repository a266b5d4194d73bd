package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// Issue #12, item 9: -h prints the flags and exits 0, for every command.
func TestHelpFlagExitsZero(t *testing.T) {
	for _, cmd := range []string{"agent", "demo", "members", "whois", "secret"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{cmd, "-h"}, &out, &errOut)
		all := out.String() + errOut.String()
		if code != 0 || strings.Contains(all, "help requested") || !strings.Contains(all, "Usage") {
			t.Errorf("cloister %s -h: exit %d, output %q", cmd, code, all)
		}
	}
}

// Issue #12, item 9: a bad --consensus is an error naming the flag (as
// CLOISTER_CONSENSUS=-1 is one naming the variable), and errors do not
// repeat "cloister:".
func TestAgentFlagErrors(t *testing.T) {
	for _, v := range []string{"-1", "0"} {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // ignored, it would run until then
		code := run(ctx, []string{"agent", "--bind", "127.0.0.1:0", "--consensus", v}, &out, &errOut)
		cancel()
		if code != 1 || !strings.Contains(errOut.String(), "--consensus") {
			t.Errorf("agent --consensus %s: exit %d, stderr %q, want exit 1 naming --consensus", v, code, errOut.String())
		}
	}
	t.Setenv("CLOISTER_CONSENSUS", "-1")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"agent"}, &out, &errOut)
	msg := errOut.String()
	if code != 1 || !strings.Contains(msg, "CLOISTER_CONSENSUS") || strings.Count(msg, "cloister") > 2 ||
		strings.Contains(msg, "cloister: invalid") {
		t.Errorf("agent with CLOISTER_CONSENSUS=-1: exit %d, stderr %q, want one \"cloister agent:\" prefix naming the variable", code, msg)
	}
}
